// A domsh session: the connection to the daemon, running command lines, the interactive
// terminal, and virsh's output rules (a blank line after each command, "error: " lines).
#pragma once

#include "command_table.hpp"

#include <domus/protocol/client.hpp>

#include <chrono>
#include <iosfwd>
#include <memory>
#include <string>

namespace domus::cli {

/// Global settings from domsh's own options.
struct shell_settings {
  std::string uri;        ///< as given, or the default
  bool read_only = false; ///< -r: the read-only socket
  int connect_timeout_s = 5;
  bool quiet = false;  ///< -q: no blank lines, no table headers, no banner
  int debug_level = 4; ///< -d: messages at or above this level go to stderr (0..4)
};

class shell {
public:
  explicit shell(shell_settings s);
  ~shell();

  /// Runs every command of a line; parse errors run nothing. Returns the status of the
  /// last command (0 ok, 1 failed). Sets `quit` when quit/exit ran.
  int run_line(const std::string& line, bool& quit);

  /// The interactive terminal on stdin; returns 0.
  int run_interactive();

  // -- for command handlers -----------------------------------------------------------

  /// Sends a request on this session's URI and returns its result; throws
  /// protocol::error with the daemon's message when it failed.
  protocol::json call(std::string_view proc, const protocol::json& args);
  /// Every row of a paged list (domain.list, pool.list, vol.list): the array `rows` of
  /// each page, following each page's `next` as `after` until none is left.
  protocol::json call_all(std::string_view proc, protocol::json args,
                          const std::string& rows);
  /// The connection, made (and checked) on first use.
  protocol::connection& connection();
  /// Drops the connection; the next call connects to this URI.
  void reconnect(std::string uri, bool read_only);

  const std::string& uri() const { return settings_.uri; }
  bool quiet() const { return settings_.quiet; }
  bool read_only() const { return settings_.read_only; }
  /// Prints an informational message on stderr when -d allows it (level 1).
  void info(const std::string& message) const;
  /// Prints "error: message" on stderr.
  static void error(const std::string& message);

private:
  bool run_command(const parsed_command& pc);

  shell_settings settings_;
  std::unique_ptr<protocol::connection> conn_;
  bool unreachable_ = false; ///< the last command could not reach the daemon
  bool answered_ = false;    ///< the daemon has answered on this connection
};

/// How long a request may take before domsh gives up on the daemon.
inline constexpr std::chrono::seconds request_timeout{300};

} // namespace domus::cli
