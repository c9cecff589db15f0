// What is left of a deadline, for the client library's bounded waits.
#pragma once

#include <algorithm>
#include <chrono>

namespace domus::protocol {

/// The milliseconds until `deadline`, 0 once it passed.
inline std::chrono::milliseconds
time_left(std::chrono::steady_clock::time_point deadline) {
  return std::max(std::chrono::duration_cast<std::chrono::milliseconds>(
                      deadline - std::chrono::steady_clock::now()),
                  std::chrono::milliseconds(0));
}

} // namespace domus::protocol
