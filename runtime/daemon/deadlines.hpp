// Deadlines of driver calls: one per operation, each a domusd.conf setting
// (deadline_<operation>_ms). When one passes, the caller is answered `timeout` and the
// driver asked to cancel the call (docs/plugins.md, "Deadlines").
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace domus::runtime {

/// The driver operations the runtime calls, for deadlines and for messages.
enum class driver_op : uint8_t {
  open,
  node_info,
  version_info,
  normalize,
  define,
  undefine,
  start,
  shutdown,
  reboot,
  destroy,
  suspend,
  resume,
  info,
  reconnect,
  capabilities,
  domain_capabilities,
  attach_device,
  detach_device,
  update_device,
  open_console,
  dump, ///< a long-running job: its deadline counts from its last progress
  pool_define,
  pool_start,
  pool_destroy,
  pool_build,
  pool_delete,
  pool_refresh,
  pool_open, ///< a host-wide storage driver's instance, opened beside the domains'
  vol_create,
  vol_delete,
  vol_resize,
  vol_wipe,
  to_native,
  vol_upload,   ///< a long-running job, as dump
  vol_download, ///< a long-running job, as dump
  count_        ///< not an operation
};

inline constexpr size_t driver_op_count = static_cast<size_t>(driver_op::count_);

/// One operation's name (as the ABI's slot) and default deadline (0: it has none, and
/// no setting).
struct driver_op_entry {
  std::string_view name;
  uint32_t default_ms;
};

/// The table, indexed by driver_op.
const driver_op_entry& entry(driver_op op);

/// Each operation's deadline in milliseconds.
struct call_deadlines {
  std::array<uint32_t, driver_op_count> ms{};
  call_deadlines();
  uint32_t of(driver_op op) const { return ms[static_cast<size_t>(op)]; }
};

/// "deadline_<name>_ms", the setting of one operation.
std::string deadline_setting(driver_op op);

/// A duration as messages show it, to a tenth of a second: "0.3 s", "120.0 s".
std::string seconds_text(uint32_t ms);

} // namespace domus::runtime
