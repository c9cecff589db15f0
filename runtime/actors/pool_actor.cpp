#include "actors/pool_actor.hpp"

#include "actors/failure_reason.hpp"
#include "actors/messages.hpp"
#include "actors/pool_json.hpp"
#include "actors/pool_rules.hpp"
#include "actors/store_calls.hpp"
#include "daemon/log.hpp"
#include "drivers/driver_call.hpp"
#include "gateway/gateway.hpp"
#include "gateway/stream_table.hpp"
#include "persist/pool_files.hpp"
#include "persist/store.hpp"

#include <domus/protocol/flags.hpp>

#include <caf/all.hpp>

#include <algorithm>
#include <chrono>
#include <deque>
#include <functional>
#include <map>

namespace domus::runtime {

using protocol::errc;
using protocol::json;
using protocol::proc;

namespace {

class pool_logic;

struct pool_state {
  pool_seed s;
  std::shared_ptr<pool_logic> logic; // the behavior's handlers point into it
  pending_calls calls;
  std::deque<pool_request> queue; // changes waiting for the one running
  bool running = false;
  std::string hung; // the driver call out past its deadline, "" when none
  bool gone = false;
  store_calls stored; // writes of its files, with what to do next
  // The long-running jobs on volumes, running beside the queue, by volume name: what
  // each holds (docs/architecture.md, "Long-running jobs on volumes").
  struct volume_job {
    enum class kind { upload, download, create, wipe, copy_source };
    kind what = kind::download;
    uint64_t call_id = 0;
    std::string proc;               // for vol.jobinfo: "vol.upload", ...
    bool answered = false;          // a transfer's caller has its stream, or an error
    domus_stream* stream = nullptr; // the runtime's to free (never the client's)
    std::chrono::steady_clock::time_point since = std::chrono::steady_clock::now();
    uint64_t processed = 0, total = 0; // as the driver last reported
    bool writes() const { return what != kind::download && what != kind::copy_source; }
  };
  std::multimap<std::string, volume_job> jobs;
  static inline const char* name = "pool";
};

using pool_actor = caf::stateful_actor<pool_state>;
using stored_fn = std::function<void(const std::string&)>;

class pool_logic {
public:
  explicit pool_logic(pool_actor* self) : self_(self) {}

  pool_state& st() { return self_->state; }
  const instance_context& ctx() { return *st().s.ctx; }
  gateway& gw() { return *ctx().gw; }
  pool_slot& slot() { return *st().s.slot; }
  const std::string& name() { return slot().name(); }
  std::string what() { return "storage pool '" + name() + "'"; }

  // -- replies and events ---------------------------------------------------------------

  // (Serial 0: the runtime's own request, which nobody waits for.)
  void reply(const rpc& r, const json& result) {
    if (r.serial)
      gw().reply(r.serial, protocol::encode_reply(r.id, result));
  }
  void reply_error(const rpc& r, errc code, const std::string& message) {
    if (r.serial)
      gw().reply(r.serial, protocol::encode_error(r.id, code, message));
    else
      log_warning(ctx().uri + ": " + message);
  }
  void reply_entry(const rpc& r) { reply(r, pool_entry(slot(), slot().read())); }
  void reply_driver_error(const rpc& r, const driver_result& res, const std::string& op) {
    auto code = protocol::errc_from_number(res.status).value_or(errc::operation_failed);
    reply_error(r, code,
                res.message.empty()
                    ? "cannot " + op + " " + what() + ": the driver reported error " +
                          std::to_string(res.status)
                    : res.message);
  }
  void publish(std::string_view event) {
    gw().publish(std::string(protocol::topic_pool_lifecycle),
                 pool_lifecycle_body(ctx().uri, slot(), event));
  }

  // -- files ----------------------------------------------------------------------------

  pool_files files() { return {ctx(), name()}; }

  // One change of the pool's files; `then` runs on this actor with "" or what failed.
  void persist(store::change c, stored_fn then) {
    if (!ctx().persisted())
      return then("");
    st().stored.apply(*ctx().files, std::move(c), caf::actor_cast<caf::actor>(self_),
                      std::move(then));
  }

  // The status file of an active pool, its removal for an inactive one, before the
  // change is acknowledged (`then`); a volatile write, so a failure is logged, not the
  // change's.
  void save_status(const pool_facts& f, std::function<void()> then = nullptr) {
    persist(f.active() ? files().status(*f.def) : files().no_status(),
            [this, then](const std::string& error) {
              if (!error.empty())
                log_error(ctx().uri + ": " + what() + ": " + error);
              if (then)
                then();
            });
  }

  // -- the queue ------------------------------------------------------------------------

  // A request that will not run: its caller hears why, and an adopted pool's own read
  // of its volumes tells the instance it has ended all the same.
  void refuse(const pool_request& j, errc code, const std::string& message) {
    reply_error(j.request, code, message);
    if (j.notify)
      tell_volumes_read();
  }

  // The instance actor hears that this pool's own read of its volumes has ended.
  void tell_volumes_read() {
    self_->send(ctx().registry, volumes_atom::value, self_->id());
  }

  void enqueue(pool_request j) {
    if (st().gone)
      return refuse(j, errc::no_pool,
                    "no storage pool with matching name or UUID '" + name() + "'");
    if (!st().hung.empty())
      return refuse(j, errc::busy,
                    what() + " is busy: its driver call '" + st().hung +
                        "' passed its deadline and has not returned");
    st().queue.push_back(std::move(j));
    next();
  }

  void next() {
    while (!st().running && !st().queue.empty()) {
      pool_request j = std::move(st().queue.front());
      st().queue.pop_front();
      if (st().gone) {
        refuse(j, errc::no_pool,
               "no storage pool with matching name or UUID '" + name() + "'");
        continue;
      }
      if (!st().hung.empty()) {
        refuse(j, errc::busy,
               what() + " is busy: its driver call '" + st().hung +
                   "' passed its deadline and has not returned");
        continue;
      }
      st().running = true;
      try {
        run(j);
      } catch (const protocol::error& e) {
        refuse(j, e.code(), e.what());
        finish();
      }
    }
  }

  // The running change is over.
  void finish() {
    st().running = false;
    next();
  }

  // The pool is no more: the instance actor drops it and then stops this actor; what it
  // sends meanwhile is answered no-pool.
  void vanish() {
    st().gone = true;
    slot().set_gone();
    self_->send(ctx().registry, removed_atom::value, name());
  }

  void release_handle(const pool_facts& f) {
    auto release = DOMUS_POOL_OP(ctx(), release);
    if (release && f.handle)
      release(ctx().inst, f.handle);
  }

  // -- changes --------------------------------------------------------------------------

  void run(pool_request& j) {
    const rpc& r = j.request;
    pool_facts f = slot().read();
    if (auto refused = check_pool_op(r.proc, f, name()))
      throw protocol::error(errc::invalid_operation, *refused);
    check_jobs(j);
    switch (r.proc) {
    case proc::pool_define:
      return slot().defined() ? redefine(j) : define_new(j, false);
    case proc::pool_create:
      return slot().defined() ? start(r, j.def) : define_new(j, true);
    case proc::pool_start:
      return start(r, nullptr);
    case proc::pool_destroy:
      return destroy(r);
    case proc::pool_undefine:
      return undefine(r);
    case proc::pool_build:
    case proc::pool_delete:
      return storage_op(r);
    case proc::pool_refresh:
      return refresh(r, j.internal, j.notify);
    case proc::vol_create:
    case proc::vol_create_from:
    case proc::vol_clone:
      return vol_create(j);
    case proc::vol_delete:
    case proc::vol_resize:
    case proc::vol_wipe:
      return vol_change(j);
    case proc::vol_upload:
    case proc::vol_download:
      return transfer(j);
    case proc::pool_autostart:
      return autostart(r);
    default:
      throw protocol::error(errc::internal, "procedure not handled by the pool actor");
    }
  }

  template <class Fn> Fn need(Fn fn, const char* what_op) {
    if (!fn)
      throw protocol::error(
          errc::unsupported,
          "the " + std::string(ctx().driver().name) + " driver does not support '" +
              what_op + "' of storage " +
              (std::string_view(what_op).find("volume") != std::string_view::npos
                   ? "volumes"
                   : "pools"));
    return fn;
  }

  // Applies a driver's report of the pool's state and sizes to `f`.
  static void apply_info(pool_facts& f, const driver_result& res) {
    if (!res.pool_info)
      return;
    f.state = res.pool_info->state;
    auto def = std::make_shared<model::pool_def>(*f.def);
    def->sizes = {res.pool_info->capacity, res.pool_info->allocation,
                  res.pool_info->available};
    f.def = std::move(def);
  }

  // A start or refresh lists the pool's volumes: they replace what the pool held.
  static void take_volumes(pool_facts& f, driver_result& res) {
    f.volumes = std::make_shared<volume_table>(std::move(res.volumes));
  }

  // A new pool: the driver's define, then its definition on disk (pool.define) or its
  // start (pool.create, transient).
  void define_new(pool_request& j, bool create) {
    auto fn = need(DOMUS_POOL_OP(ctx(), define), "define");
    if (create)
      need(DOMUS_POOL_OP(ctx(), start), "start");
    uint32_t flags = create ? protocol::read_flags(proc::pool_create, j.request.args) : 0;
    auto xml = std::make_shared<std::string>(model::format_pool(*j.def));
    auto* inst = ctx().inst;
    rpc r = j.request;
    st().calls.drive(
        driver_op::pool_define,
        [=](domus_complete_fn done, void* user) {
          fn(inst, xml->c_str(), 0, done, user);
        },
        [this, r, create, flags](driver_result& res) {
          if (!res.ok() || !res.pool) {
            if (res.ok())
              res = failed("the driver's define returned no pool handle");
            reply_driver_error(r, res, "define");
            vanish();
            return finish();
          }
          pool_facts f = slot().read();
          f.handle = res.pool;
          apply_info(f, res);
          f.state = DOMUS_POOL_INACTIVE; // until it is started
          slot().write(f);
          if (create)
            return start_new(r, flags);
          persist(files().definition(*f.def), [this, r](const std::string& error) {
            if (!error.empty()) {
              reply_error(r, errc::operation_failed,
                          "cannot define " + what() + ": " + error);
              release_handle(slot().read());
              vanish();
              return finish();
            }
            slot().set_defined();
            publish("defined");
            reply_entry(r);
            finish();
          });
        });
  }

  static driver_result failed(const std::string& message) {
    driver_result res;
    res.status = DOMUS_E_OPERATION_FAILED;
    res.message = message;
    return res;
  }

  // pool.create of a new pool: its start; a pool that does not start is gone.
  void start_new(const rpc& r, uint32_t flags) {
    call_start(slot().read().def, flags, [this, r](driver_result& res) {
      pool_facts f = slot().read();
      if (!res.ok()) {
        reply_driver_error(r, res, "start");
        release_handle(f);
        vanish();
        return finish();
      }
      apply_info(f, res);
      take_volumes(f, res);
      if (f.state == DOMUS_POOL_INACTIVE)
        f.state = DOMUS_POOL_RUNNING;
      f.persistent = false;
      slot().write(f);
      slot().set_defined();
      save_status(f, [this, r] {
        publish("started");
        reply_entry(r);
        finish();
      });
    });
  }

  void call_start(std::shared_ptr<const model::pool_def> def, uint32_t flags,
                  std::function<void(driver_result&)> then) {
    auto fn = need(DOMUS_POOL_OP(ctx(), start), "start");
    auto xml = std::make_shared<std::string>(model::format_pool(*def));
    auto* inst = ctx().inst;
    auto* handle = slot().read().handle;
    st().calls.drive(
        driver_op::pool_start,
        [=](domus_complete_fn done, void* user) {
          fn(inst, handle, xml->c_str(), flags, done, user);
        },
        std::move(then));
  }

  // A new definition for a defined pool: in force at once for an inactive one, at its
  // next start for an active one; a transient pool becomes persistent.
  void redefine(pool_request& j) {
    pool_facts f = slot().read();
    auto def = std::make_shared<model::pool_def>(*j.def);
    rpc r = j.request;
    persist(files().definition(*def), [this, r, f,
                                       def](const std::string& error) mutable {
      if (!error.empty()) {
        reply_error(r, errc::operation_failed, "cannot define " + what() + ": " + error);
        return finish();
      }
      if (f.active()) {
        f.next = def;
      } else {
        def->sizes = f.def->sizes;
        f.def = def;
        f.next = nullptr;
      }
      f.persistent = true;
      slot().write(f);
      publish("defined");
      reply_entry(r);
      finish();
    });
  }

  // pool.start, and pool.create of a defined inactive pool (with its definition for
  // this run; the persistent one stays for the next).
  void start(const rpc& r, std::shared_ptr<const model::pool_def> given) {
    pool_facts before = slot().read();
    if (given && before.active())
      throw protocol::error(errc::invalid_operation,
                            "cannot create " + what() + ": it is already active");
    uint32_t flags = protocol::read_flags(r.proc, r.args);
    std::shared_ptr<const model::pool_def> def =
        given ? given : (before.next ? before.next : before.def);
    call_start(def, flags, [this, r, def, given](driver_result& res) {
      if (!res.ok()) {
        reply_driver_error(r, res, "start");
        return finish();
      }
      pool_facts f = slot().read();
      if (given && f.persistent && !f.next)
        f.next = f.def; // the persistent definition waits for the next start
      else if (!given)
        f.next = nullptr;
      auto live = std::make_shared<model::pool_def>(*def);
      live->sizes = f.def->sizes;
      f.def = live;
      apply_info(f, res);
      take_volumes(f, res);
      if (f.state == DOMUS_POOL_INACTIVE)
        f.state = DOMUS_POOL_RUNNING;
      slot().write(f);
      save_status(f, [this, r] {
        publish("started");
        reply_entry(r);
        finish();
      });
    });
  }

  void destroy(const rpc& r) {
    auto fn = need(DOMUS_POOL_OP(ctx(), destroy), "destroy");
    auto* inst = ctx().inst;
    auto* handle = slot().read().handle;
    st().calls.drive(
        driver_op::pool_destroy,
        [=](domus_complete_fn done, void* user) { fn(inst, handle, done, user); },
        [this, r](driver_result& res) {
          if (!res.ok()) {
            reply_driver_error(r, res, "destroy");
            return finish();
          }
          pool_facts f = slot().read();
          apply_info(f, res);
          f.state = DOMUS_POOL_INACTIVE;
          if (f.next) {
            auto def = std::make_shared<model::pool_def>(*f.next);
            def->sizes = f.def->sizes;
            f.def = def;
            f.next = nullptr;
          }
          slot().write(f);
          save_status(f, [this, r, f] {
            publish("stopped");
            if (!f.persistent) {
              release_handle(f);
              vanish();
            }
            reply_entry(r);
            finish();
          });
        });
  }

  // The definition, then its autostart link, durably (a link left behind names nothing
  // and is ignored at start; one removed before a definition that stays would lose its
  // autostart), then the reply.
  void undefine(const rpc& r) {
    persist(files().no_definition(), [this, r](const std::string& error) {
      if (!error.empty()) {
        reply_error(r, errc::operation_failed,
                    "cannot undefine " + what() + ": " + error);
        return finish();
      }
      persist(files().no_autostart(), [this, r](const std::string& error) {
        if (!error.empty())
          log_warning(ctx().uri + ": " + what() + ": " + error);
        pool_facts f = slot().read();
        json entry = pool_entry(slot(), f);
        entry["persistent"] = false;
        publish("undefined");
        release_handle(f);
        vanish();
        reply(r, entry);
        finish();
      });
    });
  }

  // build and delete: what they do to the pool's storage; its state stays.
  void storage_op(const rpc& r) {
    bool build = r.proc == proc::pool_build;
    uint32_t flags = protocol::read_flags(r.proc, r.args);
    auto* inst = ctx().inst;
    auto* handle = slot().read().handle;
    auto then = [this, r, build](driver_result& res) {
      if (!res.ok()) {
        reply_driver_error(r, res, build ? "build" : "delete");
        return finish();
      }
      publish(build ? "created" : "deleted");
      reply_entry(r);
      finish();
    };
    if (build) {
      auto fn = need(DOMUS_POOL_OP(ctx(), build), "build");
      st().calls.drive(
          driver_op::pool_build,
          [=](domus_complete_fn done, void* user) {
            fn(inst, handle, flags, done, user);
          },
          then);
    } else {
      auto fn = need(DOMUS_POOL_OP(ctx(), delete_storage), "delete_storage");
      st().calls.drive(
          driver_op::pool_delete,
          [=](domus_complete_fn done, void* user) {
            fn(inst, handle, flags, done, user);
          },
          then);
    }
  }

  // pool.refresh; `internal`: the runtime's own, to learn the volumes of a pool the
  // driver reported active at open (no reply, no event; with `notify` the instance
  // actor hears volumes_atom once it has ended, read or not).
  void refresh(const rpc& r, bool internal, bool notify = false) {
    auto fn = need(DOMUS_POOL_OP(ctx(), refresh), "refresh");
    auto* inst = ctx().inst;
    auto* handle = slot().read().handle;
    st().calls.drive(
        driver_op::pool_refresh,
        [=](domus_complete_fn done, void* user) { fn(inst, handle, done, user); },
        [this, r, internal, notify](driver_result& res) {
          auto ended = [this, &notify] {
            if (notify)
              tell_volumes_read();
            finish();
          };
          if (!res.ok()) {
            if (internal)
              log_error(ctx().uri + ": cannot read the volumes of " + what() + ": " +
                        res.message);
            else
              reply_driver_error(r, res, "refresh");
            return ended();
          }
          pool_facts f = slot().read();
          apply_info(f, res);
          take_volumes(f, res);
          slot().write(f);
          if (internal)
            return ended();
          save_status(f, [this, r] {
            gw().publish(std::string(protocol::topic_pool_refresh),
                         pool_refresh_body(ctx().uri, slot()));
            reply_entry(r);
            finish();
          });
        });
  }

  // -- volumes --------------------------------------------------------------------------

  void publish_volume(const driver_volume& v, std::string_view event) {
    gw().publish(std::string(protocol::topic_pool_volume),
                 volume_event_body(ctx().uri, slot(), v, event));
  }

  json volume_reply(const driver_volume& v) {
    json out = volume_entry(v);
    out["pool"] = name();
    out["pool_uuid"] = slot().uuid();
    return out;
  }

  // The volume a request names (by its name in this pool), or no-volume.
  driver_volume volume_of(const pool_request& j) {
    pool_facts f = slot().read();
    if (const driver_volume* v = f.volume(j.vol))
      return *v;
    throw protocol::error(errc::no_volume, "storage pool '" + name() +
                                               "' has no volume named '" + j.vol + "'");
  }

  // vol.create, vol.create-from, vol.clone: a name the pool does not have yet.
  // vol.create, vol.create-from, vol.clone: a name the pool does not have yet. With the
  // driver's create_job (ABI 1.3), a long-running job beside the queue: the new name is
  // held until it completes (libvirt's `building`), and a copy's source in this pool
  // too (libvirt's `in_use`).
  void vol_create(pool_request& j) {
    auto as_job = DOMUS_VOLUME_OP(ctx(), create_job);
    auto fn = as_job ? nullptr : need(DOMUS_VOLUME_OP(ctx(), create), "create volume");
    const rpc& r = j.request;
    if (slot().read().volume(j.volume->name))
      throw protocol::error(errc::volume_exists, "storage pool '" + name() +
                                                     "' already has a volume named '" +
                                                     j.volume->name + "'");
    uint32_t flags = protocol::read_flags(r.proc, r.args);
    auto xml = std::make_shared<std::string>(model::format_volume(*j.volume));
    auto* inst = ctx().inst;
    auto* handle = slot().read().handle;
    domus_vol* from = j.from;
    if (!as_job) {
      st().calls.drive(
          driver_op::vol_create,
          [=](domus_complete_fn done, void* user) {
            fn(inst, handle, xml->c_str(), from, flags, done, user);
          },
          [this, r](driver_result& res) {
            created(r, res);
            finish();
          });
      return;
    }
    uint64_t id = st().calls.next_id();
    hold(j.volume->name, pool_state::volume_job::kind::create, id, r.proc);
    if (j.from && j.from_pool == name())
      hold(j.from_name, pool_state::volume_job::kind::copy_source, id, r.proc);
    st().calls.drive_job(
        driver_op::vol_create,
        [=](domus_complete_fn done, void* user, domus_job* job) {
          as_job(inst, handle, xml->c_str(), from, flags, job, done, user);
        },
        [this, r, id](driver_result& res) {
          release(id);
          created(r, res);
        });
    finish(); // the queue does not wait for it
  }

  // A create completed: the volume joins the table, announced and answered.
  void created(const rpc& r, driver_result& res) {
    if (res.ok() && res.volumes.empty())
      res = failed("the driver's volume create returned no volume");
    if (!res.ok())
      return reply_driver_error(r, res, "create a volume in");
    pool_facts f = slot().read();
    apply_info(f, res);
    driver_volume made = res.volumes.front();
    f.volumes = std::make_shared<volume_table>(f.volumes ? f.volumes->with(made)
                                                         : volume_table().with(made));
    slot().write(f);
    publish_volume(made, "created");
    reply(r, volume_reply(made));
  }

  // vol.delete, vol.resize, vol.wipe: a volume the pool has.
  void vol_change(pool_request& j) {
    const rpc& r = j.request;
    driver_volume v = volume_of(j);
    uint32_t flags = protocol::read_flags(r.proc, r.args);
    auto* inst = ctx().inst;
    auto* handle = slot().read().handle;
    domus_vol* vol = v.handle;
    auto changed = [this, r, v](driver_result& res) {
      std::string_view event = r.proc == proc::vol_delete   ? "deleted"
                               : r.proc == proc::vol_resize ? "resized"
                                                            : "wiped";
      if (!res.ok())
        return reply_driver_error(r, res, std::string(event).substr(0, event.size() - 1));
      pool_facts f = slot().read();
      apply_info(f, res);
      driver_volume after = v;
      volume_table now = f.volumes ? *f.volumes : volume_table();
      if (r.proc == proc::vol_delete)
        now = now.without(v.name);
      else if (!res.volumes.empty())
        now = now.with(after = res.volumes.front());
      f.volumes = std::make_shared<volume_table>(std::move(now));
      slot().write(f);
      publish_volume(after, event);
      reply(r, volume_reply(after));
    };
    auto then = [this, changed](driver_result& res) {
      changed(res);
      finish();
    };
    if (r.proc == proc::vol_delete) {
      auto fn = need(DOMUS_VOLUME_OP(ctx(), delete_volume), "delete volume");
      st().calls.drive(
          driver_op::vol_delete,
          [=](domus_complete_fn done, void* user) {
            fn(inst, handle, vol, flags, done, user);
          },
          then);
    } else if (r.proc == proc::vol_resize) {
      auto fn = need(DOMUS_VOLUME_OP(ctx(), resize), "resize volume");
      auto it = r.args.find("capacity");
      if (it == r.args.end() || !it->is_number_unsigned())
        throw protocol::error(errc::bad_request,
                              "argument \"capacity\" must be a number of bytes");
      uint64_t capacity = it->get<uint64_t>();
      st().calls.drive(
          driver_op::vol_resize,
          [=](domus_complete_fn done, void* user) {
            fn(inst, handle, vol, capacity, flags, done, user);
          },
          then);
    } else if (auto as_job = DOMUS_VOLUME_OP(ctx(), wipe_job)) {
      // A long-running job (ABI 1.3), the volume held until it completes.
      uint32_t algorithm = r.args.value("algorithm", 0u);
      uint64_t id = st().calls.next_id();
      hold(v.name, pool_state::volume_job::kind::wipe, id, r.proc);
      st().calls.drive_job(
          driver_op::vol_wipe,
          [=](domus_complete_fn done, void* user, domus_job* job) {
            as_job(inst, handle, vol, algorithm, flags, job, done, user);
          },
          [this, id, changed](driver_result& res) {
            release(id);
            changed(res);
          });
      finish();
    } else {
      auto fn = need(DOMUS_VOLUME_OP(ctx(), wipe), "wipe volume");
      uint32_t algorithm = r.args.value("algorithm", 0u);
      st().calls.drive(
          driver_op::vol_wipe,
          [=](domus_complete_fn done, void* user) {
            fn(inst, handle, vol, algorithm, flags, done, user);
          },
          then);
    }
  }

  void autostart(const rpc& r) {
    auto it = r.args.find("enable");
    if (it == r.args.end() || !it->is_boolean())
      throw protocol::error(errc::bad_request, "argument \"enable\" must be a boolean");
    bool enable = it->get<bool>();
    persist(enable ? files().autostart() : files().no_autostart(),
            [this, r, enable](const std::string& error) {
              if (!error.empty()) {
                reply_error(r, errc::operation_failed,
                            "cannot set autostart of " + what() + ": " + error);
                return finish();
              }
              pool_facts f = slot().read();
              f.autostart = enable;
              slot().write(f);
              reply_entry(r);
              finish();
            });
  }

  // -- long-running jobs on volumes --------------------------------------------------

  using volume_job = pool_state::volume_job;

  static const char* phrase(volume_job::kind k) {
    switch (k) {
    case volume_job::kind::upload:
      return "an upload to";
    case volume_job::kind::download:
      return "a download of";
    case volume_job::kind::create:
      return "a create of";
    case volume_job::kind::wipe:
      return "a wipe of";
    case volume_job::kind::copy_source:
      return "a copy from";
    }
    return "a job on";
  }

  // Holds `vol` for the job that is call `id`.
  void hold(const std::string& vol, volume_job::kind k, uint64_t id, proc p,
            domus_stream* stream = nullptr) {
    volume_job job;
    job.what = k;
    job.call_id = id;
    job.proc = std::string(protocol::entry(p).name);
    job.stream = stream;
    st().jobs.emplace(vol, std::move(job));
  }

  // The job that is call `id` completed: what it held is free again, unless the call
  // passed its deadline and is still the driver's (on_done frees it when it returns).
  void release(uint64_t id) {
    if (st().calls.is_late(id))
      return;
    for (auto it = st().jobs.begin(); it != st().jobs.end();)
      it = it->second.call_id == id ? st().jobs.erase(it) : std::next(it);
  }

  // What running jobs refuse: the pool's own changes that would pull the volumes from
  // under them (libvirt's "asynchronous jobs running"); a change of a volume a job
  // holds; a read (a download, a copy's source) of one a job writes; a create of a
  // name being built.
  void check_jobs(const pool_request& j) {
    if (st().jobs.empty())
      return;
    proc p = j.request.proc;
    if (p == proc::pool_destroy || p == proc::pool_delete || p == proc::pool_undefine ||
        p == proc::pool_refresh) {
      const auto& [vol, job] = *st().jobs.begin();
      throw protocol::error(errc::busy, what() + " has asynchronous jobs running: " +
                                            phrase(job.what) + " volume '" + vol + "'");
    }
    auto refuse_if = [&](const std::string& vol, bool reads) {
      for (auto [b, e] = st().jobs.equal_range(vol); b != e; ++b)
        if (!reads || b->second.writes())
          throw protocol::error(errc::busy, "volume '" + vol + "' of " + what() +
                                                " is busy: " + phrase(b->second.what) +
                                                " it runs");
    };
    bool creates =
        p == proc::vol_create || p == proc::vol_create_from || p == proc::vol_clone;
    if (creates && j.volume)
      refuse_if(j.volume->name, false);
    // A copy's source: read, when it is in this pool (a clone, or a create-from).
    if ((p == proc::vol_clone || p == proc::vol_create_from) && j.from_pool == name())
      refuse_if(j.from_name, true);
    if (!j.vol.empty())
      refuse_if(j.vol, p == proc::vol_download);
  }

  // vol.jobinfo: the jobs on a volume, as far as their drivers last said.
  void job_info(const pool_request& j) {
    json list = json::array();
    auto now = std::chrono::steady_clock::now();
    for (auto [b, e] = st().jobs.equal_range(j.vol); b != e; ++b) {
      const volume_job& job = b->second;
      if (job.what == volume_job::kind::copy_source)
        continue; // (the copy's own entry is the create's)
      list.push_back(
          {{"proc", job.proc},
           {"elapsed_ms",
            std::chrono::duration_cast<std::chrono::milliseconds>(now - job.since)
                .count()},
           {"processed", job.processed},
           {"total", job.total}});
    }
    reply(j.request, {{"jobs", std::move(list)}});
  }

  // vol.jobabort: every job on the volume is aborted through the driver's cancel; each
  // completes soon with `aborted` (a transfer's client hears it on its stream).
  void job_abort(const pool_request& j) {
    auto cancel = DOMUS_VOLUME_OP(ctx(), cancel);
    if (!cancel)
      return reply_error(j.request, errc::unsupported,
                         "the " + std::string(ctx().driver().name) +
                             " driver cannot abort jobs on volumes");
    size_t n = 0;
    for (auto [b, e] = st().jobs.equal_range(j.vol); b != e; ++b)
      if (b->second.what != volume_job::kind::copy_source)
        if (void* user = st().calls.user_of(b->second.call_id)) {
          cancel(ctx().inst, user);
          ++n;
        }
    if (n == 0)
      return reply_error(j.request, errc::invalid_operation,
                         "no job runs on volume '" + j.vol + "' of " + what());
    log_info(ctx().uri + ": " + std::to_string(n) + " job(s) on volume '" + j.vol +
             "' of " + what() + " aborted by vol.jobabort");
    reply(j.request, {{"aborted", n}});
  }

  static uint64_t byte_argument(const json& args, const char* key) {
    auto it = args.find(key);
    if (it == args.end() || it->is_null())
      return 0;
    if (!it->is_number_unsigned())
      throw protocol::error(errc::bad_request, std::string("argument \"") + key +
                                                   "\" must be a number of bytes");
    return it->get<uint64_t>();
  }

  // vol.upload and vol.download: a long-running job with a stream. The driver attaches
  // the stream before its call returns; the client then has it (its reply), and the
  // queue goes on at once: the job runs beside it until the driver completes it.
  void transfer(pool_request& j) {
    const rpc& r = j.request;
    bool up = r.proc == proc::vol_upload;
    auto upload = up ? need(DOMUS_VOLUME_OP(ctx(), upload), "upload volume") : nullptr;
    auto download =
        up ? nullptr : need(DOMUS_VOLUME_OP(ctx(), download), "download volume");
    driver_volume v = volume_of(j);
    uint32_t flags = protocol::read_flags(r.proc, r.args);
    uint64_t offset = byte_argument(r.args, "offset");
    uint64_t length = byte_argument(r.args, "length");
    auto* inst = ctx().inst;
    auto* handle = slot().read().handle;
    domus_vol* vol = v.handle;
    auto* stream = new domus_stream;
    stream->holes = (flags & DOMUS_VOL_TRANSFER_SPARSE) != 0;
    uint64_t id = st().calls.next_id();
    hold(v.name, up ? volume_job::kind::upload : volume_job::kind::download, id, r.proc,
         stream);
    std::string title = std::string(up ? "upload to" : "download of") + " volume '" +
                        v.name + "' of " + what();
    st().calls.drive_job(
        up ? driver_op::vol_upload : driver_op::vol_download,
        [=](domus_complete_fn done, void* user, domus_job* job) {
          if (up)
            upload(inst, handle, vol, offset, length, flags, stream, job, done, user);
          else
            download(inst, handle, vol, offset, length, flags, stream, job, done, user);
        },
        [this, r, id, title, name = v.name](driver_result& res) {
          transfer_done(r, id, name, title, res);
        });
    // Still running (it did not complete at once): the client gets its stream now.
    for (auto [b, e] = st().jobs.equal_range(v.name); b != e; ++b) {
      if (b->second.call_id != id)
        continue;
      b->second.answered = true;
      if (!stream->attached) {
        // The driver broke the ABI's rule; the stream is freed with its completion.
        reply_error(r, errc::internal,
                    "cannot start the " + title + ": the " + ctx().driver().name +
                        " driver did not attach its stream");
        break;
      }
      b->second.stream = nullptr; // the gateway's now
      gw().reply_stream(r.serial, {{"holes", stream->holes}}, stream);
      break;
    }
    finish(); // the queue does not wait for it
  }

  // The transfer's job completed (or passed its deadline: then it stays marked until
  // its late completion, on_done). Its caller had its stream; the outcome went to it on
  // the stream, so only the facts remain: the volume after an upload.
  void transfer_done(const rpc& r, uint64_t id, const std::string& vol,
                     const std::string& title, driver_result& res) {
    // Past its deadline, the call is still the driver's: the mark stays until its late
    // completion (on_done).
    bool expired = st().calls.is_late(id);
    volume_job t;
    for (auto [b, e] = st().jobs.equal_range(vol); b != e; ++b)
      if (b->second.call_id == id) {
        t = b->second;
        break;
      }
    release(id);
    if (!t.answered && res.ok() && t.stream && t.stream->attached) {
      // It completed before its call returned (an empty download, read at once): the
      // client still gets its stream, which ends as soon as it opens.
      gw().reply_stream(r.serial, {{"holes", t.stream->holes}}, t.stream);
      return;
    }
    if (t.stream && !expired)
      delete t.stream; // never the client's: the driver gave it up
    if (!t.answered) {
      // It completed before its call returned (a refusal): no stream was opened.
      if (!res.ok())
        reply_driver_error(r, res, "start the " + title + " of");
      else
        reply_error(r, errc::internal,
                    "the " + title + " completed before its stream was opened");
      return;
    }
    if (!res.ok()) {
      log_info(ctx().uri + ": the " + title + " failed: " + res.message);
      return;
    }
    log_info(ctx().uri + ": the " + title + " completed");
    if (st().gone)
      return;
    pool_facts f = slot().read();
    apply_info(f, res);
    if (!res.volumes.empty() && f.volumes) {
      const driver_volume& after = res.volumes.front();
      bool resized =
          f.volume(after.name) && f.volume(after.name)->capacity != after.capacity;
      f.volumes = std::make_shared<volume_table>(f.volumes->with(after));
      slot().write(f);
      if (resized)
        publish_volume(after, "resized");
      return;
    }
    slot().write(f);
  }

  // A long-running job reported progress: its deadline starts again, and vol.jobinfo
  // shows it.
  void on_progress(uint64_t generation, uint64_t id, uint64_t processed, uint64_t total) {
    if (!st().calls.progressed(generation, id))
      return;
    for (auto& [vol, job] : st().jobs)
      if (job.call_id == id) {
        job.processed = processed;
        job.total = total;
      }
  }

  // -- driver calls ---------------------------------------------------------------------

  void on_done(uint64_t generation, uint64_t id, driver_result& r) {
    driver_op op{};
    if (st().calls.done(generation, id, r, &op) != pending_calls::outcome::late)
      return;
    // The call given up on its deadline returned: the pool is responsive again, and
    // what the driver says of it now stands.
    log_warning(ctx().uri + ": the late '" + std::string(entry(op).name) + "' of " +
                what() + " completed (" + (r.ok() ? std::string("ok") : r.message) + ")");
    st().hung.clear();
    // The driver is done with what the job held now.
    for (auto it = st().jobs.begin(); it != st().jobs.end();) {
      if (it->second.call_id != id) {
        ++it;
        continue;
      }
      delete it->second.stream; // (one the client never had)
      it = st().jobs.erase(it);
    }
    if (r.ok() && r.pool_info && !st().gone) {
      pool_facts f = slot().read();
      apply_info(f, r);
      slot().write(f);
      save_status(f);
      // The volumes it made, changed or freed are not what the table says: the table is
      // read again from the driver before anything else uses a handle from it.
      if (f.active()) {
        pool_request j;
        j.request.proc = proc::pool_refresh;
        j.internal = true;
        enqueue(std::move(j));
      }
    }
  }

  void on_deadline(uint64_t generation, uint64_t id) {
    auto x = st().calls.expire(generation, id);
    if (!x)
      return;
    auto cancel = DOMUS_DOMAIN_OP(ctx(), cancel);
    auto vol_cancel = DOMUS_VOLUME_OP(ctx(), cancel);
    auto res = timeout_result(entry(x->op).name, what(), ctx().driver().name,
                              x->deadline_ms, cancel || vol_cancel);
    log_warning(ctx().uri + ": " + res.message);
    st().hung = std::string(entry(x->op).name);
    // A long-running job on a volume has its own cancel (ABI 1.3); others the domain
    // table's, with no domain.
    bool of_a_volume =
        std::any_of(st().jobs.begin(), st().jobs.end(),
                    [id](const auto& e) { return e.second.call_id == id; });
    if (of_a_volume && vol_cancel)
      vol_cancel(ctx().inst, x->user);
    else if (cancel)
      cancel(ctx().inst, nullptr, x->user);
    x->then(res);
  }

  caf::behavior make_behavior() {
    return {
        [this](call_atom, pool_request& j) {
          event_loop::hold h(gw().loop());
          // A job's questions never wait behind the queue.
          if (j.request.proc == proc::vol_jobinfo)
            return job_info(j);
          if (j.request.proc == proc::vol_jobabort)
            return job_abort(j);
          enqueue(std::move(j));
        },
        [this](done_atom, uint64_t generation, uint64_t id, driver_result& r) {
          event_loop::hold h(gw().loop());
          on_done(generation, id, r);
        },
        [this](deadline_atom, uint64_t generation, uint64_t id) {
          event_loop::hold h(gw().loop());
          on_deadline(generation, id);
        },
        [this](progress_atom, uint64_t generation, uint64_t id, uint64_t processed,
               uint64_t total) { on_progress(generation, id, processed, total); },
        [this](stored_atom, uint64_t token, std::string& error) {
          event_loop::hold h(gw().loop());
          st().stored.done(token, error);
        },
        [this](stop_atom) { self_->quit(); },
    };
  }

private:
  pool_actor* self_;
};

caf::behavior pool_behavior(pool_actor* self, pool_seed seed) {
  self->state.s = std::move(seed);
  self->set_exception_handler(
      [](std::exception_ptr& ep) { return failure_reason("pool actor", ep); });
  self->state.calls.set_self(caf::actor_cast<caf::actor>(self));
  self->state.calls.set_deadlines(self->state.s.ctx->clock,
                                  &self->state.s.ctx->deadlines);
  self->state.logic = std::make_shared<pool_logic>(self);
  return self->state.logic->make_behavior();
}

} // namespace

caf::actor spawn_pool_actor(caf::local_actor* parent, pool_seed seed) {
  return parent->spawn<caf::linked>(pool_behavior, std::move(seed));
}

} // namespace domus::runtime
