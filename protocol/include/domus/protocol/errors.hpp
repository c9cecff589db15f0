// The error catalogue as the protocol names it: domus::protocol::errc and error are the
// leaf library's (domus/errors.hpp), so one catalogue serves the wire, the runtime, the
// model and the drivers.
#pragma once

#include <domus/errors.hpp>

namespace domus::protocol {

using domus::errc;
using domus::errc_from_number;
using domus::errc_from_string;
using domus::error;
using domus::error_catalogue;
using domus::error_entry;
using domus::to_string;

} // namespace domus::protocol
