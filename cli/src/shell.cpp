#include "shell.hpp"

#include "parser.hpp"

#include <iostream>
#include <unistd.h>

namespace domus::cli {

using protocol::errc;

namespace {

// How to start the daemon whose socket is `path`.
std::string start_hint(const std::string& path) {
  const std::string tail = "/run/domus/domus-sock";
  if (path == tail)
    return "start it with: domusd";
  if (path.size() > tail.size() &&
      path.compare(path.size() - tail.size(), tail.size(), tail) == 0)
    return "start it with: domusd --root " + path.substr(0, path.size() - tail.size());
  return "start domusd, or give its socket with -c 'DRIVER:///PATH?socket=SOCKET'";
}

} // namespace

shell::shell(shell_settings s) : settings_(std::move(s)) {}

shell::~shell() = default;

void shell::info(const std::string& message) const {
  if (settings_.debug_level <= 1)
    std::cerr << "domsh: " << message << std::endl;
}

void shell::error(const std::string& message) {
  std::cerr << "error: " << message << std::endl;
}

protocol::connection& shell::connection() {
  if (conn_)
    return *conn_;
  auto parsed = protocol::parse_uri(settings_.uri);
  std::string socket = protocol::socket_path_for(parsed);
  auto c = std::make_unique<protocol::connection>(socket, settings_.read_only);
  try {
    c->check_listening();
  } catch (const protocol::error& e) {
    throw protocol::error(errc::no_daemon,
                          std::string(e.what()) + "; " + start_hint(socket));
  }
  answered_ = false;
  conn_ = std::move(c);
  return *conn_;
}

void shell::reconnect(std::string uri, bool read_only) {
  conn_.reset();
  settings_.uri = std::move(uri);
  settings_.read_only = read_only;
}

protocol::json shell::call_all(std::string_view proc, protocol::json args,
                               const std::string& rows) {
  protocol::json all = protocol::json::array();
  while (true) {
    protocol::json page = call(proc, args);
    for (auto& row : page[rows])
      all.push_back(std::move(row));
    if (!page.contains("next"))
      return all;
    args["after"] = page["next"];
  }
}

protocol::json shell::call(std::string_view proc, const protocol::json& args) {
  auto& c = connection();
  if (!answered_) {
    // The daemon must answer within the connect timeout; the first request itself may
    // take longer (a driver opening its instance, a guest starting), so a ping goes
    // ahead of it on the same connection and costs no extra round trip.
    int64_t ping = c.send("", "events.ping", {{"token", "connect"}});
    int64_t id = c.send(settings_.uri, proc, args);
    try {
      c.wait_for(ping, std::chrono::seconds(settings_.connect_timeout_s), "events.ping");
    } catch (const protocol::error& e) {
      std::string hint = start_hint(c.request_socket());
      conn_.reset();
      throw protocol::error(errc::no_daemon, std::string(e.what()) + "; " + hint);
    }
    answered_ = true;
    info("connected to " + c.request_socket());
    auto r = c.wait_for(id, request_timeout, proc);
    if (!r.ok)
      throw protocol::error(r.code, r.message);
    return std::move(r.result);
  }
  auto r = c.call(settings_.uri, proc, args, request_timeout);
  if (!r.ok)
    throw protocol::error(r.code, r.message);
  return std::move(r.result);
}

bool shell::run_command(const parsed_command& pc) {
  unreachable_ = false;
  try {
    return pc.spec->handler(*this, pc);
  } catch (const protocol::error& e) {
    if (e.code() == errc::no_daemon) {
      error("failed to connect to the daemon");
      unreachable_ = true;
    }
    error(e.what());
  } catch (const std::exception& e) {
    error(e.what());
  }
  return false;
}

int shell::run_line(const std::string& line, bool& quit) {
  std::vector<parsed_command> cmds;
  try {
    cmds = parse_line(line);
  } catch (const parse_error& e) {
    error(e.what());
    return 1;
  }
  int status = 0;
  for (auto& pc : cmds) {
    if (pc.spec->handler == nullptr)
      continue;
    bool is_quit = pc.spec->name == "quit" || pc.spec->name == "exit";
    bool ok = run_command(pc);
    status = ok ? 0 : 1;
    if (is_quit) {
      quit = true;
      break;
    }
    // virsh ends every command's output with one blank line (it never ran a command
    // without a connection).
    if (!settings_.quiet && !unreachable_)
      std::cout << '\n';
    std::cout.flush();
  }
  return status;
}

int shell::run_interactive() {
  bool tty = ::isatty(STDIN_FILENO);
  if (!settings_.quiet)
    std::cout << "Welcome to domsh, the virtualization interactive terminal.\n\n"
                 "Type:  'help' for help with commands\n"
                 "       'quit' to quit\n\n";
  const char* prompt = settings_.read_only ? "domsh > " : "domsh # ";
  std::string line;
  for (;;) {
    std::cout << prompt << std::flush;
    if (!std::getline(std::cin, line)) {
      std::cout << '\n';
      break;
    }
    // Like readline on a pipe: the line read is echoed after the prompt.
    if (!tty)
      std::cout << line << '\n';
    bool quit = false;
    run_line(line, quit);
    if (quit) {
      std::cout << '\n';
      break;
    }
  }
  std::cout.flush();
  return 0;
}

} // namespace domus::cli
