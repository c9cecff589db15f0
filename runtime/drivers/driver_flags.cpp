#include "drivers/driver_flags.hpp"

#include <domus/protocol/errors.hpp>

namespace domus::runtime {

uint32_t flags_for_driver(protocol::proc p, const protocol::json& args,
                          const flags_target& to) {
  uint32_t flags = protocol::read_flags(p, args);
  if (flags == 0)
    return 0;
  std::string proc_name(protocol::entry(p).name);
  for (auto& f : protocol::flag_bits(p))
    if ((flags & f.bit) && !f.refused.empty())
      throw protocol::error(protocol::errc::unsupported,
                            "domusd does not support " +
                                protocol::describe_flags(p, f.bit) + " of " + proc_name +
                                ": " + std::string(f.refused));
  std::string driver = "the " + std::string(to.driver) + " driver";
  if (uint32_t minor = protocol::flags_minor(p, flags); minor > to.abi_minor)
    throw protocol::error(protocol::errc::unsupported,
                          driver + " (plugin ABI 1." + std::to_string(to.abi_minor) +
                              ") cannot be passed " + protocol::describe_flags(p, flags) +
                              " of " + proc_name + ": flags need plugin ABI 1." +
                              std::to_string(minor));
  if (!to.slot_takes_flags)
    throw protocol::error(protocol::errc::unsupported,
                          driver + " takes no flags for " + proc_name + " (it has no " +
                              std::string(to.slot) +
                              "): " + protocol::describe_flags(p, flags));
  return flags;
}

} // namespace domus::runtime
