// The syntax of Domus's configuration files (domusd.conf, and each driver's
// etc/domus/<driver>.conf): `key = value` lines, values optionally in double quotes,
// `#` comments outside quotes. What the keys mean is the reader's: the daemon's table
// (options.cpp) or the driver's, which gets the lines with their numbers.
#pragma once

#include <string>
#include <vector>

namespace domus::runtime {

/// One `key = value` line.
struct conf_line {
  std::string key;
  std::string value; ///< without its quotes
  bool quoted = false;
  int line = 0; ///< 1-based
};

/// The lines of a file's text; throws protocol::error(config_error) as
/// "ORIGIN:LINE: ..." for a line that is not `key = value` or an unterminated string.
std::vector<conf_line> parse_conf(const std::string& text, const std::string& origin);

} // namespace domus::runtime
