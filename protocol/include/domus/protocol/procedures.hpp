// The catalogue of protocol procedures: one row per procedure, the single source for the
// daemon's dispatch, the read-only check and docs/protocol.md.
#pragma once

#include <string_view>
#include <vector>

namespace domus::protocol {

/// Protocol version spoken by this library and the daemon.
inline constexpr int version = 1;

/// Every procedure of protocol v1.
enum class proc : int {
  events_ping = 1,
  connect_open,
  connect_version,
  node_info,
  domain_list,
  domain_define,
  domain_create,
  domain_lookup,
  domain_info,
  domain_xml,
  domain_undefine,
  domain_start,
  domain_shutdown,
  domain_reboot,
  domain_destroy,
  domain_suspend,
  domain_resume,
  domain_autostart,
  events_since,
  domain_jobinfo,
  domain_jobabort,
  connect_capabilities,
  connect_domain_capabilities,
  domain_attach_device,
  domain_detach_device,
  domain_update_device,
  domain_open_console,
  domain_dump,
  pool_list,
  pool_info,
  pool_xml,
  pool_define,
  pool_create,
  pool_start,
  pool_destroy,
  pool_undefine,
  pool_build,
  pool_delete,
  pool_refresh,
  pool_autostart,
  vol_list,
  vol_info,
  vol_xml,
  vol_create,
  vol_create_from,
  vol_clone,
  vol_delete,
  vol_resize,
  vol_wipe,
  connect_domain_xml_to_native,
  vol_upload,
  vol_download,
  vol_jobinfo,
  vol_jobabort,
};

/// Who answers a procedure inside the daemon.
enum class proc_target : int {
  daemon = 1,   ///< the daemon itself; no URI needed
  instance = 2, ///< the driver instance named by the request's URI
  domain = 3,   ///< one domain, named by args.domain, of that instance
};

/// One row of the catalogue.
struct proc_entry {
  proc id;
  std::string_view name; ///< wire name, e.g. "domain.start"
  proc_target target;
  bool mutating;         ///< refused on the read-only socket
  std::string_view args; ///< argument summary for docs and help
  std::string_view doc;
  /// A boolean argument that, when true, makes a read-only procedure need the
  /// read-write socket (domain.xml's `secure`: secrets leave only there); "" for none.
  std::string_view rw_only_flag = {};
};

/// Every procedure, in enum order.
const std::vector<proc_entry>& proc_catalogue();

/// The row for a wire name, or nullptr.
const proc_entry* find_proc(std::string_view name);

/// The row for a procedure.
const proc_entry& entry(proc p);

} // namespace domus::protocol
