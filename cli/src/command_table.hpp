// domsh's commands as data: one row per command with its options, help and handler, so
// that parsing, `help` and docs come from one table.
#pragma once

#include <domus/protocol/procedures.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace domus::cli {

class shell;

/// How an option takes its value.
enum class option_kind : int {
  flag = 1,   ///< --name
  string = 2, ///< --name VALUE (or positional)
  number = 3, ///< --name N
};

/// One option of a command.
struct option_spec {
  std::string_view name;
  option_kind kind;
  bool required;   ///< the command fails without it
  bool positional; ///< may be given without --name, in table order
  std::string_view help;
};

/// A command line bound to a command: option values by name.
struct parsed_command;

/// Runs a command; returns false when it failed (the error is printed already).
using command_handler = std::function<bool(shell&, const parsed_command&)>;

/// One row of the table.
struct command_spec {
  std::string_view name;
  std::string_view group; ///< help keyword: domain, monitor, events, host, domsh
  std::string_view brief;
  std::string_view description; ///< may be empty
  std::vector<option_spec> options;
  command_handler handler;
};

struct parsed_command {
  const command_spec* spec = nullptr;
  std::map<std::string, std::string> values;
  std::set<std::string> flags;

  bool flag(std::string_view n) const { return flags.count(std::string(n)) != 0; }
  std::optional<std::string> value(std::string_view n) const {
    auto it = values.find(std::string(n));
    if (it == values.end())
      return std::nullopt;
    return it->second;
  }
  bool has(std::string_view n) const { return flag(n) || value(n).has_value(); }
};

/// A help group: keyword and title, in help order.
struct command_group {
  std::string_view keyword;
  std::string_view title;
};

/// Every command, in help order within its group.
const std::vector<command_spec>& commands();
/// The groups, in help order.
const std::vector<command_group>& command_groups();
/// The command with this name, or nullptr.
const command_spec* find_command(std::string_view name);

/// The flags of `p` a command's options ask for: each flag of the procedure is an
/// option of the same name (protocol/flags.hpp).
uint32_t option_flags(const parsed_command& pc, protocol::proc p);

// The handlers, by file.
bool cmd_uri(shell&, const parsed_command&);
bool cmd_domxml_to_native(shell&, const parsed_command&);
bool cmd_version(shell&, const parsed_command&);
bool cmd_nodeinfo(shell&, const parsed_command&);
bool cmd_capabilities(shell&, const parsed_command&);
bool cmd_domcapabilities(shell&, const parsed_command&);
bool cmd_attach_device(shell&, const parsed_command&);
bool cmd_detach_device(shell&, const parsed_command&);
bool cmd_update_device(shell&, const parsed_command&);
bool cmd_edit(shell&, const parsed_command&);
bool cmd_connect(shell&, const parsed_command&);
bool cmd_list(shell&, const parsed_command&);
bool cmd_dominfo(shell&, const parsed_command&);
bool cmd_domblklist(shell&, const parsed_command&);
bool cmd_domiflist(shell&, const parsed_command&);
bool cmd_vncdisplay(shell&, const parsed_command&);
bool cmd_domstate(shell&, const parsed_command&);
bool cmd_domjobinfo(shell&, const parsed_command&);
bool cmd_domjobabort(shell&, const parsed_command&);
bool cmd_dump(shell&, const parsed_command&);
bool cmd_pool_list(shell&, const parsed_command&);
bool cmd_pool_info(shell&, const parsed_command&);
bool cmd_pool_dumpxml(shell&, const parsed_command&);
bool cmd_pool_edit(shell&, const parsed_command&);
bool cmd_pool_name(shell&, const parsed_command&);
bool cmd_pool_uuid(shell&, const parsed_command&);
bool cmd_pool_define(shell&, const parsed_command&);
bool cmd_pool_create(shell&, const parsed_command&);
bool cmd_pool_define_as(shell&, const parsed_command&);
bool cmd_pool_create_as(shell&, const parsed_command&);
bool cmd_pool_start(shell&, const parsed_command&);
bool cmd_pool_destroy(shell&, const parsed_command&);
bool cmd_pool_undefine(shell&, const parsed_command&);
bool cmd_pool_build(shell&, const parsed_command&);
bool cmd_pool_delete(shell&, const parsed_command&);
bool cmd_pool_refresh(shell&, const parsed_command&);
bool cmd_pool_autostart(shell&, const parsed_command&);
bool cmd_pool_event(shell&, const parsed_command&);
bool cmd_vol_list(shell&, const parsed_command&);
bool cmd_vol_info(shell&, const parsed_command&);
bool cmd_vol_dumpxml(shell&, const parsed_command&);
bool cmd_vol_path(shell&, const parsed_command&);
bool cmd_vol_key(shell&, const parsed_command&);
bool cmd_vol_name(shell&, const parsed_command&);
bool cmd_vol_pool(shell&, const parsed_command&);
bool cmd_vol_create(shell&, const parsed_command&);
bool cmd_vol_create_as(shell&, const parsed_command&);
bool cmd_vol_clone(shell&, const parsed_command&);
bool cmd_vol_create_from(shell&, const parsed_command&);
bool cmd_vol_delete(shell&, const parsed_command&);
bool cmd_vol_resize(shell&, const parsed_command&);
bool cmd_vol_wipe(shell&, const parsed_command&);
bool cmd_vol_upload(shell&, const parsed_command&);
bool cmd_vol_download(shell&, const parsed_command&);
bool cmd_vol_jobinfo(shell&, const parsed_command&);
bool cmd_vol_jobabort(shell&, const parsed_command&);
bool cmd_domid(shell&, const parsed_command&);
bool cmd_domname(shell&, const parsed_command&);
bool cmd_domuuid(shell&, const parsed_command&);
bool cmd_dumpxml(shell&, const parsed_command&);
bool cmd_define(shell&, const parsed_command&);
bool cmd_create(shell&, const parsed_command&);
bool cmd_undefine(shell&, const parsed_command&);
bool cmd_start(shell&, const parsed_command&);
bool cmd_shutdown(shell&, const parsed_command&);
bool cmd_reboot(shell&, const parsed_command&);
bool cmd_destroy(shell&, const parsed_command&);
bool cmd_suspend(shell&, const parsed_command&);
bool cmd_resume(shell&, const parsed_command&);
bool cmd_autostart(shell&, const parsed_command&);
bool cmd_event(shell&, const parsed_command&);
bool cmd_help(shell&, const parsed_command&);
bool cmd_quit(shell&, const parsed_command&);

} // namespace domus::cli
