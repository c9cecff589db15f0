// Storage pool commands, as virsh prints them: pool-list, pool-info, pool-dumpxml,
// pool-name, pool-uuid. The pool operations (define, start, build, volumes, ...) come
// with the storage pools issue.
#include "command_table.hpp"
#include "format.hpp"
#include "shell.hpp"

#include <cstdio>
#include <iostream>

namespace domus::cli {

using protocol::json;

namespace {

std::string yes_no(bool b) {
  return b ? "yes" : "no";
}

bool active(const json& p) {
  return p.value("state", "") != "inactive";
}

// pool-list's filters beyond active and inactive, as virsh applies them.
bool wanted(const parsed_command& pc, const json& p) {
  bool persistent = p.value("persistent", true);
  bool autostart = p.value("autostart", false);
  return !(pc.flag("persistent") && !persistent) &&
         !(pc.flag("transient") && persistent) && !(pc.flag("autostart") && !autostart) &&
         !(pc.flag("no-autostart") && autostart);
}

} // namespace

bool cmd_pool_list(shell& sh, const parsed_command& pc) {
  bool all = pc.flag("all");
  bool inactive = pc.flag("inactive");
  json pools = sh.call("pool.list", {{"active", all || !inactive},
                                     {"inactive", all || inactive}})["pools"];
  std::vector<json> rows;
  for (auto& p : pools)
    if (wanted(pc, p))
      rows.push_back(p);
  if (pc.flag("name") || pc.flag("uuid")) {
    for (auto& p : rows) {
      if (pc.flag("uuid"))
        std::cout << p.value("uuid", "") << (pc.flag("name") ? "  " : "\n");
      if (pc.flag("name")) {
        char line[256];
        std::snprintf(line, sizeof line, "%-20s\n", p.value("name", "").c_str());
        std::cout << line;
      }
    }
    return true;
  }
  std::vector<std::vector<std::string>> cells;
  if (!pc.flag("details")) {
    for (auto& p : rows)
      cells.push_back({p.value("name", ""), active(p) ? "active" : "inactive",
                       yes_no(p.value("autostart", false))});
    std::cout << format_table({"Name", "State", "Autostart"}, cells, sh.quiet());
    return true;
  }
  for (auto& p : rows) {
    std::vector<std::string> row = {p.value("name", ""), p.value("state", ""),
                                    yes_no(p.value("autostart", false)),
                                    yes_no(p.value("persistent", true))};
    if (active(p)) {
      for (auto key : {"capacity", "allocation", "available"})
        row.push_back(pretty_capacity(p.value(key, uint64_t{0}), 2));
    } else {
      row.insert(row.end(), {"-", "-", "-"});
    }
    cells.push_back(std::move(row));
  }
  std::cout << format_table(
      {"Name", "State", "Autostart", "Persistent", "Capacity", "Allocation", "Available"},
      cells, sh.quiet());
  return true;
}

// virsh's layout: "Key:" padded to 16 columns; the sizes of an active pool only.
bool cmd_pool_info(shell& sh, const parsed_command& pc) {
  json p = sh.call("pool.info", {{"pool", *pc.value("pool")}});
  std::cout << key_value("Name:", p.value("name", ""), 15)
            << key_value("UUID:", p.value("uuid", ""), 15)
            << key_value("State:", p.value("state", ""), 15)
            << key_value("Persistent:", yes_no(p.value("persistent", true)), 15)
            << key_value("Autostart:", yes_no(p.value("autostart", false)), 15);
  if (active(p))
    for (auto [key, label] : {std::pair{"capacity", "Capacity:"},
                              {"allocation", "Allocation:"},
                              {"available", "Available:"}}) {
      uint64_t bytes = p.value(key, uint64_t{0});
      std::cout << key_value(
          label, pc.flag("bytes") ? std::to_string(bytes) : pretty_capacity(bytes, 2),
          15);
    }
  return true;
}

bool cmd_pool_dumpxml(shell& sh, const parsed_command& pc) {
  json args = {{"pool", *pc.value("pool")}};
  if (pc.flag("inactive"))
    args["inactive"] = true;
  std::cout << sh.call("pool.xml", args).value("xml", "");
  return true;
}

bool cmd_pool_name(shell& sh, const parsed_command& pc) {
  std::cout << sh.call("pool.info", {{"pool", *pc.value("pool")}}).value("name", "")
            << '\n';
  return true;
}

bool cmd_pool_uuid(shell& sh, const parsed_command& pc) {
  std::cout << sh.call("pool.info", {{"pool", *pc.value("pool")}}).value("uuid", "")
            << '\n';
  return true;
}

} // namespace domus::cli
