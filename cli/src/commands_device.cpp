// Device commands: attach-device, detach-device, update-device, with virsh's options:
// --config (the next boot), --live (the running guest), --persistent (both, live only
// when the domain runs), --current (whichever the domain's state means). None of them
// is virsh's older call, the running guest alone.
#include "command_table.hpp"
#include "input_file.hpp"
#include "shell.hpp"

#include <domus/driver_v1.h>

#include <iostream>

namespace domus::cli {

using protocol::json;

namespace {

// virsh's checks, in its order and words.
bool exclusive_with_current(const parsed_command& pc) {
  const std::pair<const char*, const char*> pairs[] = {
      {"persistent", "current"}, {"current", "live"}, {"current", "config"}};
  for (auto& [a, b] : pairs)
    if (pc.flag(a) && pc.flag(b)) {
      shell::error(std::string("Options --") + a + " and --" + b +
                   " are mutually exclusive");
      return false;
    }
  return true;
}

bool device_command(shell& sh, const parsed_command& pc, std::string_view proc,
                    std::string_view done) {
  if (!exclusive_with_current(pc))
    return false;
  std::string d = *pc.value("domain");
  uint32_t flags = 0;
  if (pc.flag("config") || pc.flag("persistent"))
    flags |= DOMUS_DEVICE_CONFIG;
  if (pc.flag("live"))
    flags |= DOMUS_DEVICE_LIVE;
  if (pc.flag("force"))
    flags |= DOMUS_DEVICE_FORCE;
  if (pc.flag("persistent")) {
    json dom = sh.call("domain.lookup", {{"domain", d}});
    if (dom.contains("id") && dom["id"].is_number() && dom["id"].get<int64_t>() >= 0)
      flags |= DOMUS_DEVICE_LIVE; // an active domain has an id
  }
  // No option at all: virsh's older call, which changes the running guest only.
  bool any = pc.flag("current") || (flags & (DOMUS_DEVICE_LIVE | DOMUS_DEVICE_CONFIG));
  if (!any)
    flags |= DOMUS_DEVICE_LIVE;
  std::string file = *pc.value("file");
  json args = {{"domain", d}, {"xml", read_input_file(file)}, {"origin", file}};
  if (flags)
    args["flags"] = flags;
  sh.call(proc, args);
  std::cout << "Device " << done << " successfully\n";
  return true;
}

} // namespace

bool cmd_attach_device(shell& sh, const parsed_command& pc) {
  return device_command(sh, pc, "domain.attach-device", "attached");
}
bool cmd_detach_device(shell& sh, const parsed_command& pc) {
  return device_command(sh, pc, "domain.detach-device", "detached");
}
bool cmd_update_device(shell& sh, const parsed_command& pc) {
  return device_command(sh, pc, "domain.update-device", "updated");
}

} // namespace domus::cli
