// The naming rule for domains (and later networks and pools): names become file names.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace domus::model {

/// Why a name breaks the rule, or nullopt when it is valid: 1 to 200 bytes of UTF-8, no
/// '/', no NUL, no control character, not "." or "..".
std::optional<std::string> name_problem(std::string_view name);

/// Throws domus::error(invalid_name) when the name breaks the rule; `what` is
/// "domain".
void check_name(std::string_view name, std::string_view what = "domain");

} // namespace domus::model
