// The catalogue of operation flags: per procedure, the bits its `flags` argument may set
// (libvirt's numbers, the plugin ABI's DOMUS_* flag macros), the single source for the
// daemon's checks, domsh's options and docs/protocol.md's "Flags" table.
#pragma once

#include "domus/protocol/procedures.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace domus::protocol {

/// One bit a procedure's `flags` may set.
struct flag_bit {
  uint32_t bit;
  std::string_view name; ///< as domsh's option or mode, e.g. "paused", "acpi"
  uint32_t since_minor;  ///< the plugin ABI minor version that defines it
  std::string_view doc;
  /// Why the daemon itself refuses it (`unsupported`); "" when it passes it on.
  std::string_view refused = {};
};

/// The bits `p` defines; empty when it defines none (then any flag is refused).
const std::vector<flag_bit>& flag_bits(proc p);

/// The bits of `flags` named, "0x1 (paused), 0x4 (bypass-cache)"; a bit `p` does not
/// define is shown in hex alone.
std::string describe_flags(proc p, uint32_t flags);

/// args.flags of a request for `p`: 0 when absent. Throws error(bad_request) when it is
/// not an integer from 0 to 2^32-1, and error(invalid_argument) naming the bits no
/// version defines for `p`.
uint32_t read_flags(proc p, const nlohmann::json& args);

/// The highest plugin ABI minor version among the bits of `flags` (0 for none).
uint32_t flags_minor(proc p, uint32_t flags);

} // namespace domus::protocol
