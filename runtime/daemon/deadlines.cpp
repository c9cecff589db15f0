#include "daemon/deadlines.hpp"

#include <cstdio>
#include <string>

namespace domus::runtime {

namespace {

// Queries 10 s; changes of a definition 30 s; changes of a guest's run state 120 s (a
// guest's own shutdown, a QEMU that loads a large image); opening an instance (a first
// capabilities probe) and taking a running guest back 60 s.
constexpr std::array<driver_op_entry, driver_op_count> table = {{
    {"open", 60000},
    {"node_info", 10000},
    {"version_info", 10000},
    {"normalize", 10000},
    {"define", 30000},
    {"undefine", 30000},
    {"start", 120000},
    {"shutdown", 120000},
    {"reboot", 120000},
    {"destroy", 120000},
    {"suspend", 30000},
    {"resume", 30000},
    {"info", 10000},
    {"reconnect", 60000},
    {"capabilities", 10000},
    {"domain_capabilities", 10000},
    // A device change waits for the guest: a hotplug the guest must take, an unplug
    // libvirt's QEMU driver gives 5 s before it answers that the guest was asked.
    {"attach_device", 30000},
    {"detach_device", 30000},
    {"update_device", 30000},
    {"open_console", 30000},
    // A long-running job's deadline counts from its last progress report, not from its
    // start: a dump of a large guest may take many minutes, a silent one is hung.
    {"dump", 120000},
    // A storage pool's: a definition 30 s; starting or stopping one (a mount, a volume
    // group, a directory of 10,000 files read at start), building or deleting its
    // storage and reading it again, 120 s.
    {"pool_define", 30000},
    {"pool_start", 120000},
    {"pool_destroy", 120000},
    {"pool_build", 120000},
    {"pool_delete", 120000},
    {"pool_refresh", 120000},
    // Opening a host-wide storage driver's instance, as opening any instance.
    {"pool_open", 60000},
    // A volume's: creating one (a copy, a preallocated file), deleting, resizing or
    // wiping it.
    {"vol_create", 120000},
    {"vol_delete", 120000},
    {"vol_resize", 120000},
    {"vol_wipe", 120000},
    // A definition as the hypervisor's configuration: a query (its emulator probed
    // first when new).
    {"to_native", 10000},
    // A volume's transfer, a long-running job: from its last progress (the client's
    // pace sets it; a client that stops reading or sending for this long fails it).
    {"vol_upload", 120000},
    {"vol_download", 120000},
}};

} // namespace

const driver_op_entry& entry(driver_op op) {
  return table[static_cast<size_t>(op)];
}

call_deadlines::call_deadlines() {
  for (size_t i = 0; i < driver_op_count; ++i)
    ms[i] = table[i].default_ms;
}

std::string deadline_setting(driver_op op) {
  return "deadline_" + std::string(entry(op).name) + "_ms";
}

std::string seconds_text(uint32_t ms) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f s", ms / 1000.0);
  return buf;
}

} // namespace domus::runtime
