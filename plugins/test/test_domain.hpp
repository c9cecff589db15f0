// The mock domain's state machine: what each operation does to a test-driver domain,
// following libvirt's test driver (states, reasons, ids and events).
#pragma once

#include "test_state.hpp"

#include <optional>
#include <string>
#include <vector>

namespace domus::test_driver {

/// The outcome of one operation on a mock domain.
struct outcome {
  int32_t status = DOMUS_OK;
  std::string message;
  domus_dom_state_v1 state{};
  std::vector<domus_event_v1> events;
  std::string private_data; ///< "state reason id" for reconnect
};

/// The operations of the mock hypervisor. Each locks the domain.
outcome start_domain(domus_instance& inst, domus_dom& dom);
outcome shutdown_domain(domus_dom& dom);
outcome reboot_domain(domus_dom& dom);
outcome destroy_domain(domus_dom& dom);
outcome suspend_domain(domus_dom& dom);
outcome resume_domain(domus_dom& dom);
/// libvirt's mock core dump: its magic written to `path`; DOMUS_DUMP_CRASH then shuts
/// the guest off, crashed.
outcome dump_domain(domus_dom& dom, const std::string& path, uint32_t flags);

/// The status data kept for reconnect: "STATE REASON ID".
std::string encode_status(const domus_dom& dom);
/// Parses status data; false when it is not ours.
bool decode_status(const std::string& data, domus_dom_state_v1& out);

/// Fills the test driver's defaults into a definition: arch i686 for hvm and xen guests,
/// a generated MAC address (52:54:00:...) for interfaces without one.
void apply_test_defaults(model::domain_def& def);

} // namespace domus::test_driver
