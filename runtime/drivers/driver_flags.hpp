// Which of a request's flags a driver may be passed (docs/protocol.md, "Flags"): the
// daemon refuses bits it does not carry out itself, bits newer than the driver's plugin
// ABI minor, and any bit for a slot that takes no flags, so a driver never silently
// ignores one. No CAF here.
#pragma once

#include <domus/protocol/codec.hpp>
#include <domus/protocol/flags.hpp>

#include <cstdint>
#include <string_view>

namespace domus::runtime {

/// What the driver offers for one operation.
struct flags_target {
  std::string_view driver; ///< its name, "qemu"
  uint32_t abi_minor;      ///< the plugin ABI minor it was built with
  bool slot_takes_flags;   ///< false: only a slot without flags exists
  std::string_view slot;   ///< the slot with flags, for the message: "undefine_flags"
};

/// The flags of request args for `p` that go to the driver (0 when absent). Throws
/// protocol::error: invalid-argument for bits no version defines, unsupported for a bit
/// the daemon refuses or the driver cannot be passed.
uint32_t flags_for_driver(protocol::proc p, const protocol::json& args,
                          const flags_target& to);

} // namespace domus::runtime
