// The storage pools side of an instance actor: the pools its driver reports when it
// opens, those an earlier daemon left on disk (defined and started again before the
// domains come back), the answers to the pool queries, and the hand-off of every pool
// change to the pool's actor (a new pool's actor is spawned for its define or create).
// Runs on the instance actor, which owns one.
#pragma once

#include "actors/instance_context.hpp"
#include "actors/pool_registry.hpp"
#include "drivers/driver_result.hpp"
#include "gateway/rpc.hpp"
#include "persist/pool_files.hpp"
#include "persist/store.hpp"

#include <caf/fwd.hpp>

#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

namespace domus::runtime {

class pending_calls;

class instance_pools {
public:
  /// `pool_plugin`: the driver serving the scheme's pools (nullptr: none): the
  /// instance's own, or a host-wide storage driver whose instance for this URI the
  /// instance actor opens.
  instance_pools(caf::event_based_actor* self, const loaded_driver* pool_plugin,
                 std::string scheme);

  /// The context of the driver serving the pools: the instance's own, or the storage
  /// driver's instance for this URI. Set before any other call.
  void set_context(std::shared_ptr<instance_context> ctx) { ctx_ = std::move(ctx); }

  /// The names of the domains of the instance whose definitions (persistent or live;
  /// with `running`, live only) have a disk on a volume: its pool's name and the volume.
  using users_fn = std::function<std::vector<std::string>(
      const std::string&, const driver_volume&, bool running)>;
  /// How to find them: a volume a domain uses is never deleted or wiped.
  void set_users_of(users_fn fn) { users_of_ = std::move(fn); }

  /// The storage driver could not open this URI: every pool request is refused with
  /// `why`, and the pools on disk are left alone.
  void set_unavailable(std::string why) { unavailable_ = std::move(why); }

  /// A persisted instance with a storage driver of its own (`dir` not ""), until it has
  /// one: the pool `default`, a directory at `dir` (libvirt's /var/lib/libvirt/images),
  /// is defined, built, started, marked autostart and saved, unless a pool of that name
  /// exists; once made (or found), the marker `.default-pool` keeps it from being made
  /// again. A step that fails is logged and the instance opens without it; `then` runs
  /// after.
  void seed_default(pending_calls& calls, const std::string& dir,
                    std::function<void()> then);

  /// Takes the pools among the objects the driver reported at open (kind POOL): each
  /// gets its actor. One that does not parse, or repeats another's name or UUID, is
  /// logged and skipped. The volumes of the active ones are read (the runtime's own
  /// refresh); until each read has ended, volume requests wait (no request sees an
  /// active pool without its volumes), while the domains and pool queries go on.
  void adopt_reported(std::vector<driver_result::object>& objects);
  /// The pool actor `id`'s own refresh, started by adopt_reported, ended (volumes_atom),
  /// or the actor went down first.
  void volumes_read(caf::actor_id id);

  /// The pools of a persisted instance as an earlier daemon left them: each is defined
  /// again, and started again when it was active, or when it is autostart and this is
  /// the host's first start of the instance since boot (`boot`); `then` runs once all
  /// are done. One the driver refuses is logged and left out.
  void restore(pending_calls& calls, bool boot, std::function<void()> then);

  /// Handles a pool procedure: a reply, or a hand-off to the pool's actor. Throws
  /// protocol::error for a request refused at once.
  void handle(const rpc& r);

  /// The pool actor of `name` reports it gone: it is dropped and the actor stopped.
  void on_removed(const std::string& name);

  /// An actor went down: when it was a pool's (and the pool is not gone), a new actor
  /// takes the pool over from its slot, and true. The request it was running is lost.
  bool on_down(caf::actor_id id, const std::string& reason);

  /// What a fresh persisted instance writes of the pools it starts with: their
  /// definitions, autostart links and the status of the active ones.
  std::vector<store::change> seed_changes() const;

  pool_registry& registry() { return pools_; }

private:
  /// A pool and its facts as read once.
  struct pool_view {
    const pool_registry::entry* entry = nullptr;
    pool_facts facts;
  };
  /// A volume and the pool that has it.
  struct volume_view {
    pool_view pool;
    driver_volume vol;
  };
  pool_view active_pool(const std::string& name, protocol::proc op);
  volume_view find_volume(const protocol::json& args, protocol::proc op);
  void volume_query(const rpc& r);
  void volume_definition(const rpc& r);
  void volume_change(const rpc& r);
  void volume_job(const rpc& r);
  void check_served() const;
  void query(const rpc& r);
  void definition(const rpc& r);
  void change(const rpc& r);
  std::shared_ptr<pool_slot> adopt(const model::pool_def& def, pool_facts f,
                                   bool defined);
  void stop(std::vector<caf::actor>& gone);
  /// Releases the handle of a pool whose define or start the runtime gave up on, unless
  /// the call is past its deadline and may still run in the driver.
  void release_failed(domus_pool* handle, const driver_result& failed);
  void restore_one(pending_calls& calls, persisted_pool p, bool boot,
                   std::function<void()> done);

  caf::event_based_actor* self_;
  const loaded_driver* pool_plugin_;
  std::string scheme_;
  std::shared_ptr<instance_context> ctx_;
  std::string unavailable_; ///< why no pool request is served ("": they are)
  users_fn users_of_;
  pool_registry pools_;
  std::set<caf::actor_id> unread_; ///< adopted pools whose volumes are being read
  std::vector<rpc> waiting_;       ///< volume requests that came meanwhile
};

} // namespace domus::runtime
