// The status file of an active domain (run/domus/<instance>/<name>.xml): its state, the
// driver's private data and its live definition, what the next daemon reconnects from.
#pragma once

#include <domus/driver_v1.h>

#include <string>

namespace domus::runtime {

struct domain_status {
  domus_dom_state_v1 state{DOMUS_STATE_SHUTOFF, DOMUS_REASON_UNKNOWN, -1};
  std::string private_data; ///< the driver's bytes, kept as they came
  std::string live_xml;     ///< the live definition, as Domus formats it
};

/// <domstatus state='running' reason='booted' id='3'><privdata>HEX</privdata><domain>...
std::string format_status(const domain_status& s);

/// Reads a status file's text; throws protocol::error(xml_error) naming `origin`.
domain_status parse_status(const std::string& text, const std::string& origin);

} // namespace domus::runtime
