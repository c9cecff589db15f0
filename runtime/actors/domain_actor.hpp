// The domain actor: one per domain. It owns the domain's definitions, state and job
// queue: mutating operations run one at a time, queries are answered at once.
#pragma once

#include "actors/domain_slot.hpp"
#include "actors/instance_context.hpp"

#include <domus/model/domain_def.hpp>

#include <caf/fwd.hpp>

#include <memory>
#include <string>

namespace domus::runtime {

/// Everything a domain actor starts from; also what the supervisor restarts it with.
struct domain_seed {
  std::shared_ptr<const instance_context> ctx;
  std::shared_ptr<domain_slot> slot; ///< the same for every incarnation of the domain
  domus_dom* dom = nullptr; ///< the driver's handle; null for a domain being defined
  std::shared_ptr<const model::domain_def> persistent_def; ///< null: transient
  std::shared_ptr<const model::domain_def> live_def;       ///< null: inactive
  bool autostart = false;
  domus_dom_state_v1 state{DOMUS_STATE_SHUTOFF, DOMUS_REASON_UNKNOWN, -1};
  std::string private_data;
  bool resync = false; ///< ask the driver for the state first (after a restart)
  std::string failed;  ///< non-empty: supervision gave up; only queries are answered
};

/// A persistent definition as a domain holds it: compacted (model::compacted), since
/// it only changes by replacement.
inline std::shared_ptr<const model::domain_def>
compact_def(std::shared_ptr<const model::domain_def> def) {
  if (!def || def->compact())
    return def;
  return std::make_shared<const model::domain_def>(model::compacted(*def));
}

/// Spawns a domain actor linked to `parent` (the instance actor, which also monitors it):
/// a domain actor goes down with its instance.
caf::actor spawn_domain_actor(caf::local_actor* parent, domain_seed seed);

} // namespace domus::runtime
