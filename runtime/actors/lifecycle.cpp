#include "actors/lifecycle.hpp"

#include <domus/driver_v1.h>
#include <domus/protocol/vocabulary.hpp>

#include <iterator>

namespace domus::runtime {
namespace {

constexpr unsigned bit(int s) {
  return 1u << s;
}

constexpr unsigned inactive = bit(DOMUS_STATE_SHUTOFF);
constexpr unsigned active = bit(DOMUS_STATE_RUNNING) | bit(DOMUS_STATE_BLOCKED) |
                            bit(DOMUS_STATE_PAUSED) | bit(DOMUS_STATE_SHUTDOWN) |
                            bit(DOMUS_STATE_CRASHED) | bit(DOMUS_STATE_PMSUSPENDED);

using protocol::proc;

const lifecycle_rule rules[] = {
    {proc::domain_start, "start", inactive, "a shut off domain"},
    {proc::domain_shutdown, "shut down", active & ~bit(DOMUS_STATE_CRASHED),
     "an active domain"},
    {proc::domain_reboot, "reboot", active & ~bit(DOMUS_STATE_CRASHED),
     "an active domain"},
    {proc::domain_destroy, "destroy", active, "an active domain"},
    {proc::domain_suspend, "suspend", bit(DOMUS_STATE_RUNNING) | bit(DOMUS_STATE_BLOCKED),
     "a running domain"},
    {proc::domain_resume, "resume", bit(DOMUS_STATE_PAUSED), "a paused domain"},
    // A crashed guest kept for analysis (on_crash preserve) is what a dump is for.
    {proc::domain_dump, "dump", active, "an active domain"},
};

} // namespace

const lifecycle_rule* find_rule(protocol::proc op) {
  for (auto& r : rules)
    if (r.op == op)
      return &r;
  return nullptr;
}

std::optional<std::string> check_transition(protocol::proc op, int state,
                                            const std::string& domain_name) {
  const lifecycle_rule* r = find_rule(op);
  if (!r || (r->allowed_states & bit(state)))
    return std::nullopt;
  const auto* s = protocol::find_state(state);
  return "cannot " + std::string(r->verb) + " domain '" + domain_name + "': it is " +
         std::string(s ? s->text : "in an unknown state") + " (" + std::string(r->verb) +
         " needs " + std::string(r->needs) + ")";
}

} // namespace domus::runtime
