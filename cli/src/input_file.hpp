// Reading the XML file a command is given (define, create, attach-device, ...).
#pragma once

#include <string>

namespace domus::cli {

/// The whole file. Throws std::runtime_error "cannot read 'PATH': why".
std::string read_input_file(const std::string& path);

} // namespace domus::cli
