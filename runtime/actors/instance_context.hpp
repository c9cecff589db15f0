// What every actor of one driver instance shares: the driver, its instance handle, the
// gateway and host services, and facts read once at open. Immutable once it is open.
#pragma once

#include "daemon/deadlines.hpp"
#include "drivers/abi_fields.hpp"
#include "drivers/plugin_loader.hpp"
#include "persist/instance_paths.hpp"

#include <domus/model/xml_tree.hpp>

#include <caf/actor.hpp>

#include <cstddef>
#include <string>

namespace domus::runtime {

class deadline_clock;
class gateway;
class host_services;
class store;

struct instance_context : instance_paths {
  std::string uri; ///< normalized, e.g. "test:///default"
  const loaded_driver* plugin = nullptr;
  domus_instance* inst = nullptr;
  gateway* gw = nullptr;
  host_services* host = nullptr;
  caf::actor registry;        ///< the instance actor
  std::string security_model; ///< from version_info, "" for none
  std::string security_doi;
  store* files = nullptr;              ///< the daemon's store
  uint32_t job_wait_ms = 30000;        ///< how long a change waits for the one running
  deadline_clock* clock = nullptr;     ///< the daemon's; where call deadlines are armed
  call_deadlines deadlines;            ///< how long each driver call may take
  model::xml_limits xml_limits;        ///< what a client's XML may be (domusd.conf)
  uint64_t max_reply_bytes = 4u << 20; ///< a list's page stops before it (domusd.conf)

  const domus_driver_v1& driver() const { return *plugin->driver; }

  /// Whether the driver's domain table has the slot ending at `end` (a NULL table, or
  /// one from an older minor version without the slot, has not).
  bool has_domain_slot(size_t end) const { return reaches(plugin->driver->domain, end); }
};

/// The slot `name` of the instance's driver struct (a 1.1 one: capabilities), or
/// nullptr when the driver's struct is too old to have it: DOMUS_DRIVER_OP(ctx, ...).
#define DOMUS_DRIVER_OP(ctx, name)                                                       \
  (::domus::runtime::reaches(&(ctx).driver(), DOMUS_FIELD_END(domus_driver_v1, name))    \
       ? (ctx).driver().name                                                             \
       : nullptr)

/// The domain operation `name` of the instance's driver, or nullptr when it has none:
/// DOMUS_DOMAIN_OP(ctx, start).
#define DOMUS_DOMAIN_OP(ctx, name)                                                       \
  ((ctx).has_domain_slot(DOMUS_FIELD_END(domus_domain_ops_v1, name))                     \
       ? (ctx).plugin->driver->domain->name                                              \
       : nullptr)

} // namespace domus::runtime
