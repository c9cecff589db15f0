// The hash that guards a record written by the daemon (journal lines, ceiling slots):
// FNV-1a 64, written as 16 hex digits. It finds torn and damaged records; it is no
// defence against someone who can write the file.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

namespace domus::runtime {

inline uint64_t fnv1a(std::string_view s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

/// fnv1a(s) as 16 lower-case hex digits.
inline std::string record_hash(std::string_view s) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(fnv1a(s)));
  return buf;
}

} // namespace domus::runtime
