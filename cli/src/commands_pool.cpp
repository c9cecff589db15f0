// Storage pool commands, as virsh prints them: the queries (pool-list, pool-info,
// pool-dumpxml, pool-name, pool-uuid) and the lifecycle (pool-define, pool-create and
// their -as forms, pool-start, pool-destroy, pool-undefine, pool-build, pool-delete,
// pool-refresh, pool-autostart).
#include "command_table.hpp"
#include "format.hpp"
#include "input_file.hpp"
#include "pool_as_xml.hpp"
#include "shell.hpp"

#include <domus/protocol/flags.hpp>

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
  json pools =
      sh.call_all("pool.list",
                  {{"active", all || !inactive}, {"inactive", all || inactive}}, "pools");
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

namespace {

// A definition from a file: "Pool NAME defined from FILE".
bool from_file(shell& sh, const parsed_command& pc, protocol::proc p,
               std::string_view done) {
  std::string file = *pc.value("file");
  json args = {{"xml", read_input_file(file)}, {"origin", file}};
  if (pc.flag("validate"))
    args["validate"] = true;
  if (uint32_t flags = option_flags(pc, p))
    args["flags"] = flags;
  json r = sh.call(protocol::entry(p).name, args);
  std::cout << "Pool " << r.value("name", "") << ' ' << done << " from " << file << '\n';
  return true;
}

// A definition from options: "Pool NAME defined", or the XML alone with --print-xml.
bool from_options(shell& sh, const parsed_command& pc, protocol::proc p,
                  std::string_view done) {
  std::string xml = pool_xml_from_options(pc);
  if (pc.flag("print-xml")) {
    std::cout << xml;
    return true;
  }
  json args = {{"xml", xml}, {"origin", "the options of " + std::string(pc.spec->name)}};
  if (uint32_t flags = option_flags(pc, p))
    args["flags"] = flags;
  sh.call(protocol::entry(p).name, args);
  std::cout << "Pool " << *pc.value("name") << ' ' << done << '\n';
  return true;
}

// An operation on one pool, named as the user named it: "Pool NAME started".
bool on_pool(shell& sh, const parsed_command& pc, protocol::proc p, std::string_view done,
             json extra = json::object()) {
  std::string pool = *pc.value("pool");
  json args = {{"pool", pool}};
  args.update(extra);
  if (uint32_t flags = option_flags(pc, p))
    args["flags"] = flags;
  sh.call(protocol::entry(p).name, args);
  std::cout << "Pool " << pool << ' ' << done << '\n';
  return true;
}

} // namespace

using protocol::proc;

bool cmd_pool_define(shell& sh, const parsed_command& pc) {
  return from_file(sh, pc, proc::pool_define, "defined");
}
bool cmd_pool_create(shell& sh, const parsed_command& pc) {
  return from_file(sh, pc, proc::pool_create, "created");
}
bool cmd_pool_define_as(shell& sh, const parsed_command& pc) {
  return from_options(sh, pc, proc::pool_define, "defined");
}
bool cmd_pool_create_as(shell& sh, const parsed_command& pc) {
  return from_options(sh, pc, proc::pool_create, "created");
}
bool cmd_pool_start(shell& sh, const parsed_command& pc) {
  return on_pool(sh, pc, proc::pool_start, "started");
}
bool cmd_pool_destroy(shell& sh, const parsed_command& pc) {
  return on_pool(sh, pc, proc::pool_destroy, "destroyed");
}
bool cmd_pool_undefine(shell& sh, const parsed_command& pc) {
  return on_pool(sh, pc, proc::pool_undefine, "has been undefined");
}
bool cmd_pool_build(shell& sh, const parsed_command& pc) {
  return on_pool(sh, pc, proc::pool_build, "built");
}
bool cmd_pool_delete(shell& sh, const parsed_command& pc) {
  return on_pool(sh, pc, proc::pool_delete, "deleted");
}
bool cmd_pool_refresh(shell& sh, const parsed_command& pc) {
  return on_pool(sh, pc, proc::pool_refresh, "refreshed");
}
bool cmd_pool_autostart(shell& sh, const parsed_command& pc) {
  bool enable = !pc.flag("disable");
  return on_pool(sh, pc, proc::pool_autostart,
                 enable ? "marked as autostarted" : "unmarked as autostarted",
                 {{"enable", enable}});
}

} // namespace domus::cli
