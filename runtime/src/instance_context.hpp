// What every actor of one driver instance shares: the driver, its instance handle, the
// gateway and host services, and facts read once at open. Immutable once it is open.
#pragma once

#include "plugin_loader.hpp"

#include <caf/actor.hpp>

#include <cstddef>
#include <string>

namespace domus::runtime {

class gateway;
class host_services;
class store;

struct instance_context {
  std::string uri; ///< normalized, e.g. "test:///default"
  const loaded_driver* plugin = nullptr;
  domus_instance* inst = nullptr;
  gateway* gw = nullptr;
  host_services* host = nullptr;
  caf::actor registry;        ///< the instance actor
  std::string security_model; ///< from version_info, "" for none
  std::string security_doi;
  store* files = nullptr;     ///< the daemon's store
  uint32_t job_wait_ms = 30000; ///< how long a change waits for the one running
  std::string etc_dir;        ///< definitions, "<etc_dir>/<name>.xml"; "": not persisted
  std::string status_dir;     ///< status of active domains; "" when not persisted

  bool persisted() const { return !etc_dir.empty(); }
  std::string definition_path(const std::string& name) const {
    return etc_dir + "/" + name + ".xml";
  }
  std::string autostart_path(const std::string& name) const {
    return etc_dir + "/autostart/" + name + ".xml";
  }
  std::string status_path(const std::string& name) const {
    return status_dir + "/" + name + ".xml";
  }

  const domus_driver_v1& driver() const { return *plugin->driver; }

  /// Whether the driver's domain table has the slot ending at `end` (a NULL table, or
  /// one from an older minor version without the slot, has not).
  bool has_domain_slot(size_t end) const {
    const domus_domain_ops_v1* t = plugin->driver->domain;
    return t && t->struct_size >= end;
  }
};

/// The domain operation `name` of the instance's driver, or nullptr when it has none:
/// DOMUS_DOMAIN_OP(ctx, start).
#define DOMUS_DOMAIN_OP(ctx, name)                                                       \
  ((ctx).has_domain_slot(offsetof(domus_domain_ops_v1, name) + sizeof(void*))            \
       ? (ctx).plugin->driver->domain->name                                              \
       : nullptr)

} // namespace domus::runtime
