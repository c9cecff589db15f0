// What every actor of one driver instance shares: the driver, its instance handle, the
// gateway, and facts read once at open. Immutable once the instance is open.
#pragma once

#include "plugin_loader.hpp"

#include <caf/actor.hpp>

#include <string>

namespace domus::runtime {

class gateway;

struct instance_context {
  std::string uri; ///< normalized, e.g. "test:///default"
  const loaded_driver* plugin = nullptr;
  domus_instance* inst = nullptr;
  gateway* gw = nullptr;
  caf::actor registry;        ///< the instance actor
  std::string security_model; ///< from version_info, "" for none
  std::string security_doi;

  const domus_driver_v1& driver() const { return *plugin->driver; }
  /// The domain operations table; never null once the instance is open.
  const domus_domain_ops_v1* ops() const { return plugin->driver->domain; }
};

} // namespace domus::runtime
