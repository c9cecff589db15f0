// What an actor's exit reason says when one of its handlers let an exception escape. Both
// actor kinds install it as their exception handler; their supervisors (the instance
// actor for domains, the instance watch for instances) log the failure and act on it.
#pragma once

#include <caf/error.hpp>

#include <exception>
#include <string_view>

namespace domus::runtime {

/// The exit reason "WHO failed: WHAT" for the exception `ep` (never rethrows).
caf::error failure_reason(std::string_view who, const std::exception_ptr& ep);

} // namespace domus::runtime
