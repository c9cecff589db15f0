#include "daemon/conf_file.hpp"

#include <domus/protocol/errors.hpp>

#include <sstream>

namespace domus::runtime {

namespace {

std::string trim(const std::string& s) {
  auto b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos)
    return "";
  auto e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

} // namespace

std::vector<conf_line> parse_conf(const std::string& text, const std::string& origin) {
  using protocol::errc;
  std::vector<conf_line> lines;
  std::istringstream in(text);
  std::string line;
  int lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    auto where = origin + ":" + std::to_string(lineno) + ": ";
    // A '#' starts a comment unless it is inside a quoted value.
    bool in_quotes = false;
    for (size_t i = 0; i < line.size(); ++i) {
      if (line[i] == '"')
        in_quotes = !in_quotes;
      else if (line[i] == '#' && !in_quotes) {
        line.resize(i);
        break;
      }
    }
    line = trim(line);
    if (line.empty())
      continue;
    auto eq = line.find('=');
    if (eq == std::string::npos)
      throw protocol::error(errc::config_error,
                            where + "expected key = value, got '" + line + "'");
    conf_line c;
    c.key = trim(line.substr(0, eq));
    c.value = trim(line.substr(eq + 1));
    c.line = lineno;
    c.quoted = c.value.size() >= 2 && c.value.front() == '"' && c.value.back() == '"';
    if (c.quoted)
      c.value = c.value.substr(1, c.value.size() - 2);
    else if (!c.value.empty() && c.value.front() == '"')
      throw protocol::error(errc::config_error, where + c.key + ": unterminated string");
    lines.push_back(std::move(c));
  }
  return lines;
}

} // namespace domus::runtime
