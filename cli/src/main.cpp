// domsh: the Domus shell, a thin client of the daemon with virsh's commands and output.
#include "shell.hpp"

#include <domus/protocol/uri.hpp>

#include <iostream>
#include <string>
#include <vector>

using namespace domus;
using namespace domus::cli;

namespace {

const char* usage = R"(Usage: domsh [OPTIONS] [COMMAND [ARGS...]]

The Domus shell: virsh's commands against the Domus daemon.

Options:
  -c, --connect URI        connect to URI (default $DOMUS_DEFAULT_URI, else
                           test:///default); ?socket=PATH names the daemon's socket
  -r, --readonly           use the read-only socket
  --connect-timeout SECONDS  give up when the daemon does not answer (default 5)
  -q, --quiet              no blank lines after commands, no table headers
  -d, --debug LEVEL        print messages at or above LEVEL (0-4) on stderr
  -h, --help               this help
  -v, --version            the version

Without a command, domsh reads commands from stdin (an interactive terminal).
Commands may be separated by ';'. 'domsh help' lists them.
)";

} // namespace

int main(int argc, char** argv) {
  shell_settings s;
  s.uri = protocol::default_uri();
  std::vector<std::string> rest;
  int i = 1;
  for (; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&](const std::string& opt) -> std::string {
      if (i + 1 >= argc) {
        shell::error("option " + opt + " needs a value");
        std::exit(1);
      }
      return argv[++i];
    };
    if (a == "-c" || a == "--connect")
      s.uri = value(a);
    else if (a.rfind("--connect=", 0) == 0)
      s.uri = a.substr(10);
    else if (a == "-r" || a == "--readonly")
      s.read_only = true;
    else if (a == "-q" || a == "--quiet")
      s.quiet = true;
    else if (a == "--connect-timeout" || a.rfind("--connect-timeout=", 0) == 0) {
      std::string v = a.size() > 17 ? a.substr(18) : value(a);
      if (v.empty() || v.find_first_not_of("0123456789") != std::string::npos ||
          v.size() > 6) {
        shell::error("--connect-timeout needs a whole number of seconds, got '" + v +
                     "'");
        return 1;
      }
      s.connect_timeout_s = std::stoi(v);
    } else if (a == "-d" || a == "--debug") {
      std::string v = value(a);
      if (v.size() != 1 || v[0] < '0' || v[0] > '4') {
        shell::error("--debug needs a level from 0 to 4, got '" + v + "'");
        return 1;
      }
      s.debug_level = v[0] - '0';
    } else if (a == "-h" || a == "--help") {
      std::cout << usage;
      return 0;
    } else if (a == "-v" || a == "--version" || a == "-V") {
      std::cout << DOMUS_VERSION << '\n';
      return 0;
    } else if (a.size() > 1 && a[0] == '-') {
      shell::error("unknown option '" + a + "' (see domsh --help)");
      return 1;
    } else {
      break;
    }
  }
  for (; i < argc; ++i)
    rest.push_back(argv[i]);

  try {
    protocol::parse_uri(s.uri);
  } catch (const protocol::error& e) {
    shell::error(e.what());
    return 1;
  }
  shell sh(s);
  if (rest.empty())
    return sh.run_interactive();
  // One argument may hold a whole command line ("list; dominfo test"); several are the
  // words of one command, as virsh takes them.
  std::string line;
  if (rest.size() == 1) {
    line = rest[0];
  } else {
    for (auto& w : rest) {
      std::string quoted = "'";
      for (char c : w)
        quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
      line += (line.empty() ? "" : " ") + quoted + "'";
    }
  }
  bool quit = false;
  return sh.run_line(line, quit);
}
