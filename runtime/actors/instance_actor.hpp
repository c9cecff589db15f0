// The instance actor: one per driver instance (normalized URI). It opens the driver,
// keeps the registry of its domains (names, UUIDs, ids, handles -> actors), answers
// instance-wide requests (list, define, create, node info, version), and supervises the
// domain actors: one that dies is restarted and resynced from the driver.
#pragma once

#include "daemon/deadlines.hpp"
#include "daemon/limits.hpp"
#include "drivers/plugin_loader.hpp"

#include <domus/protocol/uri.hpp>

#include <caf/fwd.hpp>

#include <string>

namespace domus::runtime {

class deadline_clock;
class gateway;
class host_services;
class store;

/// A host-wide storage driver's instance for one URI: the instance actor opens it beside
/// its own driver's when the pools of its scheme are another driver's (libvirt's storage
/// driver serving qemu:///system).
struct pool_driver_seed {
  host_services* host = nullptr; ///< its own; lives as long as the daemon
  std::string state_dir;         ///< var/lib/domus/<instance>/<driver>.driver
  std::string run_dir;           ///< run/domus/<instance>/<driver>.driver
  std::string cache_dir;         ///< var/cache/domus/<driver>
  std::string settings_file;     ///< etc/domus/<driver>.conf
  /// Where the pool `default` goes when a persisted instance starts the first time ("":
  /// none): var/lib/domus/images for /system, as libvirt's /var/lib/libvirt/images.
  std::string default_pool_dir;
};

/// What an instance actor starts from.
struct instance_seed {
  protocol::uri uri;
  const loaded_driver* plugin = nullptr;
  /// The driver serving the scheme's storage pools (driver_table::find(scheme, POOL)),
  /// or nullptr: the same as `plugin` (the test driver's own pools), or a host-wide one.
  const loaded_driver* pool_plugin = nullptr;
  pool_driver_seed pool_driver; ///< when pool_plugin is another driver than `plugin`
  gateway* gw = nullptr;
  host_services* host = nullptr; ///< lives as long as the daemon
  std::string state_dir;         ///< var/lib/domus/<instance>
  std::string run_dir;           ///< run/domus/<instance>
  std::string log_dir;           ///< var/log/domus/<instance>
  std::string cache_dir;         ///< var/cache/domus/<driver>
  std::string settings_file;     ///< etc/domus/<driver>.conf (absent: no settings)
  bool fresh = true;             ///< the daemon has no state for this instance
  /// Where definitions go (etc/domus/<instance>); "" for an instance never persisted
  /// (a node file's). Status files then go to run_dir.
  std::string etc_dir;
  store* files = nullptr;          ///< the daemon's store; lives as long as the daemon
  uint32_t job_wait_ms = 30000;    ///< how long a change waits for the one running
  deadline_clock* clock = nullptr; ///< the daemon's; lives as long as the daemon
  call_deadlines deadlines;        ///< how long each driver call may take
  daemon_limits limits;            ///< what a client's request may ask (list pages, XML)
};

/// Spawns an instance actor; it opens the driver at once and tells the gateway when it
/// is ready (or failed).
caf::actor spawn_instance_actor(caf::actor_system& sys, instance_seed seed);

/// Settings of supervision.
struct supervision_policy {
  size_t max_restarts = 5; ///< within window_seconds; more marks the domain in error
  int window_seconds = 60;
};

} // namespace domus::runtime
