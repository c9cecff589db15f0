// domusd's settings: built-in defaults, then domusd.conf, then command-line flags.
#pragma once

#include "daemon/deadlines.hpp"
#include "daemon/limits.hpp"
#include "daemon/log.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace domus::runtime {

/// Every setting of the daemon (conf/domusd.conf documents each): the limits
/// (limits.hpp), and the rest.
struct daemon_options : daemon_limits {
  std::string root;        ///< --root: the tree's prefix; "" for the default
  std::string config_file; ///< "" for <etc>/domusd.conf
  log_level level = log_level::info;
  std::string plugin_dir; ///< "" for the bundled plugins
  unsigned rw_socket_mode = 0600;
  unsigned ro_socket_mode = 0666;
  unsigned events_socket_mode = 0666;
  size_t journal_events = 100000;            ///< events the journal holds (events.since)
  uint64_t journal_reserve_bytes = 1u << 20; ///< disk kept allocated ahead of the journal
  uint32_t job_wait_ms = 30000; ///< a change waits this long for the running one
  call_deadlines deadlines;     ///< how long each driver call may take
  std::string scheduler_policy = "sharing"; ///< CAF: "sharing" or "stealing"
  unsigned worker_threads = 0; ///< CAF scheduler threads; 0: one per core, at least 2
  unsigned shutdown_timeout_ms = 5000;
  /// Driver instances opened at start (the read-only socket cannot open one).
  std::vector<std::string> open_at_start = {"test:///default"};
};

/// What the command line asked for.
struct command_line {
  bool help = false;
  bool version = false;
  std::optional<std::string> root, config_file, plugin_dir;
  std::optional<log_level> level;
};

/// Parses domusd's flags; throws protocol::error(invalid_argument) naming a bad flag.
command_line parse_command_line(const std::vector<std::string>& args);

/// The --help text.
std::string usage_text();

/// Reads a domusd.conf into opts: `key = value` lines, strings in double quotes, `#`
/// comments. Throws protocol::error(config_error) as "FILE:LINE: ..." for an unknown key
/// or a bad value.
void load_config_text(const std::string& text, const std::string& origin,
                      daemon_options& opts);

/// Defaults, then the config file (an absent default file is fine, an absent --config
/// file is not), then the flags; the limits checked together (daemon_limits::check).
daemon_options resolve_options(const command_line& cl, const std::string& default_config);

} // namespace domus::runtime
