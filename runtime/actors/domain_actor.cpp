#include "actors/domain_actor.hpp"
#include "actors/failure_reason.hpp"
#include "actors/job_queue.hpp"
#include "actors/long_job.hpp"
#include "actors/store_calls.hpp"

#include "actors/args.hpp"
#include "actors/domain_json.hpp"
#include "actors/lifecycle.hpp"
#include "actors/messages.hpp"
#include "daemon/log.hpp"
#include "drivers/driver_call.hpp"
#include "drivers/driver_flags.hpp"
#include "drivers/host_services.hpp"
#include "gateway/gateway.hpp"
#include "gateway/stream_table.hpp"
#include "persist/domain_files.hpp"
#include "persist/instance_restore.hpp"
#include "persist/store.hpp"

#include <domus/model/device_def.hpp>
#include <domus/protocol/vocabulary.hpp>

#include <caf/all.hpp>

#include <chrono>
#include <functional>
#include <unordered_map>

namespace domus::runtime {

using protocol::errc;
using protocol::json;
using protocol::proc;

namespace {

class domain_logic;

struct domain_state {
  domain_seed s;
  std::shared_ptr<domain_logic> logic; // the behavior's handlers point into it
  job_queue jobs;                      // changes, one at a time
  pending_calls calls;
  std::optional<long_job> long_running; // beside the queue (a dump)
  bool removed = false;                 // the domain no longer exists
  bool announced = false;       // the instance actor has had this incarnation's summary
  bool release_pending = false; // release the handle once no driver call is out
  bool status_retry_pending = false; // a stale status file will be written again
  bool awaiting_orphans = false;     // calls of a dead incarnation are still out
  // Why the domain last failed (its driver's report, or a start that failed), for
  // domain.info: {message, time}, null when it never failed since the daemon started.
  protocol::json last_error;
  store_calls stored; // writes of its files, with what to do next
  static inline const char* name = "domain";
};

using domain_actor = caf::stateful_actor<domain_state>;

// What the actor does; one instance per actor, holding only `self`.
class domain_logic {
public:
  explicit domain_logic(domain_actor* self) : self_(self) {}

  domain_state& st() { return self_->state; }
  const instance_context& ctx() { return *st().s.ctx; }
  gateway& gw() { return *ctx().gw; }

  // The live definition while active (or for a transient domain), else the persistent
  // one.
  const model::domain_def& current_def() {
    auto& s = st().s;
    if (s.live_def && (active() || !s.persistent_def))
      return *s.live_def;
    return *s.persistent_def;
  }
  std::string name() { return current_def().name; }
  bool active() { return protocol::state_is_active(st().s.state.state); }

  domain_summary summary() {
    auto& s = st().s;
    domain_summary out;
    out.name = current_def().name;
    out.uuid = current_def().uuid_string();
    out.id = active() ? s.state.id : -1;
    out.state = s.state.state;
    out.reason = s.state.reason;
    out.persistent = s.persistent_def != nullptr;
    out.autostart = s.autostart;
    out.dom = s.dom;
    out.persistent_def = s.persistent_def;
    out.live_def = s.live_def;
    out.private_data = s.private_data;
    return out;
  }

  // -- replies, events, routes --------------------------------------------------------

  void reply(const rpc& r, const json& result) {
    gw().reply(r.serial, protocol::encode_reply(r.id, result));
  }
  void reply_error(const rpc& r, errc code, const std::string& message) {
    gw().reply(r.serial, protocol::encode_error(r.id, code, message));
  }
  void reply_driver_error(const rpc& r, const driver_result& res,
                          const std::string& what) {
    auto code = protocol::errc_from_number(res.status).value_or(errc::operation_failed);
    reply_error(r, code,
                res.message.empty()
                    ? what + ": the driver reported error " + std::to_string(res.status)
                    : res.message);
  }

  void publish(int32_t event, int32_t detail) {
    if (!protocol::find_detail(event, detail)) {
      log_warning("driver of " + ctx().uri + " reported an unknown event " +
                  std::to_string(event) + "/" + std::to_string(detail) + " for domain '" +
                  name() + "'; not published");
      return;
    }
    gw().publish(std::string(protocol::topic_domain_lifecycle),
                 lifecycle_event_body(ctx().uri, summary(), event, detail));
  }

  // The gateway's routes and the instance's summary, before any reply that depends on
  // them leaves. The summary goes into the domain's slot, which the instance actor
  // reads when it lists or restarts; it is sent a message only on this incarnation's
  // first announce (the domain is defined, its names indexed): a message per change
  // woke a second worker for every change (docs/benchmarks.md, the profile).
  void announce() {
    auto s = summary();
    gw().route_set(ctx().uri, {caf::actor_cast<caf::actor>(self_), s.name, s.uuid, s.id});
    st().s.slot->publish(s);
    if (!st().announced) {
      st().announced = true;
      self_->send(ctx().registry, summary_atom::value, s);
    }
  }

  // The driver's handle is known: reports about it come here from now on.
  void bind(domus_dom* dom) {
    st().s.dom = dom;
    if (dom)
      ctx().host->bind(dom, st().calls.slot());
  }

  // -- driver calls -------------------------------------------------------------------

  template <class Call, class Then> void drive(driver_op op, Call&& call, Then&& then) {
    st().calls.drive(op, std::forward<Call>(call), std::forward<Then>(then));
  }

  void on_done(uint64_t generation, uint64_t id, driver_result& r) {
    driver_op op{};
    auto outcome = st().calls.done(generation, id, r, &op);
    if (outcome != pending_calls::outcome::ran)
      late_result(generation, id, outcome == pending_calls::outcome::late, op, r);
    release_if_idle();
  }

  // A call's deadline passed: the caller is answered `timeout` (its continuation runs
  // with that result), the domain is unresponsive until the call comes back, and a
  // driver that can is asked to cancel it.
  void on_deadline(uint64_t generation, uint64_t id) {
    auto x = st().calls.expire(generation, id);
    if (!x)
      return;
    auto cancel = DOMUS_DOMAIN_OP(ctx(), cancel);
    auto res = timeout_result(entry(x->op).name, "domain '" + name() + "'",
                              ctx().driver().name, x->deadline_ms, cancel != nullptr);
    log_warning(ctx().uri + ": " + res.message);
    give_up(*x, generation, id, res);
  }

  // A call is given up (its deadline passed, or a client aborted it): its continuation
  // runs with `res`, the domain is unresponsive until the call returns, and a driver
  // that can is asked to cancel it.
  void give_up(expired_call& x, uint64_t generation, uint64_t id, driver_result& res) {
    auto cancel = DOMUS_DOMAIN_OP(ctx(), cancel);
    std::string call(entry(x.op).name);
    bool was_responsive = st().s.slot->hung().empty();
    st().s.slot->hung_add(generation, id, call);
    if (was_responsive)
      gw().publish(std::string(protocol::topic_domain_unresponsive),
                   responsiveness_event_body(ctx().uri, summary(), false, call));
    if (cancel)
      cancel(ctx().inst, st().s.dom, x.user);
    x.then(res);
  }

  // -- the running job, for clients -----------------------------------------------------

  void jobinfo(const rpc& r) {
    json job = nullptr;
    if (st().long_running) {
      job = st().long_running->info(st().jobs.waiting());
    } else if (auto j = st().jobs.running(); j && j->proc) {
      auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                    job_queue::clock::now() - j->since)
                    .count();
      job = {{"proc", protocol::entry(*j->proc).name},
             {"elapsed_ms", ms},
             {"waiting", st().jobs.waiting()}};
    }
    std::string hung = st().s.slot->hung();
    reply(r, {{"job", job}, {"unresponsive", hung.empty() ? json(nullptr) : json(hung)}});
  }

  // The running change's driver call, taken off its deadline to be given up; or why
  // there is none to give up (no change runs, it is writing its files, or the driver
  // cannot cancel calls: plugin ABI 1.0).
  struct running_call {
    std::string proc; ///< the change's procedure, "domain.start"
    uint64_t id = 0;
    std::optional<expired_call> x;
    errc code = errc::invalid_operation; ///< why not, when x is empty
    std::string why;
  };
  running_call take_running_call() {
    running_call c;
    auto j = st().jobs.running();
    if (!j || !j->proc) {
      c.why = "no job is active on domain '" + name() + "'";
      return c;
    }
    c.proc = protocol::entry(*j->proc).name;
    std::string what = "cannot abort '" + c.proc + "' of domain '" + name() + "': ";
    if (!DOMUS_DOMAIN_OP(ctx(), cancel)) {
      c.code = errc::unsupported;
      c.why = what + "the " + ctx().driver().name +
              " driver cannot cancel calls (plugin ABI 1.0)";
      return c;
    }
    auto id = st().calls.change_call();
    if (id)
      c.x = st().calls.expire(st().calls.generation(), *id);
    if (!c.x) {
      c.why = what + "it has no driver call out (it is writing its files)";
      return c;
    }
    c.id = *id;
    return c;
  }

  // Gives up a call taken by take_running_call: its caller gets `aborted`, naming `by`.
  void abort_call(running_call& c, const std::string& by) {
    driver_result res;
    res.status = DOMUS_E_ABORTED;
    res.message = "'" + c.proc + "' of domain '" + name() + "' was " + by + " (the " +
                  ctx().driver().name + " driver was asked to cancel its '" +
                  std::string(entry(c.x->op).name) + "')";
    log_info(ctx().uri + ": " + res.message);
    give_up(*c.x, st().calls.generation(), c.id, res);
  }

  // Cancels the driver call of the running job, beside it (never queued): the job's
  // caller gets `aborted`, and the call is out past its deadline until it returns.
  void jobabort(const rpc& r) {
    if (auto& lj = st().long_running) {
      std::string what(lj->proc());
      if (!DOMUS_DOMAIN_OP(ctx(), cancel))
        return reply_error(r, errc::unsupported,
                           "cannot abort '" + what + "' of domain '" + name() +
                               "': the " + ctx().driver().name +
                               " driver cannot cancel calls");
      if (!lj->aborted_by.empty())
        return reply_error(r, errc::invalid_operation,
                           "'" + what + "' of domain '" + name() +
                               "' is being aborted already (by " + lj->aborted_by + ")");
      abort_long_job("domain.jobabort");
      return reply(r, {{"aborted", what}});
    }
    auto c = take_running_call();
    if (!c.x)
      return reply_error(r, c.code, c.why);
    abort_call(c, "aborted by domain.jobabort");
    reply(r, {{"aborted", c.proc}});
  }

  // A destroy during a running start (or create) does not wait behind it: the start's
  // call is given up (its caller gets `aborted` naming the destroy) and the destroy runs
  // next, issued to the driver beside the cancelled start whatever the state. False when
  // the destroy queues as usual: no start runs, or the driver cannot cancel (ABI 1.0).
  bool overtake_start(const rpc& r) {
    auto j = st().jobs.running();
    if (!j || !j->proc ||
        (*j->proc != proc::domain_start && *j->proc != proc::domain_create))
      return false;
    auto c = take_running_call();
    if (!c.x)
      return false;
    job d{r, nullptr, job::operation};
    d.overtakes = true;
    st().jobs.push_front(std::move(d)); // started when the given-up start finishes
    abort_call(c, "overtaken by domain.destroy");
    return true;
  }

  // A completion no continuation waits for: a call whose deadline passed (`late`), or
  // one of an incarnation that died. Its facts still hold, unless a destroy completed
  // since it was given up: a late start never revives a destroyed guest.
  void late_result(uint64_t generation, uint64_t id, bool late, driver_op op,
                   driver_result& r) {
    auto hung = st().s.slot->hung_remove(generation, id);
    bool discard = hung && hung->discard;
    std::string call = hung ? hung->call : std::string(entry(op).name);
    log_info(
        ctx().uri + ": domain '" + name() + "' got the result of " +
        (late ? "the late '" + call + "'" : "a call made before its actor restarted") +
        ": " + (r.ok() ? std::string("ok") : r.message) +
        (discard ? "; discarded, a destroy completed since" : ""));
    if (r.ok() && !discard)
      apply_late(op, late, r);
    if (hung && st().s.slot->hung().empty())
      gw().publish(std::string(protocol::topic_domain_responsive),
                   responsiveness_event_body(ctx().uri, summary(), true, call));
    if (st().awaiting_orphans && st().calls.slot()->in_flight_in_time() == 0) {
      st().awaiting_orphans = false;
      resync();
    }
  }

  // The facts of a late success. A handle a define brings back after its domain was
  // given up is released; an undefine the driver did after all removes the domain.
  void apply_late(driver_op op, bool late, driver_result& r) {
    if (late && op == driver_op::open_console)
      return end_late_stream();
    if (late && op == driver_op::define && r.dom && r.dom != st().s.dom) {
      if (auto release = DOMUS_DOMAIN_OP(ctx(), release))
        release(ctx().inst, r.dom);
      return;
    }
    if (st().removed)
      return;
    if (late && op == driver_op::undefine && !active() && st().s.persistent_def) {
      return drop_definition([this](const std::string& error) {
        if (!error.empty())
          return log_error(ctx().uri + ": domain '" + name() +
                           "': the driver undefined it late, and its definition file "
                           "cannot be removed: " +
                           error);
        publish(DOMUS_EVENT_UNDEFINED, DOMUS_DETAIL_REMOVED);
        remove();
      });
    }
    apply_facts(r);
  }

  // Applies a state the driver reports; the live definition follows activity.
  void apply_state(const domus_dom_state_v1& ns) {
    auto& s = st().s;
    int32_t state = protocol::find_state(ns.state) ? ns.state : DOMUS_STATE_SHUTOFF;
    int32_t reason =
        protocol::find_reason(state, ns.reason) ? ns.reason : DOMUS_REASON_UNKNOWN;
    bool was_active = active();
    s.state = {state, reason, protocol::state_is_active(state) ? ns.id : -1};
    if (active() && !was_active && !s.live_def)
      s.live_def = s.persistent_def;
    if (!active() && s.persistent_def)
      s.live_def.reset(); // a transient domain keeps it: its identity until it vanishes
  }

  // A driver result's facts: state, status data, live definition, events.
  void apply(const driver_result& r) {
    if (r.state)
      apply_state(*r.state);
    if (r.private_data)
      st().s.private_data = *r.private_data;
    if (r.xml && active()) {
      try {
        auto live = model::parse_domain(*r.xml, "<driver>", model::parse_mode::stored);
        model::normalize(live);
        st().s.live_def = std::make_shared<const model::domain_def>(std::move(live));
      } catch (const protocol::error& e) {
        log_warning("driver of " + ctx().uri + " returned a live definition of domain '" +
                    name() + "' that does not parse (" + e.what() +
                    "); kept the defined one");
      }
    }
    for (auto& e : r.events)
      publish(e.event, e.detail);
  }

  // Facts that arrive outside a job (a report, a late completion): applied and
  // announced; a transient domain that stopped is gone.
  void apply_facts(const driver_result& r) {
    apply(r);
    if (gone_if_stopped_transient())
      return;
    save_status_or_retry();
    announce();
  }

  // -- persistence ----------------------------------------------------------------------

  using stored_fn = std::function<void(const std::string& error)>;

  // Submits one change of this domain's files (persist/domain_files.hpp); `then` runs
  // in this actor when it is done.
  void persist(store::change c, stored_fn then) {
    st().stored.apply(*ctx().files, std::move(c), caf::actor_cast<caf::actor>(self_),
                      std::move(then));
  }

  void on_stored(uint64_t token, const std::string& error) {
    if (!st().stored.done(token, error) && !error.empty())
      log_error(ctx().uri + ": domain '" + name() + "': " + error);
  }

  domain_files files_of(const std::string& domain) { return {ctx(), domain}; }
  domain_files files() { return files_of(name()); }

  // The persistent definition, durably, before the define is acknowledged.
  void save_definition(const model::domain_def& def, stored_fn then) {
    if (!ctx().persisted())
      return then("");
    persist(files_of(def.name).definition(def), std::move(then));
  }

  // The definition, then its autostart link, durably: `then` hears whether the
  // definition is gone (a link left behind names nothing and is ignored at start; one
  // removed before a definition that stays would lose its autostart).
  void drop_definition(stored_fn then) {
    if (!ctx().persisted())
      return then("");
    store* files = ctx().files;
    store::change unlink = this->files().no_autostart();
    std::string uri = ctx().uri;
    persist(this->files().no_definition(), [=](const std::string& error) mutable {
      if (error.empty())
        files->apply(std::move(unlink), [uri](const std::string& e) {
          if (!e.empty())
            log_warning(uri + ": " + e);
        });
      then(error);
    });
  }

  // The status of an active domain (removed when it is not active), before the change
  // is acknowledged; not flushed: it survives a crash of the daemon, not of the host.
  void save_status(stored_fn then) {
    if (!ctx().persisted()) {
      if (then)
        then("");
      return;
    }
    persist(active() ? files().status(summary()) : files().no_status(), std::move(then));
  }

  // A store error on a request: the request fails naming the file's trouble.
  bool store_failed(const rpc& r, const std::string& error, const std::string& what) {
    if (error.empty())
      return false;
    log_error(ctx().uri + ": " + what + ": " + error);
    reply_error(r, errc::operation_failed, what + ": " + error);
    return true;
  }

  // -- the job queue ------------------------------------------------------------------

  void enqueue(job j) {
    auto q = st().jobs.push(std::move(j));
    if (q.waits && ctx().job_wait_ms > 0)
      self_->delayed_send(self_, std::chrono::milliseconds(ctx().job_wait_ms),
                          waited_atom::value, q.token);
    if (!st().jobs.busy() && !st().jobs.draining())
      run_next();
  }

  // A job's wait deadline passed: if it still waits, it fails naming the one running.
  void on_waited(uint64_t token) {
    std::string why;
    if (auto j = st().jobs.give_up(token, name(), why))
      reply_error(j->request, errc::busy, why);
  }

  void finish() {
    st().jobs.done();
    if (gone_if_stopped_transient())
      return;
    // A job that completed synchronously returns into run_next's loop: no recursion, so
    // a long queue of refused requests cannot exhaust the stack.
    if (!st().removed && !st().jobs.draining())
      run_next();
  }

  void run_next() {
    auto& jobs = st().jobs;
    jobs.set_draining(true);
    while (jobs.startable() && !st().removed) {
      job j = jobs.start();
      try {
        run(j);
      } catch (const protocol::error& e) {
        reply_error(j.request, e.code(), e.what());
        jobs.done();
      }
    }
    jobs.set_draining(false);
  }

  void run(job& j) {
    if (!st().s.failed.empty()) {
      reply_error(j.request, errc::internal, st().s.failed);
      return finish();
    }
    if (refuse_if_unresponsive(j.request))
      return finish();
    if (st().long_running && !long_job::allows(j.request.proc)) {
      reply_error(j.request, errc::busy,
                  st().long_running->busy_message(name(), j.request.proc));
      return finish();
    }
    switch (j.kind) {
    case job::define_new:
      return define_new(j);
    case job::create_new:
      return create_new(j);
    case job::redefine:
      return redefine(j);
    case job::operation:
      break;
    }
    const rpc& r = j.request;
    // A destroy beside a start, running or cancelled, may find the domain shut off
    // while the driver is starting its guest: it goes to the driver whatever the state.
    bool beside_start =
        r.proc == proc::domain_destroy && (j.overtakes || st().s.slot->hung_has("start"));
    if (auto why = beside_start ? std::nullopt
                                : check_transition(r.proc, st().s.state.state, name())) {
      reply_error(r, errc::invalid_operation, *why);
      return finish();
    }
    switch (r.proc) {
    case proc::domain_start:
      return operation(j, driver_op::start, DOMUS_DOMAIN_OP(ctx(), start),
                       flags_for(r, true, "start"));
    case proc::domain_shutdown:
      return operation(j, driver_op::shutdown, DOMUS_DOMAIN_OP(ctx(), shutdown),
                       flags_for(r, true, "shutdown"));
    case proc::domain_reboot:
      return operation(j, driver_op::reboot, DOMUS_DOMAIN_OP(ctx(), reboot),
                       flags_for(r, true, "reboot"));
    case proc::domain_destroy: {
      uint32_t flags = flags_for(r, true, "destroy");
      if (st().long_running && st().long_running->aborted_by.empty())
        abort_long_job("domain.destroy"); // the driver destroys beside the cancelled job
      return operation(j, driver_op::destroy, DOMUS_DOMAIN_OP(ctx(), destroy), flags);
    }
    case proc::domain_suspend:
      if (auto fn = DOMUS_DOMAIN_OP(ctx(), suspend_flags))
        return operation(j, driver_op::suspend, fn, flags_for(r, true, "suspend_flags"));
      flags_for(r, false, "suspend_flags");
      return operation(j, driver_op::suspend, DOMUS_DOMAIN_OP(ctx(), suspend));
    case proc::domain_resume:
      if (auto fn = DOMUS_DOMAIN_OP(ctx(), resume_flags))
        return operation(j, driver_op::resume, fn, flags_for(r, true, "resume_flags"));
      flags_for(r, false, "resume_flags");
      return operation(j, driver_op::resume, DOMUS_DOMAIN_OP(ctx(), resume));
    case proc::domain_undefine:
      return undefine(j);
    case proc::domain_autostart:
      return autostart(j);
    case proc::domain_attach_device:
      return device_change(j, driver_op::attach_device,
                           DOMUS_DOMAIN_OP(ctx(), attach_device), "attach");
    case proc::domain_detach_device:
      return device_change(j, driver_op::detach_device,
                           DOMUS_DOMAIN_OP(ctx(), detach_device), "detach");
    case proc::domain_update_device:
      return device_change(j, driver_op::update_device,
                           DOMUS_DOMAIN_OP(ctx(), update_device), "update");
    case proc::domain_open_console:
      return open_console(j);
    case proc::domain_dump:
      return dump(j);
    default:
      reply_error(r, errc::internal, "procedure not handled by the domain actor");
      return finish();
    }
  }

  // The request's flags for the driver's `slot` (drivers/driver_flags.hpp): throws
  // protocol::error when the driver may not be passed them.
  uint32_t flags_for(const rpc& r, bool slot_takes_flags, std::string_view slot) {
    return flags_for_driver(
        r.proc, r.args,
        {ctx().driver().name, ctx().driver().abi_minor, slot_takes_flags, slot});
  }

  // While a call on the domain is out past its deadline, changes are refused: all of
  // them when the driver cannot cancel calls (ABI 1.0), all but destroy when it can.
  bool refuse_if_unresponsive(const rpc& r) {
    std::string hung = st().s.slot->hung();
    if (hung.empty())
      return false;
    bool cancels = DOMUS_DOMAIN_OP(ctx(), cancel) != nullptr;
    if (cancels && r.proc == proc::domain_destroy)
      return false;
    reply_error(r, errc::busy,
                "domain '" + name() + "' is unresponsive: the " + ctx().driver().name +
                    " driver's '" + hung +
                    "' passed its deadline and has not returned; " +
                    (cancels ? "only destroy is accepted until it does"
                             : "only queries are answered until it does (the driver "
                               "cannot cancel calls: plugin ABI 1.0)"));
    return true;
  }

  // A lifecycle operation: fn(inst, dom, extra..., done, user), completed by complete_op.
  template <class Fn, class... Extra>
  void operation(job& j, driver_op op, Fn fn, Extra... extra) {
    if (!fn)
      return unsupported(j.request);
    rpc r = j.request;
    auto* inst = ctx().inst;
    auto* dom = st().s.dom;
    drive(
        op,
        [=](domus_complete_fn done, void* user) { fn(inst, dom, extra..., done, user); },
        [this, r](driver_result& res) { complete_op(r, res); });
  }

  void unsupported(const rpc& r) {
    reply_error(r, errc::unsupported,
                "the " + std::string(ctx().driver().name) + " driver does not support '" +
                    std::string(protocol::entry(r.proc).name) + "'");
    finish();
  }

  void complete_op(const rpc& r, driver_result& res) {
    bool was_active = active();
    if (!res.ok()) {
      // Unanswered: the gateway fails the request when the supervisor has replaced this
      // actor, so that no request can reach the dead one after the client heard back.
      if (res.status == DOMUS_E_INTERNAL)
        return crash("the driver reported an internal error: " + res.message);
      // A start that failed is the domain's last error (why it is not running).
      if (r.proc == proc::domain_start)
        remember_error(res.message.empty() ? "the start failed" : res.message);
      reply_driver_error(r, res,
                         "cannot " + std::string(protocol::entry(r.proc).name) +
                             " domain '" + name() + "'");
      return finish();
    }
    apply(res);
    if (r.proc == proc::domain_start)
      st().last_error = nullptr; // it runs: the last failure is history
    if (r.proc == proc::domain_destroy)
      st().s.slot->hung_discard_all(); // what they report predates the destroy
    if (!active() && !st().s.persistent_def)
      return vanish(r); // a transient domain that stopped is gone
    reply_after_status(r, !was_active && active());
  }

  // A state change's answer: the status is written, then the routes and registry learn
  // the new state, then the client hears. Reply and state always agree when the status
  // file cannot be written: a start (`started`) is undone, since a guest the daemon
  // could not find again after a crash must not run, and fails naming the file; any
  // other change happened, is answered as done, and its stale file is repaired as soon
  // as it can be.
  void reply_after_status(const rpc& r, bool started = false) {
    save_status([this, r, started](const std::string& error) {
      if (error.empty()) {
        announce();
        reply(r, summary_json(summary()));
        return finish();
      }
      std::string what = "cannot save the status of domain '" + name() + "': " + error;
      if (started)
        return undo_start(r, what);
      log_error(ctx().uri + ": " + what +
                "; the change stands, and the file is written " + "again when it can be");
      status_stale();
      announce();
      reply(r, summary_json(summary()));
      finish();
    });
  }

  // A start whose status could not be written is undone (the driver's destroy), then
  // refused naming the file.
  void undo_start(const rpc& r, const std::string& why) {
    auto fn = DOMUS_DOMAIN_OP(ctx(), destroy);
    auto* inst = ctx().inst;
    auto* dom = st().s.dom;
    auto refuse = [this, r, why](const std::string& outcome) {
      log_error(ctx().uri + ": " + why + "; " + outcome);
      reply_error(r, errc::operation_failed, why + "; " + outcome);
      if (!active() && !st().s.persistent_def) {
        st().jobs.done();
        return remove(); // a transient domain that could not start is gone
      }
      finish();
    };
    if (!fn) {
      announce();
      return refuse("the driver cannot destroy it, so it runs on");
    }
    drive(
        driver_op::destroy,
        [=](domus_complete_fn done, void* user) { fn(inst, dom, 0, done, user); },
        [this, refuse](driver_result& res) {
          if (res.ok())
            apply(res);
          save_status_or_retry();
          announce();
          refuse(res.ok() ? "the start was undone"
                          : "undoing it failed too: " + res.message);
        });
  }

  // The status, written when it can be: a failure is logged and retried.
  void save_status_or_retry() {
    save_status([this](const std::string& error) {
      if (error.empty())
        return;
      log_error(ctx().uri + ": cannot save the status of domain '" + name() +
                "': " + error + "; it is written again when it can be");
      status_stale();
    });
  }

  // The status file lags the domain's state: written again now and then until it is
  // right (a destroy whose file could not be removed, a suspend whose could not be
  // written).
  void status_stale() {
    if (st().status_retry_pending)
      return;
    st().status_retry_pending = true;
    self_->delayed_send(self_, std::chrono::seconds(2), status_atom::value);
  }

  void on_status_retry() {
    st().status_retry_pending = false;
    if (st().removed)
      return;
    save_status([this](const std::string& error) {
      if (error.empty())
        log_info(ctx().uri + ": the status file of domain '" + name() +
                 "' is right again");
      else
        status_stale();
    });
  }

  // The driver's state is unknown after an internal error: die, so that the supervisor
  // restarts this actor and resyncs it from the driver.
  void crash(const std::string& why) {
    st().jobs.done();
    self_->quit(caf::make_error(caf::sec::runtime_error, why));
  }

  void undefine(job& j) {
    rpc r = j.request;
    auto fn_flags = DOMUS_DOMAIN_OP(ctx(), undefine_flags);
    uint32_t flags = flags_for(r, fn_flags != nullptr, "undefine_flags");
    auto& s = st().s;
    if (!s.persistent_def) {
      // libvirt accepts it on a transient domain too; nothing changes but the event.
      publish(DOMUS_EVENT_UNDEFINED, DOMUS_DETAIL_REMOVED);
      reply(r, summary_json(summary()));
      return finish();
    }
    if (active()) {
      // An active domain stays running, now transient.
      return drop_definition([this, r](const std::string& error) {
        if (store_failed(r, error,
                         "cannot remove the definition of domain '" + name() + "'"))
          return finish();
        auto& s = st().s;
        s.persistent_def.reset();
        s.autostart = false;
        publish(DOMUS_EVENT_UNDEFINED, DOMUS_DETAIL_REMOVED);
        announce();
        reply(r, summary_json(summary()));
        finish();
      });
    }
    auto fn = DOMUS_DOMAIN_OP(ctx(), undefine);
    if (!fn && !fn_flags) {
      return drop_definition([this, r](const std::string& error) {
        if (store_failed(r, error,
                         "cannot remove the definition of domain '" + name() + "'"))
          return finish();
        publish(DOMUS_EVENT_UNDEFINED, DOMUS_DETAIL_REMOVED);
        vanish(r);
      });
    }
    // The file goes first: an undefine is acknowledged only once the definition is
    // durably gone, and one whose file cannot be removed changes nothing. Should the
    // driver then refuse, the file is written back.
    drop_definition([this, r, fn, fn_flags, flags](const std::string& error) {
      if (store_failed(r, error,
                       "cannot remove the definition of domain '" + name() + "'"))
        return finish();
      auto* inst = ctx().inst;
      auto* dom = st().s.dom;
      drive(
          driver_op::undefine,
          [=](domus_complete_fn done, void* user) {
            if (fn_flags)
              fn_flags(inst, dom, flags, done, user);
            else
              fn(inst, dom, done, user);
          },
          [this, r](driver_result& res) {
            if (res.ok()) {
              publish(DOMUS_EVENT_UNDEFINED, DOMUS_DETAIL_REMOVED);
              return vanish(r);
            }
            restore_definition([this, r, res](const std::string& error) mutable {
              if (!error.empty())
                log_error(ctx().uri + ": domain '" + name() +
                          "': the driver refused to undefine it, and its definition "
                          "file could not be written back: " +
                          error);
              reply_driver_error(r, res, "cannot undefine domain '" + name() + "'");
              finish();
            });
          });
    });
  }

  // Writes the persistent definition and its autostart link again (an undefine the
  // driver refused after the files were removed).
  void restore_definition(stored_fn then) {
    save_definition(*st().s.persistent_def, [this, then](const std::string& error) {
      if (!error.empty() || !st().s.autostart || !ctx().persisted())
        return then(error);
      persist(files().autostart(), then);
    });
  }

  // The domain no longer exists: drop the routes, tell the instance, answer (with the
  // last summary), and stop once the driver has every call back; requests that still
  // reach this actor get no-domain.
  void vanish(const rpc& r) {
    domain_summary last = summary();
    last.persistent = false;
    remove();
    reply(r, summary_json(last));
  }

  void remove() {
    if (ctx().persisted() && st().s.dom)
      ctx().files->apply(files().no_status(), nullptr);
    st().removed = true;
    gw().route_remove(ctx().uri, self_->id());
    self_->send(ctx().registry, removed_atom::value, self_->id());
    for (auto& waiting : st().jobs.take_all())
      reply_error(waiting.request, errc::no_domain,
                  "domain '" + name() + "' no longer exists");
    st().release_pending = true;
    release_if_idle();
  }

  // The runtime never releases a handle the driver still has a call on (an info beside
  // the job, a call of a dead incarnation): it waits for them.
  void release_if_idle() {
    if (!st().release_pending || st().calls.slot()->in_flight() > 0 ||
        st().calls.unhandled() > 0)
      return;
    st().release_pending = false;
    if (auto* dom = st().s.dom) {
      ctx().host->unbind(dom);
      if (auto fn = DOMUS_DOMAIN_OP(ctx(), release))
        fn(ctx().inst, dom);
      st().s.dom = nullptr;
    }
    self_->quit();
  }

  // A transient domain found inactive is gone (it stopped outside a job, or a job that
  // raced its power-off failed).
  bool gone_if_stopped_transient() {
    if (st().removed || st().jobs.busy() || active() || st().s.persistent_def ||
        !st().s.dom)
      return false;
    remove();
    return true;
  }

  void autostart(job& j) {
    rpc r = j.request;
    bool enable = required_bool(r.args, "enable");
    if (!st().s.persistent_def) {
      reply_error(r, errc::invalid_operation,
                  "cannot set autostart on transient domain '" + name() +
                      "': only defined domains start with the host");
      return finish();
    }
    auto done = [this, r, enable](const std::string& error) {
      if (store_failed(r, error, "cannot change autostart of domain '" + name() + "'"))
        return finish();
      st().s.autostart = enable;
      announce();
      reply(r, summary_json(summary()));
      finish();
    };
    if (!ctx().persisted())
      return done("");
    persist(enable ? files().autostart() : files().no_autostart(), done);
  }

  // -- long-running jobs ---------------------------------------------------------------

  // domain.dump: a long-running job. It takes its turn in the queue like any change,
  // then runs beside it: the queue goes on at once, and the changes that would
  // conflict with the dump are refused (long_job::allows) until it completes.
  void dump(job& j) {
    const rpc& r = j.request;
    auto fn = DOMUS_DOMAIN_OP(ctx(), dump);
    if (!fn)
      return unsupported(r);
    uint32_t flags = flags_for(r, true, "dump");
    std::string file = required_string(r.args, "file");
    std::optional<std::string> format = optional_string(r.args, "format");
    check_dump_arguments(file, format, flags);
    auto* inst = ctx().inst;
    auto* dom = st().s.dom;
    st().long_running = long_job{r, "dump of domain '" + name() + "' to " + file,
                                 st().calls.next_id(), long_job::clock::now()};
    log_info(ctx().uri + ": the " + st().long_running->title + " started");
    st().calls.drive_job(
        driver_op::dump,
        [=](domus_complete_fn done, void* user, domus_job* handle) {
          fn(inst, dom, file.c_str(), format ? format->c_str() : nullptr, flags, handle,
             done, user);
        },
        [this, file](driver_result& res) {
          long_job_done(res, {{"file", file}});
        });
    finish(); // the queue does not wait for it
  }

  // libvirt's rules for a dump's arguments, in its words where it has them.
  static void check_dump_arguments(const std::string& file,
                                   const std::optional<std::string>& format,
                                   uint32_t flags) {
    auto refuse = [](const std::string& why) {
      throw protocol::error(errc::invalid_argument, "domain.dump: " + why);
    };
    if (file.empty() || file[0] != '/' || file.find('\0') != std::string::npos)
      refuse("file '" + file + "' is not an absolute path (the daemon's host's)");
    static const std::pair<uint32_t, uint32_t> exclusive[] = {
        {DOMUS_DUMP_CRASH, DOMUS_DUMP_LIVE},
        {DOMUS_DUMP_CRASH, DOMUS_DUMP_RESET},
        {DOMUS_DUMP_LIVE, DOMUS_DUMP_RESET}};
    for (auto [a, b] : exclusive)
      if ((flags & a) && (flags & b))
        refuse("flags " + protocol::describe_flags(proc::domain_dump, a | b) +
               " are mutually exclusive");
    if (!format)
      return;
    if (!(flags & DOMUS_DUMP_MEMORY_ONLY))
      refuse("format '" + *format + "' needs flag memory-only");
    static const char* formats[] = {"elf", "kdump-zlib", "kdump-lzo", "kdump-snappy",
                                    "win-dmp"};
    for (auto* f : formats)
      if (*format == f)
        return;
    refuse("format '" + *format +
           "' is not one of elf, kdump-zlib, kdump-lzo, kdump-snappy, win-dmp");
  }

  // The driver reported how far the long-running job is: kept for domain.jobinfo and
  // published as a sample (the gateway keeps at most one a second per domain).
  void on_progress(uint64_t generation, uint64_t id, uint64_t processed, uint64_t total) {
    auto& lj = st().long_running;
    if (!lj || lj->call_id != id || !st().calls.progressed(generation, id))
      return;
    lj->processed = processed;
    lj->total = total;
    domain_summary s = summary();
    gw().publish_sample(
        std::string(protocol::topic_domain_job_progress), ctx().uri + " " + s.uuid,
        job_progress_body(ctx().uri, s, lj->proc(), processed, total, lj->elapsed_ms()));
  }

  // Aborts the long-running job through the driver's `cancel`: its caller is answered
  // when the driver completes it, naming `by`. A driver that does not complete it
  // within the job's deadline leaves the domain unresponsive, as any late call does.
  void abort_long_job(const std::string& by, errc code = errc::aborted) {
    auto& lj = *st().long_running;
    lj.aborted_by = by;
    lj.abort_code = code;
    log_info(ctx().uri + ": the " + lj.title + " is aborted by " + by);
    st().calls.progressed(st().calls.generation(), lj.call_id); // its deadline anew
    auto cancel = DOMUS_DOMAIN_OP(ctx(), cancel);
    if (void* user = st().calls.user_of(lj.call_id); cancel && user)
      cancel(ctx().inst, st().s.dom, user);
  }

  // The long-running job completed (or passed its deadline: `res` is then a timeout).
  // Its facts are applied as a report's are: it ran outside the queue.
  void long_job_done(driver_result& res, json result) {
    if (!st().long_running)
      return;
    long_job lj = std::move(*st().long_running);
    st().long_running.reset();
    const rpc& r = lj.request;
    if (res.ok()) {
      log_info(ctx().uri + ": the " + lj.title + " completed");
      apply_facts(res);
      return reply(r, result);
    }
    if (!lj.aborted_by.empty() && res.status != DOMUS_E_TIMEOUT)
      return reply_error(
          r, lj.abort_code,
          "the " + lj.title + " was aborted by " + lj.aborted_by +
              (res.status == DOMUS_E_ABORTED ? std::string() : ": " + res.message));
    log_info(ctx().uri + ": the " + lj.title + " failed: " + res.message);
    reply_driver_error(r, res, "the " + lj.title + " failed");
  }

  // -- consoles -----------------------------------------------------------------------

  // A stream to the guest's console: the driver attaches it, the gateway gives it to
  // the client (gateway/stream_table). The job ends when the stream is open.
  void open_console(job& j) {
    const rpc& r = j.request;
    auto fn = DOMUS_DOMAIN_OP(ctx(), open_console);
    if (!fn)
      return unsupported(r);
    uint32_t flags = flags_for(r, true, "open_console");
    if (!active()) {
      reply_error(r, errc::invalid_operation,
                  "cannot open the console of domain '" + name() +
                      "': it is not running");
      return finish();
    }
    std::optional<std::string> device = optional_string(r.args, "device");
    auto* stream = new domus_stream;
    auto* inst = ctx().inst;
    auto* dom = st().s.dom;
    rpc req = r;
    drive(
        driver_op::open_console,
        [=](domus_complete_fn done, void* user) {
          fn(inst, dom, device ? device->c_str() : nullptr, flags, stream, done, user);
        },
        [this, req, stream](driver_result& res) {
          if (res.ok()) {
            gw().reply_stream(req.serial, json::object(), stream);
            return finish();
          }
          if (st().s.slot->hung_has("open_console"))
            st().s.slot->late_stream = stream; // the driver still holds it
          else
            delete stream; // the driver gave it up with its refusal
          reply_driver_error(req, res,
                             "cannot open the console of domain '" + name() + "'");
          finish();
        });
  }

  // The open_console that passed its deadline returned: whatever it did, its stream
  // never reached a client. The driver hears its end on the loop thread.
  void end_late_stream() {
    domus_stream* s = st().s.slot->late_stream;
    st().s.slot->late_stream = nullptr;
    if (!s)
      return;
    gw().loop().post(
        [s] { discard_stream(s, DOMUS_E_TIMEOUT, "its opening passed its deadline"); });
  }

  // -- devices ------------------------------------------------------------------------

  using def_ptr = std::shared_ptr<const model::domain_def>;

  using device_fn = void (*)(domus_instance*, domus_dom*, const char*, uint32_t,
                             domus_complete_fn, void*);

  // attach, detach or update one device. "Current" (neither live nor config) is the
  // running guest of an active domain and the definition of an inactive one, as in
  // libvirt; the device is checked against the domain schema before the driver sees it.
  void device_change(job& j, driver_op op, device_fn fn, const char* verb) {
    const rpc& r = j.request;
    if (!fn)
      return unsupported(r);
    uint32_t flags = flags_for(r, true, entry(op).name);
    if (!(flags & (DOMUS_DEVICE_LIVE | DOMUS_DEVICE_CONFIG)))
      flags |= active() ? DOMUS_DEVICE_LIVE : DOMUS_DEVICE_CONFIG;
    std::string what =
        "cannot " + std::string(verb) + " a device of domain '" + name() + "'";
    if ((flags & DOMUS_DEVICE_LIVE) && !active()) {
      reply_error(r, errc::invalid_operation,
                  what + ": it is not running (flag live changes the running guest)");
      return finish();
    }
    if ((flags & DOMUS_DEVICE_CONFIG) && !st().s.persistent_def) {
      reply_error(r, errc::invalid_operation,
                  what + ": it is transient, without a persistent definition to change "
                         "(flag config)");
      return finish();
    }
    auto device = std::make_shared<std::string>(model::check_device(
        required_string(r.args, "xml"),
        optional_string(r.args, "origin").value_or("<request>"), ctx().xml_limits));
    auto* inst = ctx().inst;
    auto* dom = st().s.dom;
    rpc req = r;
    drive(
        op,
        [=](domus_complete_fn done, void* user) {
          fn(inst, dom, device->c_str(), flags, done, user);
        },
        [this, req, flags, what, prev = st().s.persistent_def](driver_result& res) {
          device_changed(req, flags, what, prev, res);
        });
  }

  void device_changed(const rpc& r, uint32_t flags, const std::string& what, def_ptr prev,
                      driver_result& res) {
    if (!res.ok()) {
      if (res.status == DOMUS_E_INTERNAL)
        return crash("the driver reported an internal error: " + res.message);
      // A start that failed is the domain's last error (why it is not running).
      if (r.proc == proc::domain_start)
        remember_error(res.message.empty() ? "the start failed" : res.message);
      reply_driver_error(r, res, what);
      return finish();
    }
    apply(res); // the live definition, when the guest changed
    if (!(flags & DOMUS_DEVICE_CONFIG))
      return reply_after_status(r);
    def_ptr def;
    try {
      if (!res.config_xml)
        throw protocol::error(errc::operation_failed,
                              "the driver returned no persistent definition");
      auto out =
          model::parse_domain(*res.config_xml, "<driver>", model::parse_mode::stored);
      model::normalize(out);
      if (out.name != prev->name || out.uuid != prev->uuid)
        throw protocol::error(errc::operation_failed,
                              "the driver's definition has another name or UUID");
      def = std::make_shared<const model::domain_def>(std::move(out));
    } catch (const protocol::error& e) {
      // The driver changed its definition but gave back none the runtime can keep: it
      // gets the one on disk again.
      return restore_definition(r, prev,
                                what + ": " + e.what() + "; " + live_outcome(flags));
    }
    save_definition(*def, [this, r, flags, what, prev, def](const std::string& error) {
      if (!error.empty()) {
        log_error(ctx().uri + ": " + what + ": " + error);
        return restore_definition(r, prev,
                                  what + ": cannot save the definition: " + error + "; " +
                                      live_outcome(flags));
      }
      st().s.persistent_def = compact_def(def);
      reply_after_status(r);
    });
  }

  static std::string live_outcome(uint32_t flags) {
    return (flags & DOMUS_DEVICE_LIVE) ? "the persistent definition is unchanged, the "
                                         "running guest has the change"
                                       : "the persistent definition is unchanged";
  }

  // The driver's definition back to `prev` (after a device change whose definition the
  // runtime could not keep), then the request fails with `why`.
  void restore_definition(const rpc& r, def_ptr prev, const std::string& why) {
    auto refuse = [this, r, why](const std::string& note) {
      reply_error(r, errc::operation_failed, why + note);
      finish();
    };
    bool called = call_define(*prev, [this, refuse](driver_result& res) {
      if (res.ok())
        return refuse("");
      log_error(ctx().uri + ": domain '" + name() +
                "': the driver did not take its definition back: " + res.message);
      refuse(" (but the driver did not take it back: " + res.message + ")");
    });
    if (!called)
      refuse(" (the driver cannot take it back: it has no define)");
  }

  // -- definitions ----------------------------------------------------------------------

  // Runs the driver's normalize hook (when it has one) on a definition, then libvirt's
  // generic device defaults (after the hook: a driver's own defaults come first, as
  // libvirt orders them; the hook may apply them itself).
  void normalize(const rpc& r, def_ptr def, std::function<void(def_ptr)> then) {
    auto fn = DOMUS_DOMAIN_OP(ctx(), normalize);
    if (!fn) {
      auto full = std::make_shared<model::domain_def>(*def);
      model::add_implied_devices(*full);
      return then(std::move(full));
    }
    auto xml =
        std::make_shared<std::string>(model::format_domain(*def, model::secrets::keep));
    auto* inst = ctx().inst;
    drive(
        driver_op::normalize,
        [=](domus_complete_fn done, void* user) { fn(inst, xml->c_str(), done, user); },
        [this, r, def, then](driver_result& res) {
          if (!res.ok() || !res.xml) {
            reply_driver_error(r, res, "the driver refused the definition");
            return fail_definition();
          }
          try {
            auto out =
                model::parse_domain(*res.xml, "<driver>", model::parse_mode::stored);
            model::normalize(out);
            model::add_implied_devices(out);
            if (out.name != def->name || out.uuid != def->uuid)
              throw protocol::error(errc::internal, "the driver's normalize hook changed "
                                                    "the domain's name or UUID");
            then(std::make_shared<const model::domain_def>(std::move(out)));
          } catch (const protocol::error& e) {
            reply_error(r, errc::internal, std::string("driver normalize: ") + e.what());
            fail_definition();
          }
        });
  }

  // A definition job failed: a domain the driver never took disappears.
  void fail_definition() {
    if (st().s.dom)
      return finish();
    st().jobs.done();
    remove();
  }

  void define_new(job& j) {
    rpc r = j.request;
    normalize(r, j.def, [this, r](def_ptr def) {
      driver_define(r, def, [this, r, def](domus_dom* dom) {
        bind(dom);
        st().s.persistent_def = compact_def(def);
        save_definition(*st().s.persistent_def, [this, r](const std::string& error) {
          if (store_failed(r, error,
                           "cannot save the definition of domain '" + name() + "'")) {
            st().jobs.done();
            return remove(); // nothing is defined: the driver's handle is released
          }
          publish(DOMUS_EVENT_DEFINED, DOMUS_DETAIL_ADDED);
          announce();
          reply(r, summary_json(summary()));
          finish();
        });
      });
    });
  }

  void create_new(job& j) {
    rpc r = j.request;
    auto start = DOMUS_DOMAIN_OP(ctx(), start);
    if (!start) {
      reply_error(r, errc::unsupported,
                  "the " + std::string(ctx().driver().name) +
                      " driver cannot start domains");
      return fail_definition();
    }
    uint32_t flags = 0;
    try {
      flags = flags_for(r, true, "start");
    } catch (const protocol::error& e) {
      reply_error(r, e.code(), e.what());
      return fail_definition();
    }
    normalize(r, j.def, [this, r, start, flags](def_ptr def) {
      driver_define(r, def, [this, r, def, start, flags](domus_dom* dom) {
        bind(dom);
        st().s.live_def = def; // transient: no persistent definition
        auto* inst = ctx().inst;
        drive(
            driver_op::start,
            [=](domus_complete_fn done, void* user) {
              start(inst, dom, flags, done, user);
            },
            [this, r](driver_result& res) {
              if (!res.ok() || !res.state ||
                  !protocol::state_is_active(res.state->state)) {
                reply_driver_error(r, res, "cannot start domain '" + name() + "'");
                st().jobs.done();
                return remove();
              }
              apply(res);
              reply_after_status(r, true);
            });
      });
    });
  }

  void redefine(job& j) {
    rpc r = j.request;
    normalize(r, j.def, [this, r](def_ptr def) {
      driver_define(r, def, [this, r, def](domus_dom*) {
        save_definition(*def, [this, r, def](const std::string& error) {
          if (store_failed(r, error,
                           "cannot save the definition of domain '" + name() + "'"))
            return finish();
          bool was_persistent = st().s.persistent_def != nullptr;
          st().s.persistent_def = compact_def(def);
          // libvirt says "added" when a running transient domain becomes persistent.
          publish(DOMUS_EVENT_DEFINED,
                  was_persistent ? DOMUS_DETAIL_UPDATED : DOMUS_DETAIL_ADDED);
          announce();
          reply(r, summary_json(summary()));
          finish();
        });
      });
    });
  }

  // The driver's define (define_flags when it has it; no flags are defined yet) with the
  // domain's handle: false when the driver has neither.
  bool call_define(const model::domain_def& def,
                   std::function<void(driver_result&)> then) {
    auto fn = DOMUS_DOMAIN_OP(ctx(), define);
    auto fn_flags = DOMUS_DOMAIN_OP(ctx(), define_flags);
    if (!fn && !fn_flags)
      return false;
    auto xml =
        std::make_shared<std::string>(model::format_domain(def, model::secrets::keep));
    auto* inst = ctx().inst;
    auto* existing = st().s.dom;
    drive(
        driver_op::define,
        [=](domus_complete_fn done, void* user) {
          if (fn_flags)
            fn_flags(inst, existing, xml->c_str(), 0, done, user);
          else
            fn(inst, existing, xml->c_str(), done, user);
        },
        std::move(then));
    return true;
  }

  void driver_define(const rpc& r, def_ptr def, std::function<void(domus_dom*)> then) {
    auto* existing = st().s.dom;
    bool called = call_define(*def, [this, r, existing, then](driver_result& res) {
      if (!res.ok() || (!existing && !res.dom)) {
        reply_driver_error(r, res, "the driver refused the definition");
        return fail_definition();
      }
      then(existing ? existing : res.dom);
    });
    if (!called) {
      reply_error(r, errc::unsupported,
                  "the " + std::string(ctx().driver().name) +
                      " driver cannot define domains");
      fail_definition();
    }
  }

  // -- queries --------------------------------------------------------------------------

  void query(const rpc& r) {
    switch (r.proc) {
    case proc::domain_lookup:
      return reply(r, summary_json(summary()));
    case proc::domain_xml: {
      bool inactive = optional_bool(r.args, "inactive", false);
      // Secrets only when asked for; the gateway refuses `secure` on the read-only
      // socket before the request gets here.
      auto which = optional_bool(r.args, "secure", false) ? model::secrets::keep
                                                          : model::secrets::omit;
      auto& s = st().s;
      if (inactive && s.persistent_def)
        return reply(r, json{{"xml", model::format_domain(*s.persistent_def, which)},
                             {"name", s.persistent_def->name}});
      auto id = active() ? std::optional<int>(s.state.id) : std::nullopt;
      return reply(r, json{{"xml", model::format_domain(current_def(), which, id)},
                           {"name", current_def().name}});
    }
    case proc::domain_info:
      return info(r);
    case proc::domain_jobinfo:
      return jobinfo(r);
    default:
      return reply_error(r, errc::internal, "procedure not handled by the domain actor");
    }
  }

  // Asks the driver for the domain's facts; false (and `then` never runs) when the driver
  // has no info operation or the domain no handle. Allowed beside a pending mutating job
  // (the ABI's concurrency rule).
  template <class Then> bool ask_info(Then&& then) {
    auto fn = DOMUS_DOMAIN_OP(ctx(), info);
    if (!fn || !st().s.dom)
      return false;
    auto* inst = ctx().inst;
    auto* dom = st().s.dom;
    drive(
        driver_op::info,
        [=](domus_complete_fn done, void* user) { fn(inst, dom, done, user); },
        std::forward<Then>(then));
    return true;
  }

  void info(const rpc& r) {
    auto respond = [this, r](driver_result* res) {
      auto s = summary();
      json out = summary_json(s);
      const auto& def = current_def();
      out["os_type"] = def.os_type;
      out["max_memory_kib"] = def.memory_kib;
      out["memory_kib"] = def.current_memory_kib;
      out["vcpus"] = def.vcpus_now();
      out["cpu_time_ns"] = 0;
      out["managed_save"] = false;
      json sec = {{"model", ctx().security_model}, {"doi", ctx().security_doi}};
      if (res && res->info) {
        auto& i = *res->info;
        out["max_memory_kib"] = i.max_memory_kib;
        out["memory_kib"] = i.memory_kib;
        out["vcpus"] = i.vcpus;
        out["cpu_time_ns"] = i.cpu_time_ns;
        if (!res->info_os_type.empty())
          out["os_type"] = res->info_os_type;
        if (res->has_security_label) {
          sec["label"] = res->info_security_label;
          sec["enforcing"] = i.security_enforcing != 0;
        }
      }
      out["security"] = sec;
      std::string hung = st().s.slot->hung();
      out["unresponsive"] = hung.empty() ? json(nullptr) : json(hung);
      out["last_error"] = st().last_error.is_null() ? json(nullptr) : st().last_error;
      reply(r, out);
    };
    bool asked = ask_info([this, r, respond](driver_result& res) {
      if (!res.ok())
        return reply_driver_error(r, res,
                                  "cannot get information on domain '" + name() + "'");
      respond(&res);
    });
    if (!asked)
      respond(nullptr);
  }

  // -- start-up and reports -----------------------------------------------------------

  void on_start() {
    if (st().s.dom)
      ctx().host->bind(st().s.dom, st().calls.slot());
    if (!st().s.resync)
      return;
    st().jobs.hold("the resync after a restart"); // jobs wait for it
    if (st().calls.slot()->in_flight_in_time() > 0) {
      // Calls of the incarnation that died are still out; their completions come here.
      // No new call is made on the domain until they are all back, but for those past
      // their deadline: the domain is unresponsive, and waiting for them could be
      // forever.
      st().awaiting_orphans = true;
      return;
    }
    resync();
  }

  // After a restart: the driver's word on the domain's state, then jobs run again.
  void resync() {
    bool asked = ask_info([this](driver_result& res) {
      if (res.ok() && res.info) {
        apply_state(res.info->state);
        save_status_or_retry();
      } else
        log_warning("domain '" + name() + "' of " + ctx().uri +
                    ": resync after restart failed: " + res.message);
      announce();
      finish();
    });
    if (!asked) {
      announce();
      finish();
    }
  }

  void on_report(report_data& rep) {
    if (st().removed)
      return;
    driver_result r;
    r.state = rep.state;
    r.events = std::move(rep.events);
    r.private_data = std::move(rep.private_data);
    r.xml = std::move(rep.live_xml);
    if (rep.error)
      remember_error(*rep.error);
    apply_facts(r);
  }

  void remember_error(const std::string& message) {
    st().last_error = {
        {"message", message},
        {"time", protocol::format_utc_ms(std::chrono::system_clock::now())}};
  }

  // A driver event: published beside the domain's lifecycle events, in the order the
  // driver emitted them; a sample coalesced by the gateway.
  void on_emit(driver_event& ev) {
    if (st().removed)
      return;
    std::string body = driver_event_body(ctx().uri, summary(), *ev.topic, ev.fields);
    if (ev.topic->journaled)
      gw().publish(std::string(ev.topic->name), std::move(body));
    else
      gw().publish_sample(std::string(ev.topic->name), ctx().uri + " " + summary().uuid,
                          std::move(body));
  }

  void on_call(rpc& r) {
    if (st().removed)
      return reply_error(r, errc::no_domain, "domain '" + name() + "' no longer exists");
    try {
      if (r.proc == proc::domain_jobabort)
        jobabort(r); // beside the job it aborts, never behind it
      else if (r.proc == proc::domain_destroy && overtake_start(r))
        return;
      else if (protocol::entry(r.proc).mutating)
        enqueue(job{std::move(r), nullptr, job::operation});
      else
        query(r);
    } catch (const protocol::error& e) {
      reply_error(r, e.code(), e.what());
    }
  }

  // Every handler holds its posts to the event loop and hands them over together when
  // it returns: a change's reply, event and route reach the loop thread in one wake-up.
  caf::behavior make_behavior() {
    return {
        [this](call_atom, rpc& r) {
          event_loop::hold h(gw().loop());
          on_call(r);
        },
        [this](adopt_atom, definition_job& d) {
          event_loop::hold h(gw().loop());
          bool create = d.request.proc == proc::domain_create;
          enqueue(job{std::move(d.request), std::move(d.def),
                      create ? job::create_new : job::define_new});
        },
        [this](redefine_atom, definition_job& d) {
          event_loop::hold h(gw().loop());
          enqueue(job{std::move(d.request), std::move(d.def), job::redefine});
        },
        [this](done_atom, uint64_t generation, uint64_t id, driver_result& r) {
          event_loop::hold h(gw().loop());
          on_done(generation, id, r);
        },
        [this](report_atom, report_data& rep) {
          event_loop::hold h(gw().loop());
          on_report(rep);
        },
        [this](emit_atom, driver_event& ev) {
          event_loop::hold h(gw().loop());
          on_emit(ev);
        },
        [this](stored_atom, uint64_t token, std::string& error) {
          event_loop::hold h(gw().loop());
          on_stored(token, error);
        },
        [this](waited_atom, uint64_t token) {
          event_loop::hold h(gw().loop());
          on_waited(token);
        },
        [this](status_atom) {
          event_loop::hold h(gw().loop());
          on_status_retry();
        },
        [this](deadline_atom, uint64_t generation, uint64_t id) {
          event_loop::hold h(gw().loop());
          on_deadline(generation, id);
        },
        [this](stopping_atom) {
          if (st().long_running && st().long_running->aborted_by.empty())
            abort_long_job("the daemon stopping", errc::shutting_down);
        },
        [this](progress_atom, uint64_t generation, uint64_t id, uint64_t processed,
               uint64_t total) { on_progress(generation, id, processed, total); },
    };
  }

private:
  domain_actor* self_;
};

caf::behavior domain_behavior(domain_actor* self, domain_seed seed) {
  self->state.s = std::move(seed);
  self->set_exception_handler(
      [](std::exception_ptr& ep) { return failure_reason("domain actor", ep); });
  self->state.calls.attach(caf::actor_cast<caf::actor>(self), self->state.s.slot);
  self->state.calls.set_deadlines(self->state.s.ctx->clock,
                                  &self->state.s.ctx->deadlines);
  self->state.logic = std::make_shared<domain_logic>(self);
  auto* logic = self->state.logic.get();
  auto b = logic->make_behavior();
  logic->on_start();
  return b;
}

} // namespace

caf::actor spawn_domain_actor(caf::local_actor* parent, domain_seed seed) {
  return parent->spawn<caf::linked>(domain_behavior, std::move(seed));
}

} // namespace domus::runtime
