#include "actors/instance_actor.hpp"
#include "actors/failure_reason.hpp"
#include "actors/restore_phases.hpp"

#include "actors/args.hpp"
#include "actors/domain_actor.hpp"
#include "actors/domain_index.hpp"
#include "actors/domain_json.hpp"
#include "actors/instance_pools.hpp"
#include "actors/messages.hpp"
#include "actors/paged_list.hpp"
#include "actors/pool_actor.hpp"
#include "actors/volume_users.hpp"
#include "daemon/log.hpp"
#include "drivers/driver_call.hpp"
#include "drivers/host_services.hpp"
#include "drivers/open_arguments.hpp"
#include "gateway/gateway.hpp"
#include "persist/instance_restore.hpp"
#include "persist/store.hpp"

#include <domus/protocol/vocabulary.hpp>

#include <caf/all.hpp>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <list>
#include <unistd.h>
#include <unordered_map>

namespace domus::runtime {

using protocol::errc;
using protocol::json;
using protocol::proc;

namespace {

using clock_type = std::chrono::steady_clock;

/// What the instance knows of one domain actor.
struct record {
  caf::actor actor;
  std::shared_ptr<domain_slot> slot; ///< kept across restarts
  domain_summary summary;
  bool defined = false; ///< false while its first define or create runs
  std::list<clock_type::time_point> restarts; // (a deque allocates up front)
};

class instance_logic;

struct instance_state {
  instance_seed seed;
  std::shared_ptr<instance_context> ctx;
  bool open = false;
  bool stopping = false;
  pending_calls calls;
  std::unordered_map<caf::actor_id, record> records;
  std::unordered_map<std::string, caf::actor_id> by_name, by_uuid;
  /// The same domains for other threads (host users_of).
  std::shared_ptr<domain_index> shared = std::make_shared<domain_index>();
  std::unique_ptr<instance_pools> pools; ///< its storage pools and their actors
  /// A host-wide storage driver's instance for this URI, when the pools are another
  /// driver's (nullptr otherwise), and the objects its open reported.
  std::shared_ptr<instance_context> pool_ctx;
  std::vector<driver_result::object> pool_objects;
  std::vector<driver_result::object> other_objects; ///< networks: the networks issue
  std::list<rpc> large;       ///< large definitions waiting to be read
  bool reading_large = false; ///< one is being read on a thread of its own
  std::string hypervisor_type;
  uint64_t hypervisor_version = 0;
  supervision_policy policy;
  std::shared_ptr<instance_logic> logic;
  static inline const char* name = "instance";
};

using instance_actor = caf::stateful_actor<instance_state>;

// The text of an actor's exit reason: the message it quit with, else CAF's rendering.
std::string reason_text(const caf::error& e) {
  const caf::message& ctx = e.context();
  for (size_t i = 0; i < ctx.size(); ++i)
    if (ctx.match_element<std::string>(i))
      return ctx.get_as<std::string>(i);
  return caf::to_string(e);
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

class instance_logic {
public:
  explicit instance_logic(instance_actor* self) : self_(self) {}

  instance_state& st() { return self_->state; }
  const std::string& uri() { return st().ctx->uri; }
  gateway& gw() { return *st().seed.gw; }
  caf::actor me() { return caf::actor_cast<caf::actor>(self_); }

  template <class Call, class Then> void drive(driver_op op, Call&& call, Then&& then) {
    st().calls.drive(op, std::forward<Call>(call), std::forward<Then>(then));
  }

  // The context of the driver a call of `op` went to: the storage driver's for the pool
  // calls this actor makes (its open, the pools restored), when it is another driver.
  const instance_context& ctx_of(driver_op op) {
    bool pool_op = op == driver_op::pool_open || op == driver_op::pool_define ||
                   op == driver_op::pool_build || op == driver_op::pool_start;
    return pool_op && st().pool_ctx ? *st().pool_ctx : *st().ctx;
  }

  // A call's deadline passed: the driver is asked to cancel it, and its continuation
  // runs with a timeout result.
  void on_deadline(uint64_t generation, uint64_t id) {
    auto x = st().calls.expire(generation, id);
    if (!x)
      return;
    auto& ctx = ctx_of(x->op);
    if (x->op == driver_op::open)
      return open_late(x->deadline_ms); // no instance to cancel on: it waits it out
    // (an open has no instance to cancel on yet)
    auto cancel = ctx.inst && x->op != driver_op::pool_open ? DOMUS_DOMAIN_OP(ctx, cancel)
                                                            : nullptr;
    auto res = timeout_result(entry(x->op).name, "", ctx.driver().name, x->deadline_ms,
                              cancel != nullptr);
    log_warning(uri() + ": " + res.message);
    if (cancel)
      cancel(ctx.inst, nullptr, x->user);
    x->then(res);
  }

  // A completion: a late one is logged, and a domain handle it brings is released, since
  // whoever waited for it has been answered and went on without it.
  void on_done(uint64_t generation, uint64_t id, driver_result& r) {
    driver_op op{};
    if (st().calls.done(generation, id, r, &op) != pending_calls::outcome::late)
      return;
    if (op == driver_op::open) {
      log_warning(uri() + ": the late 'open' completed (" +
                  (r.ok() ? std::string("ok") : r.message) + ")");
      return opened(r); // the instance serves after all, or the next request retries
    }
    if (op == driver_op::pool_open) {
      // Its caller went on without it: its pools stay unavailable until the daemon
      // restarts, and the instance it opened is closed with the daemon.
      log_warning(uri() + ": the storage driver's late 'open' completed (" +
                  (r.ok() ? std::string("ok") : r.message) +
                  "); its pools stay unavailable until domusd restarts");
      if (r.ok() && r.instance)
        st().seed.pool_driver.host->set_opened(st().seed.pool_plugin->driver, r.instance);
      return;
    }
    log_warning(uri() + ": the late '" + std::string(entry(op).name) + "' completed (" +
                (r.ok() ? std::string("ok") : r.message) +
                ") after its caller was answered");
    auto release = DOMUS_DOMAIN_OP(*st().ctx, release);
    if (r.ok() && r.dom && release)
      release(st().ctx->inst, r.dom);
    // Only a define hands over a new handle; any other call's is the pool's own.
    auto& pctx = ctx_of(op);
    auto release_pool = DOMUS_POOL_OP(pctx, release);
    if (op == driver_op::pool_define && r.ok() && r.pool && release_pool)
      release_pool(pctx.inst, r.pool);
  }

  void reply(const rpc& r, const json& result) {
    gw().reply(r.serial, protocol::encode_reply(r.id, result));
  }
  void reply_error(const rpc& r, errc code, const std::string& message) {
    gw().reply(r.serial, protocol::encode_error(r.id, code, message));
  }

  // -- opening --------------------------------------------------------------------------

  void open() {
    auto& seed = st().seed;
    auto ctx = std::make_shared<instance_context>();
    ctx->uri = seed.uri.normalized();
    ctx->plugin = seed.plugin;
    ctx->gw = seed.gw;
    ctx->host = seed.host;
    ctx->registry = me();
    ctx->files = seed.files;
    ctx->job_wait_ms = seed.job_wait_ms;
    ctx->xml_limits = {seed.limits.max_xml_bytes, seed.limits.max_xml_depth,
                       seed.limits.max_xml_attributes};
    ctx->max_reply_bytes = seed.limits.max_reply_bytes;
    ctx->clock = seed.clock;
    ctx->deadlines = seed.deadlines;
    ctx->etc_dir = seed.etc_dir;
    ctx->status_dir = seed.etc_dir.empty() ? "" : seed.run_dir;
    st().ctx = ctx;
    st().pools->set_users_of(
        [this](const std::string& pool, const driver_volume& v, bool running) {
          return volume_users({pool, v.name, v.path}, running);
        });
    // The driver's <disk type='volume'> find their volumes here (host resolve_volume),
    // from any thread, through the pools' slots.
    seed.host->set_volume_lookup(
        [index = st().pools->registry().index()](
            const std::string& pool, const std::string& volume, driver_volume& out) {
          auto slot = index->find(pool);
          if (!slot || slot->gone() || !slot->defined())
            return int32_t{DOMUS_E_NO_POOL};
          pool_facts f = slot->read();
          if (!f.active())
            return int32_t{DOMUS_E_INVALID_OPERATION};
          const driver_volume* v = f.volume(volume);
          if (!v)
            return int32_t{DOMUS_E_NO_VOLUME};
          out = *v;
          return int32_t{0};
        });
    // And users_of the domains that use a pool, a volume or a network, through the
    // domains' slots.
    seed.host->set_users_lookup(users_lookup());
    if (!seed.pool_plugin || seed.pool_plugin == seed.plugin)
      st().pools->set_context(ctx);
    std::shared_ptr<open_arguments> args;
    try {
      args = open_args_for(ctx->driver(), seed.state_dir, seed.run_dir, seed.cache_dir,
                           seed.settings_file, *seed.host);
    } catch (const protocol::error& e) {
      return fail_open(e.code(), e.what());
    }
    auto open_fn = ctx->driver().open;
    drive(
        driver_op::open,
        [args, open_fn](domus_complete_fn done, void* user) {
          open_fn(&args->abi, done, user);
        },
        [this](driver_result& r) { opened(r); });
  }

  // What a driver's open is handed for this URI: its folders, its settings (read and
  // checked here), its host services. Throws protocol::error.
  std::shared_ptr<open_arguments>
  open_args_for(const domus_driver_v1& driver, const std::string& state_dir,
                const std::string& run_dir, const std::string& cache_dir,
                const std::string& settings_file, host_services& host) {
    auto& seed = st().seed;
    auto args = std::make_shared<open_arguments>();
    args->settings = read_settings(settings_file);
    // A driver built before settings existed would never see them: refused, not ignored.
    if (!args->settings.empty() && driver.abi_minor < 1)
      throw protocol::error(errc::config_error,
                            settings_file + ": the " + driver.name +
                                " driver (plugin ABI 1." +
                                std::to_string(driver.abi_minor) +
                                ") cannot be given settings: they need plugin ABI 1.1");
    args->uri = uri();
    args->scheme = seed.uri.scheme;
    args->path = seed.uri.path;
    args->state_dir = state_dir;
    args->run_dir = run_dir;
    args->log_dir = seed.log_dir;
    args->cache_dir = cache_dir;
    args->settings_file = settings_file;
    args->fill(seed.fresh ? DOMUS_OPEN_FRESH : 0, host.table());
    return args;
  }

  // The pools of this URI are a host-wide storage driver's (libvirt's storage driver
  // serving qemu:///system): its instance is opened beside this one's. When it cannot
  // be opened, the domains serve all the same and pool requests are refused naming why.
  void open_pool_driver(std::vector<driver_result::object> objects) {
    auto& seed = st().seed;
    if (!seed.pool_plugin || seed.pool_plugin == seed.plugin)
      return restore_then_ready(objects);
    auto pctx = std::make_shared<instance_context>(*st().ctx);
    pctx->plugin = seed.pool_plugin;
    pctx->host = seed.pool_driver.host;
    pctx->inst = nullptr;
    pctx->security_model.clear();
    pctx->security_doi.clear();
    st().pool_ctx = pctx;
    st().pools->set_context(pctx);
    const auto& p = seed.pool_driver;
    p.host->set_users_lookup(users_lookup()); // the storage driver's, for these domains
    auto unavailable = [this, objects](const std::string& why) mutable {
      std::string name = st().pool_ctx->driver().name;
      log_error(uri() + ": the " + name + " driver (storage pools) could not open it: " +
                why + "; its storage pools are unavailable, its domains serve");
      st().pools->set_unavailable("the storage pools of " + uri() +
                                  " are unavailable: the " + name +
                                  " driver could not open it (" + why + ")");
      restore_then_ready(objects);
    };
    std::shared_ptr<open_arguments> args;
    try {
      args = open_args_for(pctx->driver(), p.state_dir, p.run_dir, p.cache_dir,
                           p.settings_file, *p.host);
    } catch (const protocol::error& e) {
      return unavailable(e.what());
    }
    auto open_fn = pctx->driver().open;
    drive(
        driver_op::pool_open,
        [args, open_fn](domus_complete_fn done, void* user) {
          open_fn(&args->abi, done, user);
        },
        [this, objects, unavailable](driver_result& r) mutable {
          if (!r.ok() || !r.instance)
            return unavailable(r.message.empty() ? "it failed" : r.message);
          st().pool_ctx->inst = r.instance;
          st().seed.pool_driver.host->set_opened(&st().pool_ctx->driver(), r.instance);
          st().pool_objects = std::move(r.objects);
          restore_then_ready(objects);
        });
  }

  // The open passed its deadline. The driver cannot be asked to cancel it (there is no
  // instance yet), and giving it up would leave whatever it opens late without an owner,
  // or let a second open race it: this actor waits for it, the requests that waited
  // fail, and later ones are refused until it returns (docs/architecture.md).
  void open_late(uint32_t deadline_ms) {
    std::string message =
        "cannot open " + uri() + ": the " + std::string(st().ctx->driver().name) +
        " driver's 'open' did not complete within " + seconds_text(deadline_ms) +
        " (deadline_open_ms in domusd.conf); it is still opening";
    log_warning(message);
    gw().instance_open_late(uri(), message,
                            uri() + " is still opening: the " +
                                std::string(st().ctx->driver().name) +
                                " driver's 'open' passed its deadline and has not "
                                "returned; requests are refused until it does");
  }

  void fail_open(errc code, const std::string& message) {
    log_error("cannot open " + uri() + ": " + message);
    // Nothing of a failed instance stays behind (rmdir leaves a directory that is not
    // empty alone).
    ::rmdir(st().seed.state_dir.c_str());
    ::rmdir(st().seed.run_dir.c_str());
    ::rmdir(st().seed.log_dir.c_str());
    gw().instance_failed(uri(), code, message);
    self_->quit();
  }

  void opened(driver_result& r) {
    if (!r.ok() || !r.instance) {
      auto code = protocol::errc_from_number(r.status).value_or(errc::operation_failed);
      return fail_open(code,
                       r.message.empty() ? "the driver could not open it" : r.message);
    }
    st().ctx->inst = r.instance;
    st().seed.host->set_opened(&st().ctx->driver(), r.instance);
    auto objects = std::move(r.objects);
    auto version_fn = st().ctx->driver().version_info;
    if (!version_fn)
      return open_pool_driver(std::move(objects));
    auto* inst = r.instance;
    drive(
        driver_op::version_info,
        [version_fn, inst](domus_complete_fn done, void* user) {
          version_fn(inst, done, user);
        },
        [this, objects](driver_result& v) mutable {
          if (v.ok() && v.version) {
            st().ctx->security_model = v.version_security_model;
            st().ctx->security_doi = v.version_security_doi;
            st().hypervisor_type = v.version_type;
            st().hypervisor_version = v.version->hypervisor_version;
          }
          open_pool_driver(std::move(objects));
        });
  }

  // A persisted instance opened before: its domains come from the definitions and
  // status files an earlier daemon wrote (instance_restore.cpp), then it is ready.
  void restore_then_ready(std::vector<driver_result::object>& objects) {
    // The pools the driver serving them has now (the instance's own, or the storage
    // driver's), before anything is restored or seeded.
    st().pools->adopt_reported(st().pool_ctx ? st().pool_objects : objects);
    if (!st().ctx->persisted())
      return ready(objects);
    if (st().seed.fresh)
      // A first start: the pool `default`, when a storage driver serves this URI's pools.
      return st().pools->seed_default(st().calls, st().seed.pool_driver.default_pool_dir,
                                      [this, objects]() mutable { ready(objects); });
    auto plan = std::make_shared<restore_plan>(read_persisted(*st().ctx));
    try {
      mark_seeded(st().ctx->etc_dir); // again, in case it was lost
    } catch (const protocol::error& e) {
      return fail_open(e.code(), e.what());
    }
    // The pools first (autostart ones start before autostart domains), then phases 1
    // and 2 (actors/restore_phases.cpp), then phase 3 here.
    bool boot =
        read_small_file(st().ctx->status_dir + "/autostarted") != current_boot_id();
    st().pools->restore(st().calls, boot, [this, plan] {
      // A default pool the first start could not make (its storage driver failed).
      st().pools->seed_default(st().calls, st().seed.pool_driver.default_pool_dir,
                               [this, plan] { restore_domains(plan); });
    });
  }

  void restore_domains(std::shared_ptr<restore_plan> plan) {
    reconnect_then_define(
        *st().ctx, plan,
        [this](driver_op op, driver_call call, std::function<void(driver_result&)> then) {
          drive(op, std::move(call), std::move(then));
        },
        [this, plan] { adopt_restored(plan); });
  }

  // Phase 3: an actor per domain; a domain that could not be reconnected is shut off
  // (reason daemon, event stopped/failed), one the driver refused is left out.
  void adopt_restored(std::shared_ptr<restore_plan> plan) {
    std::vector<route_entry> routes;
    std::vector<std::pair<caf::actor_id, bool>> failed; // and whether it was transient
    std::vector<store::change> stale;                   // status files of shut-off guests
    size_t count = 0;
    for (auto& d : plan->domains) {
      if (!d.define_error.empty()) {
        log_error(uri() + ": domain '" + d.name +
                  "' could not be defined again, skipped: " + d.define_error);
        continue;
      }
      domain_seed seed;
      seed.ctx = st().ctx;
      seed.dom = d.dom;
      seed.persistent_def = d.persistent;
      seed.autostart = d.autostart && d.persistent;
      bool reconnected = d.status && d.reconnect_error.empty() && d.dom;
      if (d.status && !reconnected) {
        log_warning(uri() + ": domain '" + d.name +
                    "' was active but could not be reconnected (" + d.reconnect_error +
                    "); it is shut off");
        stale.push_back(
            {store::change::remove, st().ctx->status_path(d.name), "", false});
      }
      if (reconnected) {
        seed.state = d.status->state;
        seed.live_def = d.live;
        seed.private_data = d.status->private_data;
      } else {
        seed.state = {DOMUS_STATE_SHUTOFF, DOMUS_REASON_DAEMON, -1};
      }
      if (!seed.persistent_def && !seed.live_def) {
        // A transient domain that is gone: only its event remains.
        gw().publish(std::string(protocol::topic_domain_lifecycle),
                     lifecycle_event_body(uri(), gone_summary(d), DOMUS_EVENT_STOPPED,
                                          DOMUS_DETAIL_FAILED));
        continue;
      }
      auto& rec = adopt(seed, true);
      routes.push_back({rec.actor, rec.summary.name, rec.summary.uuid, rec.summary.id});
      if (d.status && !reconnected)
        failed.emplace_back(rec.actor.id(), false);
      ++count;
    }
    st().ctx->files->submit_all(std::move(stale), nullptr);
    for (auto& [id, transient] : failed)
      gw().publish(std::string(protocol::topic_domain_lifecycle),
                   lifecycle_event_body(uri(), st().records[id].summary,
                                        DOMUS_EVENT_STOPPED, DOMUS_DETAIL_FAILED));
    st().open = true;
    log_info(uri() + " is open (driver '" + std::string(st().ctx->driver().name) + "', " +
             std::to_string(count) + " domain(s) restored from " + st().ctx->etc_dir +
             ")");
    gw().instance_ready(uri(), std::move(routes));
    autostart_once_per_boot();
  }

  domain_summary gone_summary(const restored_domain& d) {
    domain_summary s;
    s.name = d.name;
    s.uuid = d.uuid;
    s.state = DOMUS_STATE_SHUTOFF;
    s.reason = DOMUS_REASON_DAEMON;
    return s;
  }

  // Autostart domains start once per host boot, not at every daemon start: the marker
  // holds the kernel's boot id.
  void autostart_once_per_boot() {
    std::string marker = st().ctx->status_dir + "/autostarted";
    std::string boot = current_boot_id();
    if (read_small_file(marker) == boot)
      return;
    for (auto& [id, rec] : st().records) {
      rec.slot->read_facts(rec.summary);
      if (!rec.summary.autostart || protocol::state_is_active(rec.summary.state))
        continue;
      log_info(uri() + ": starting autostart domain '" + rec.summary.name + "'");
      rpc r;
      r.proc = proc::domain_start;
      r.args = json{{"domain", rec.summary.name}};
      self_->send(rec.actor, call_atom::value, std::move(r));
    }
    try {
      store::write_now(marker, boot, false);
    } catch (const protocol::error& e) {
      log_warning(uri() + ": " + e.what());
    }
  }

  void ready(std::vector<driver_result::object>& objects) {
    std::vector<route_entry> routes;
    size_t domains = 0;
    for (auto& o : objects) {
      if (o.kind == DOMUS_OBJECT_NETWORK)
        st().other_objects.push_back(std::move(o));
      if (o.kind != DOMUS_OBJECT_DOMAIN)
        continue;
      model::domain_def def;
      try {
        def = model::parse_domain(o.xml, uri(), model::parse_mode::stored);
        model::normalize(def);
      } catch (const protocol::error& e) {
        log_error(uri() +
                  ": a domain the driver has does not parse, skipped: " + e.what());
        if (auto release = DOMUS_DOMAIN_OP(*st().ctx, release); o.dom && release)
          release(st().ctx->inst, o.dom);
        continue;
      }
      if (st().by_name.count(def.name) || st().by_uuid.count(def.uuid_string())) {
        log_error(uri() + ": the driver has two domains named '" + def.name +
                  "' or with UUID " + def.uuid_string() + "; the second is skipped");
        continue;
      }
      domain_seed seed;
      seed.ctx = st().ctx;
      seed.dom = o.dom;
      auto shared = std::make_shared<const model::domain_def>(std::move(def));
      bool active = protocol::state_is_active(o.state.state);
      seed.persistent_def = (o.persistent || !active) ? compact_def(shared) : nullptr;
      seed.live_def = active ? shared : nullptr;
      seed.autostart = o.autostart;
      seed.state = o.state;
      if (!active)
        seed.state.id = -1;
      seed.private_data = o.private_data;
      auto& rec = adopt(seed, true);
      routes.push_back({rec.actor, rec.summary.name, rec.summary.uuid, rec.summary.id});
      ++domains;
    }
    st().open = true;
    if (st().ctx->persisted()) {
      // The first open of a persisted instance: what the driver starts with is written
      // down before anyone can see it.
      try {
        std::vector<const domain_summary*> all;
        for (auto& [id, rec] : st().records)
          all.push_back(&rec.summary);
        // Its pools before the marker persist_seeded writes last.
        st().ctx->files->commit_all(st().pools->seed_changes());
        persist_seeded(*st().ctx, *st().ctx->files, all);
      } catch (const protocol::error& e) {
        return fail_open(e.code(), e.what());
      }
    }
    log_info(uri() + " is open (driver '" + std::string(st().ctx->driver().name) + "', " +
             std::to_string(domains) + " domain(s))");
    gw().instance_ready(uri(), std::move(routes));
    if (st().ctx->persisted())
      autostart_once_per_boot();
  }

  // Spawns and indexes a domain actor.
  record& adopt(domain_seed seed, bool defined) {
    if (!seed.slot)
      seed.slot = std::make_shared<domain_slot>();
    caf::actor a = spawn_domain_actor(self_, seed);
    self_->monitor(a);
    record rec;
    rec.actor = a;
    rec.slot = seed.slot;
    rec.defined = defined;
    const auto& def = seed.live_def ? *seed.live_def : *seed.persistent_def;
    rec.summary.name = def.name;
    rec.summary.uuid = def.uuid_string();
    rec.summary.id = seed.state.id;
    rec.summary.state = seed.state.state;
    rec.summary.reason = seed.state.reason;
    rec.summary.persistent = seed.persistent_def != nullptr;
    rec.summary.autostart = seed.autostart;
    rec.summary.dom = seed.dom;
    rec.summary.persistent_def = seed.persistent_def;
    rec.summary.live_def = seed.live_def;
    rec.summary.private_data = seed.private_data;
    index(a.id(), rec.summary, rec.slot);
    return st().records[a.id()] = std::move(rec);
  }

  void index(caf::actor_id id, const domain_summary& s,
             const std::shared_ptr<domain_slot>& slot) {
    st().by_name[s.name] = id;
    st().by_uuid[s.uuid] = id;
    st().shared->put(id, s.name, slot);
  }

  void unindex(caf::actor_id id, const domain_summary& s) {
    auto drop = [id](auto& map, const auto& key) {
      auto it = map.find(key);
      if (it != map.end() && it->second == id)
        map.erase(it);
    };
    drop(st().by_name, s.name);
    drop(st().by_uuid, s.uuid);
    // (Not from `shared`: index() replaces an id's entry, so a reader there never sees
    // a domain missing between the two; a domain that goes is dropped where it goes.)
  }

  record* find(const std::unordered_map<std::string, caf::actor_id>& map,
               const std::string& key) {
    auto it = map.find(key);
    if (it == map.end())
      return nullptr;
    auto r = st().records.find(it->second);
    return r == st().records.end() ? nullptr : &r->second;
  }

  // host users_of: the domains of this instance that use a pool, a volume or a network,
  // read from any thread through the domains' and the pools' shared indexes.
  host_services::users_lookup users_lookup() {
    return [domains = st().shared, pools = st().pools->registry().index()](
               int32_t kind, const std::string& name, const std::string* volume,
               bool running) {
      std::vector<std::string> out;
      volume_ref ref{name, volume ? *volume : "", ""};
      if (volume) // the volume's path too, when its pool lists it
        if (auto slot = pools->find(name); slot && !slot->gone() && slot->defined()) {
          pool_facts f = slot->read();
          if (const driver_volume* v = f.volume(*volume))
            ref.path = v->path;
        }
      auto uses = [&](const model::domain_def& def) {
        if (kind == DOMUS_OBJECT_NETWORK)
          return uses_network(def, name);
        return volume ? uses_volume(def, ref) : uses_pool(def, name);
      };
      domains->each([&](const std::string& domain, const domain_summary& s) {
        if ((!running && s.persistent_def && uses(*s.persistent_def)) ||
            (s.live_def && uses(*s.live_def)))
          out.push_back(domain);
      });
      return out;
    };
  }

  // The domains whose persistent or live definition has a disk on `v`, in name order.
  std::vector<std::string> volume_users(const volume_ref& v, bool running) {
    std::vector<std::string> out;
    for (auto& [id, rec] : st().records) {
      domain_summary s = rec.summary; // what the actor announced last, if it did
      rec.slot->read(s);
      if ((!running && s.persistent_def && uses_volume(*s.persistent_def, v)) ||
          (s.live_def && uses_volume(*s.live_def, v)))
        out.push_back(rec.summary.name);
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  // -- requests -------------------------------------------------------------------------

  void handle(rpc& r) {
    switch (r.proc) {
    case proc::connect_open:
      return reply(r, json{{"uri", uri()}, {"driver", st().ctx->driver().name}});
    case proc::connect_version:
      return reply(
          r,
          json{{"daemon", DOMUS_VERSION},
               {"driver", st().ctx->driver().name},
               {"driver_version",
                st().ctx->driver().version ? st().ctx->driver().version : ""},
               {"hypervisor",
                {{"type", st().hypervisor_type}, {"version", st().hypervisor_version}}},
               {"security",
                {{"model", st().ctx->security_model}, {"doi", st().ctx->security_doi}}}});
    case proc::node_info:
      return node_info(r);
    case proc::connect_capabilities:
      return capabilities(r);
    case proc::connect_domain_capabilities:
      return domain_capabilities(r);
    case proc::connect_domain_xml_to_native:
      return to_native(r);
    case proc::domain_list:
      return list(r);
    case proc::domain_define:
    case proc::domain_create:
      return definition(r);
    case proc::pool_list:
    case proc::pool_info:
    case proc::pool_xml:
    case proc::pool_define:
    case proc::pool_create:
    case proc::pool_start:
    case proc::pool_destroy:
    case proc::pool_undefine:
    case proc::pool_build:
    case proc::pool_delete:
    case proc::pool_refresh:
    case proc::pool_autostart:
    case proc::vol_list:
    case proc::vol_info:
    case proc::vol_xml:
    case proc::vol_create:
    case proc::vol_create_from:
    case proc::vol_clone:
    case proc::vol_delete:
    case proc::vol_resize:
    case proc::vol_wipe:
    case proc::vol_upload:
    case proc::vol_download:
    case proc::vol_jobinfo:
    case proc::vol_jobabort:
      return st().pools->handle(r);
    default:
      return reply_error(r, errc::internal,
                         "procedure not handled by the instance actor");
    }
  }

  void node_info(const rpc& r) {
    auto fn = st().ctx->driver().node_info;
    if (!fn)
      return reply_error(r, errc::unsupported,
                         "the " + std::string(st().ctx->driver().name) +
                             " driver has no node information");
    auto* inst = st().ctx->inst;
    drive(
        driver_op::node_info,
        [fn, inst](domus_complete_fn done, void* user) { fn(inst, done, user); },
        [this, r](driver_result& res) {
          if (!res.ok() || !res.node)
            return reply_error(r, errc::operation_failed,
                               res.message.empty() ? "no node information" : res.message);
          auto& n = *res.node;
          reply(r, json{{"cpu_model", res.node_cpu_model},
                        {"memory_kib", n.memory_kib},
                        {"cpus", n.cpus},
                        {"mhz", n.mhz},
                        {"numa_nodes", n.numa_nodes},
                        {"sockets_per_node", n.sockets_per_node},
                        {"cores_per_socket", n.cores_per_socket},
                        {"threads_per_core", n.threads_per_core}});
        });
  }

  void capabilities(const rpc& r) {
    auto& d = st().ctx->driver();
    auto fn = DOMUS_DRIVER_OP(*st().ctx, capabilities);
    if (!fn)
      return reply_error(r, errc::unsupported,
                         "the " + std::string(d.name) +
                             " driver does not report the host's capabilities");
    auto* inst = st().ctx->inst;
    drive(
        driver_op::capabilities,
        [fn, inst](domus_complete_fn done, void* user) { fn(inst, done, user); },
        [this, r](driver_result& res) { reply_xml(r, res, "capabilities"); });
  }

  // virsh domcapabilities' four questions, each a string when given.
  void domain_capabilities(const rpc& r) {
    auto& d = st().ctx->driver();
    auto fn = DOMUS_DRIVER_OP(*st().ctx, domain_capabilities);
    if (!fn)
      return reply_error(r, errc::unsupported,
                         "the " + std::string(d.name) +
                             " driver does not report domain capabilities");
    struct query_strings {
      std::optional<std::string> emulator, arch, machine, virttype;
    };
    auto q = std::make_shared<query_strings>(query_strings{
        optional_string(r.args, "emulator"), optional_string(r.args, "arch"),
        optional_string(r.args, "machine"), optional_string(r.args, "virttype")});
    auto* inst = st().ctx->inst;
    drive(
        driver_op::domain_capabilities,
        [fn, inst, q](domus_complete_fn done, void* user) {
          auto c = [](const std::optional<std::string>& s) {
            return s ? s->c_str() : nullptr;
          };
          domus_domcaps_query_v1 query{sizeof query, c(q->emulator), c(q->arch),
                                       c(q->machine), c(q->virttype)};
          fn(inst, &query, done, user);
        },
        [this, r](driver_result& res) { reply_xml(r, res, "domain capabilities"); });
  }

  // virsh domxml-to-native: the driver's own configuration for a definition, which
  // changes nothing (the definition need not be defined).
  void to_native(const rpc& r) {
    auto& d = st().ctx->driver();
    auto fn = DOMUS_DOMAIN_OP(*st().ctx, to_native);
    if (!fn)
      return reply_error(r, errc::unsupported,
                         "the " + std::string(d.name) +
                             " driver has no native configuration format");
    auto format = std::make_shared<std::string>(required_string(r.args, "format"));
    // Read as a define reads it (within the limits, errors naming the line), so that
    // the driver gets Domus's own form of it.
    model::domain_def def = read_definition(r, st().seed.limits);
    model::normalize(def);
    auto xml =
        std::make_shared<std::string>(model::format_domain(def, model::secrets::keep));
    auto* inst = st().ctx->inst;
    drive(
        driver_op::to_native,
        [fn, inst, format, xml](domus_complete_fn done, void* user) {
          fn(inst, format->c_str(), xml->c_str(), done, user);
        },
        [this, r](driver_result& res) {
          if (!res.ok())
            return reply_error(
                r,
                protocol::errc_from_number(res.status).value_or(errc::operation_failed),
                res.message.empty() ? "the driver converted nothing" : res.message);
          reply(r, json{{"native", res.xml.value_or("")}});
        });
  }

  // A result whose answer is an XML document: {xml}, or the driver's error.
  void reply_xml(const rpc& r, driver_result& res, const std::string& what) {
    if (!res.ok())
      return reply_error(
          r, protocol::errc_from_number(res.status).value_or(errc::operation_failed),
          res.message.empty() ? "the driver reported no " + what : res.message);
    if (!res.xml)
      return reply_error(r, errc::operation_failed,
                         "the " + std::string(st().ctx->driver().name) +
                             " driver returned no " + what);
    reply(r, json{{"xml", *res.xml}});
  }

  // As virsh lists: active domains by id, then inactive ones by name, ignoring case.
  // A page stops before max_reply_bytes; its `next` is a cursor (the last domain it
  // holds) to pass as `after` for the rest. Each page selects its rows before it sorts
  // them, so that paging through 100,000 domains does not sort them all every time.
  void list(const rpc& r) {
    bool want_active = optional_bool(r.args, "active", true);
    bool want_inactive = optional_bool(r.args, "inactive", true);
    auto after = optional_string(r.args, "after");
    std::optional<int32_t> after_id;
    std::optional<std::pair<std::string, std::string>> after_name;
    if (after) {
      if (after->rfind("a:", 0) == 0 && after->size() > 2 &&
          after->find_first_not_of("0123456789", 2) == std::string::npos &&
          after->size() < 12)
        after_id = static_cast<int32_t>(std::stoll(after->substr(2)));
      else if (after->rfind("i:", 0) == 0)
        after_name = std::pair{lower(after->substr(2)), after->substr(2)};
      else
        throw protocol::error(errc::bad_request,
                              "domain.list: \"after\" must be a cursor from the \"next\" "
                              "of an earlier page");
    }
    using keyed = std::pair<std::pair<std::string, std::string>, const domain_summary*>;
    std::vector<const domain_summary*> act;
    std::vector<keyed> inact;
    for (auto& [_, rec] : st().records) {
      if (!rec.defined)
        continue;
      rec.slot->read_facts(rec.summary); // its actor publishes changes there
      const domain_summary& sm = rec.summary;
      if (protocol::state_is_active(sm.state)) {
        if (want_active && !after_name && (!after_id || sm.id > *after_id))
          act.push_back(&sm);
      } else if (want_inactive) {
        std::pair<std::string, std::string> key{lower(sm.name), sm.name};
        if (!after_name || key > *after_name)
          inact.emplace_back(std::move(key), &sm);
      }
    }
    // At most this many rows fit a page (a row is at least 100 bytes).
    uint64_t budget = page_budget(st().seed.limits.max_reply_bytes);
    size_t fit = static_cast<size_t>(budget / 100) + 1;
    auto by_id = [](auto* a, auto* b) { return a->id < b->id; };
    auto by_name = [](const keyed& a, const keyed& b) { return a.first < b.first; };
    size_t candidates = act.size() + inact.size();
    select_first(act, fit, by_id);
    select_first(inact, fit > act.size() ? fit - act.size() : 0, by_name);
    paged_list page("domains", budget);
    auto add = [&](const domain_summary& sm, const std::string& cursor) {
      return page.add([&](std::string& out) { append_summary_json(out, sm); }, cursor);
    };
    bool room = true;
    for (size_t i = 0; room && i < act.size(); ++i)
      room = add(*act[i], "a:" + std::to_string(act[i]->id));
    for (size_t i = 0; room && i < inact.size(); ++i)
      room = add(*inact[i].second, "i:" + inact[i].second->name);
    bool more = page.rows() < candidates;
    gw().reply(r.serial, protocol::encode_reply_text(r.id, page.finish(more)));
  }

  // Keeps the `n` first elements of `v` by `less`, sorted (n log n, not v's size).
  template <class T, class Less>
  static void select_first(std::vector<T>& v, size_t n, Less less) {
    if (v.size() > n) {
      std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(n), v.end(),
                       less);
      v.resize(n);
    }
    std::sort(v.begin(), v.end(), less);
  }

  // A definition from a request: parsed within the limits, and refused when Domus
  // would store (format) it larger than twice max_xml_bytes (deeply nested elements grow
  // by their indentation: 683 KiB became 50 MiB; what a compact document gains from
  // being indented stays well within twice).
  static model::domain_def read_definition(const rpc& r, const daemon_limits& l) {
    std::string xml = required_string(r.args, "xml");
    std::string origin = optional_string(r.args, "origin").value_or("<request>");
    auto mode = optional_bool(r.args, "validate", false) ? model::parse_mode::strict
                                                         : model::parse_mode::input;
    model::domain_def def = model::parse_domain(
        xml, origin, mode, {l.max_xml_bytes, l.max_xml_depth, l.max_xml_attributes});
    if (uint64_t size = model::formatted_size(def); size > 2 * l.max_xml_bytes)
      throw protocol::error(errc::message_too_large,
                            origin + ": the definition would be " + std::to_string(size) +
                                " bytes as Domus stores it (formatted), above twice "
                                "max_xml_bytes (2 x " +
                                std::to_string(l.max_xml_bytes) + ")");
    return def;
  }

  // Definitions this large are read on a thread of their own, one at a time, so that a
  // large define never holds up the instance's lists and small defines.
  static constexpr size_t large_definition_bytes = 64 * 1024;

  void definition(rpc& r) {
    auto xml = r.args.find("xml");
    if (xml == r.args.end() || !xml->is_string() ||
        xml->get_ref<const std::string&>().size() < large_definition_bytes)
      return place(r, read_definition(r, st().seed.limits));
    st().large.push_back(std::move(r));
    read_next_large();
  }

  void read_next_large() {
    if (st().reading_large || st().large.empty())
      return;
    st().reading_large = true;
    rpc r = std::move(st().large.front());
    st().large.pop_front();
    daemon_limits limits = st().seed.limits;
    caf::actor parent = me();
    self_->spawn<caf::detached>(
        [r = std::move(r), limits, parent](caf::event_based_actor* helper) mutable {
          parsed_definition out;
          try {
            out.def = std::make_shared<model::domain_def>(read_definition(r, limits));
          } catch (const protocol::error& e) {
            out.code = e.code();
            out.message = e.what();
          } catch (const std::exception& e) {
            out.message = e.what();
          }
          out.request = std::move(r);
          helper->send(parent, parsed_atom::value, std::move(out));
          helper->quit();
        });
  }

  void on_parsed(parsed_definition& p) {
    st().reading_large = false;
    try {
      if (!p.def)
        reply_error(p.request, p.code, p.message);
      else
        place(p.request, std::move(*p.def));
    } catch (const protocol::error& e) {
      reply_error(p.request, e.code(), e.what());
    }
    read_next_large();
  }

  // A definition read: checked against the registry, then handed to its domain actor
  // (a new one, or the one of the same name and UUID, which replaces its definition).
  void place(rpc& r, model::domain_def def) {
    bool create = r.proc == proc::domain_create;
    if (record* same = find(st().by_name, def.name)) {
      same->slot->read_facts(same->summary);
      if (!same->defined)
        return reply_error(r, errc::busy,
                           "domain '" + def.name +
                               "' is being defined by another request");
      if (def.uuid && def.uuid_string() != same->summary.uuid)
        return reply_error(r, errc::domain_exists,
                           "domain '" + def.name + "' already exists with UUID " +
                               same->summary.uuid + " (the definition has " +
                               def.uuid_string() + ")");
      def.uuid = model::parse_uuid(same->summary.uuid);
      if (create) {
        bool active = protocol::state_is_active(same->summary.state);
        return reply_error(r, errc::invalid_operation,
                           active ? "domain '" + def.name + "' is already active"
                                  : "domain '" + def.name +
                                        "' is already defined; start it instead");
      }
      model::normalize(def);
      gw().retarget(r.serial, same->actor.id());
      self_->send(same->actor, redefine_atom::value,
                  definition_job{std::move(r), std::make_shared<const model::domain_def>(
                                                   std::move(def))});
      return;
    }
    if (def.uuid) {
      if (record* other = find(st().by_uuid, def.uuid_string()))
        return reply_error(r, errc::domain_exists,
                           "UUID " + def.uuid_string() + " is already used by domain '" +
                               other->summary.name + "'");
    }
    model::normalize(def);
    domain_seed seed;
    seed.ctx = st().ctx;
    auto shared = std::make_shared<const model::domain_def>(std::move(def));
    if (create)
      seed.live_def = shared;
    else
      seed.persistent_def = shared;
    record& rec = adopt(seed, false);
    gw().retarget(r.serial, rec.actor.id());
    self_->send(rec.actor, adopt_atom::value, definition_job{std::move(r), shared});
  }

  // -- what domain actors report -----------------------------------------------------

  void on_summary(caf::actor_id id, domain_summary& s) {
    auto it = st().records.find(id);
    if (it == st().records.end())
      return;
    unindex(id, it->second.summary);
    it->second.summary = std::move(s);
    it->second.defined = true;
    index(id, it->second.summary, it->second.slot);
    // From now on the slot holds the definitions and driver data (read on a restart):
    // no second reference keeps an old definition alive.
    it->second.summary.persistent_def.reset();
    it->second.summary.live_def.reset();
    it->second.summary.private_data.clear();
  }

  void on_removed(caf::actor_id id) {
    auto it = st().records.find(id);
    if (it == st().records.end())
      return;
    unindex(id, it->second.summary);
    st().shared->drop(id);
    st().records.erase(it);
  }

  // -- supervision ----------------------------------------------------------------------

  void on_down(const caf::down_msg& dm) {
    caf::actor_id id = dm.source.id();
    auto it = st().records.find(id);
    if (it == st().records.end()) {
      // A pool's actor gone, however, ends its read of the volumes if one was out.
      st().pools->volumes_read(id);
      // (A pool's actor that quit normally was stopped: it is gone from the registry.)
      if (!st().stopping && dm.reason && st().pools->on_down(id, reason_text(dm.reason)))
        return;
      // Removed on purpose (undefined, or a transient domain that stopped).
      gw().actor_gone(uri(), id, errc::no_domain, "the domain no longer exists");
      return;
    }
    if (st().stopping)
      return;
    record rec = std::move(it->second);
    st().records.erase(it);
    unindex(id, rec.summary);
    rec.slot->read(rec.summary); // the last state it announced seeds its replacement
    std::string reason = reason_text(dm.reason);
    auto now = clock_type::now();
    rec.restarts.push_back(now);
    while (!rec.restarts.empty() &&
           now - rec.restarts.front() > std::chrono::seconds(st().policy.window_seconds))
      rec.restarts.pop_front();
    std::string failure = "the actor of domain '" + rec.summary.name + "' failed (" +
                          reason + "); the request was not completed";
    if (!rec.defined || !rec.summary.dom) {
      // It never got defined: nothing to restart.
      st().shared->drop(id);
      gw().actor_gone(uri(), id, errc::internal, failure);
      return;
    }
    domain_seed seed;
    seed.ctx = st().ctx;
    seed.slot = rec.slot;
    seed.dom = rec.summary.dom;
    seed.persistent_def = rec.summary.persistent_def;
    seed.live_def = rec.summary.live_def;
    seed.autostart = rec.summary.autostart;
    seed.state = {rec.summary.state, rec.summary.reason, rec.summary.id};
    seed.private_data = rec.summary.private_data;
    seed.resync = true;
    if (rec.restarts.size() > st().policy.max_restarts) {
      seed.failed =
          "domain '" + rec.summary.name + "' is marked in error: its actor failed " +
          std::to_string(rec.restarts.size()) + " times within " +
          std::to_string(st().policy.window_seconds) + " s (last: " + reason + ")";
      log_error(uri() + ": " + seed.failed);
      gw().publish(std::string(protocol::topic_domain_error),
                   error_event_body(uri(), rec.summary, seed.failed));
    } else {
      log_warning(uri() + ": the actor of domain '" + rec.summary.name + "' failed (" +
                  reason + "); restarted and resynced from the driver (" +
                  std::to_string(rec.restarts.size()) + " in the last " +
                  std::to_string(st().policy.window_seconds) + " s)");
    }
    record& fresh = adopt(seed, rec.defined);
    st().shared->drop(id); // only now: the replacement is in the index already
    fresh.restarts = std::move(rec.restarts);
    // The new actor takes the routes before the requests of the old one are failed.
    gw().actor_replaced(
        uri(), id,
        {fresh.actor, fresh.summary.name, fresh.summary.uuid, fresh.summary.id},
        errc::internal, failure + "; it was restarted");
  }

  caf::behavior make_behavior() {
    self_->set_down_handler([this](caf::down_msg& dm) { on_down(dm); });
    self_->set_exit_handler([this](caf::exit_msg& em) {
      // A linked domain actor that died: the down handler restarts it.
      if (em.source != self_->address())
        return;
      // Shutdown (anon_send_exit names the receiver as the source): the linked domain
      // actors go with the instance.
      st().stopping = true;
      self_->quit(em.reason);
    });
    return {
        [this](call_atom, rpc& r) {
          try {
            handle(r);
          } catch (const protocol::error& e) {
            reply_error(r, e.code(), e.what());
          }
        },
        // The daemon starts to stop: its domains abort their long-running jobs, which
        // would otherwise hold the stop for shutdown_timeout_ms and be cut off then.
        [this](stopping_atom) {
          for (auto& [id, rec] : st().records)
            self_->send(rec.actor, stopping_atom::value);
        },
        [this](volumes_atom, caf::actor_id pool) { st().pools->volumes_read(pool); },
        [this](done_atom, uint64_t generation, uint64_t id, driver_result& r) {
          on_done(generation, id, r);
        },
        [this](deadline_atom, uint64_t generation, uint64_t id) {
          on_deadline(generation, id);
        },
        [this](summary_atom, domain_summary& s) {
          on_summary(self_->current_sender()->id(), s);
        },
        [this](removed_atom, caf::actor_id id) { on_removed(id); },
        [this](removed_atom, std::string& pool) { st().pools->on_removed(pool); },
        [this](parsed_atom, parsed_definition& p) { on_parsed(p); },
    };
  }

private:
  instance_actor* self_;
};

caf::behavior instance_behavior(instance_actor* self, instance_seed seed) {
  self->state.seed = std::move(seed);
  self->set_exception_handler(
      [](std::exception_ptr& ep) { return failure_reason("instance actor", ep); });
  self->state.calls.set_self(caf::actor_cast<caf::actor>(self));
  self->state.calls.set_deadlines(self->state.seed.clock, &self->state.seed.deadlines);
  self->state.pools = std::make_unique<instance_pools>(self, self->state.seed.pool_plugin,
                                                       self->state.seed.uri.scheme);
  self->state.logic = std::make_shared<instance_logic>(self);
  auto* logic = self->state.logic.get();
  auto b = logic->make_behavior();
  logic->open();
  return b;
}

} // namespace

caf::actor spawn_instance_actor(caf::actor_system& sys, instance_seed seed) {
  return sys.spawn(instance_behavior, std::move(seed));
}

} // namespace domus::runtime
