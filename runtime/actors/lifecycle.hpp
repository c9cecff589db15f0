// The domain lifecycle as a table: which states each operation may start from. An
// operation refused here never reaches the driver; the error names the domain, its state
// and what the operation needs.
#pragma once

#include <domus/protocol/procedures.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace domus::runtime {

/// One row: an operation and the states it is allowed from.
struct lifecycle_rule {
  protocol::proc op;
  std::string_view verb;   ///< "start"
  unsigned allowed_states; ///< bit (1 << state) per allowed domus_domain_state_v1
  std::string_view needs;  ///< "a shut off domain"
};

/// The rule for an operation, or nullptr when the operation has none.
const lifecycle_rule* find_rule(protocol::proc op);

/// nullopt when `op` may run on a domain in `state`; else the invalid-operation message:
/// "cannot start domain 'web1': it is running (start needs a shut off domain)".
std::optional<std::string> check_transition(protocol::proc op, int state,
                                            const std::string& domain_name);

} // namespace domus::runtime
