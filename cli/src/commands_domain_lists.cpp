// domblklist, domiflist and vncdisplay: read from the domain's XML as virsh reads them
// (the same XPath expressions), printed in virsh's tables.
#include "command_table.hpp"
#include "format.hpp"
#include "shell.hpp"
#include "xpath.hpp"

#include <iostream>
#include <stdexcept>

namespace domus::cli {

using protocol::json;

namespace {

std::string domain_xml(shell& sh, const parsed_command& pc) {
  json r = sh.call("domain.xml",
                   {{"domain", *pc.value("domain")}, {"inactive", pc.flag("inactive")}});
  return r.value("xml", "");
}

// virsh prints "-" for what a device does not have.
std::vector<std::vector<std::string>> dashed(std::vector<std::vector<std::string>> rows) {
  for (auto& row : rows)
    for (auto& cell : row)
      if (cell.empty())
        cell = "-";
  return rows;
}

} // namespace

bool cmd_domblklist(shell& sh, const parsed_command& pc) {
  auto rows = dashed(
      xpath_records(domain_xml(sh, pc), "/domain/devices/disk",
                    {"string(./@type)", "string(./@device)", "string(./target/@dev)",
                     "string(./source/@file|./source/@dev|./source/@dir|./source/@name|./"
                     "source/@volume)"}));
  if (pc.flag("details")) {
    std::cout << format_table({"Type", "Device", "Target", "Source"}, rows, sh.quiet());
    return true;
  }
  for (auto& row : rows)
    row.erase(row.begin(), row.begin() + 2);
  std::cout << format_table({"Target", "Source"}, rows, sh.quiet());
  return true;
}

bool cmd_domiflist(shell& sh, const parsed_command& pc) {
  auto rows = dashed(xpath_records(
      domain_xml(sh, pc), "/domain/devices/interface",
      {"string(./target/@dev)", "string(./@type)",
       "string(./source/@bridge|./source/@dev|./source/@network|./source/@name|./source/"
       "@path)",
       "string(./model/@type)", "string(./mac/@address)"}));
  std::cout << format_table({"Interface", "Type", "Source", "Model", "MAC"}, rows,
                            sh.quiet());
  return true;
}

bool cmd_vncdisplay(shell& sh, const parsed_command& pc) {
  json d = sh.call("domain.lookup", {{"domain", *pc.value("domain")}});
  if (!d.contains("id") || !d["id"].is_number())
    throw std::runtime_error("Domain is not running");
  auto rows = xpath_records(domain_xml(sh, pc), "/domain/devices/graphics[@type='vnc']",
                            {"string(./@port)", "string(./@listen)"});
  int port = rows.empty() ? -1 : std::atoi(rows[0][0].c_str());
  if (port <= 0)
    throw std::runtime_error("Failed to get VNC port. Is this domain using VNC?");
  std::string listen = rows[0][1];
  if (listen == "0.0.0.0" || listen == "::")
    listen.clear();
  std::cout << listen << ":" << port - 5900 << '\n';
  return true;
}

} // namespace domus::cli
