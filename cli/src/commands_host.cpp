// Host, connection and terminal commands: uri, version, nodeinfo, capabilities,
// domcapabilities, connect, help, quit.
#include "command_table.hpp"
#include "format.hpp"
#include "shell.hpp"

#include <domus/protocol/uri.hpp>

#include <iostream>

namespace domus::cli {

using protocol::json;

bool cmd_uri(shell& sh, const parsed_command&) {
  sh.call("connect.open", json::object());
  std::cout << sh.uri() << '\n';
  return true;
}

namespace {

std::string dotted_version(uint64_t v) {
  return std::to_string(v / 1000000) + "." + std::to_string(v / 1000 % 1000) + "." +
         std::to_string(v % 1000);
}

} // namespace

bool cmd_version(shell& sh, const parsed_command& pc) {
  json v = sh.call("connect.version", json::object());
  std::string daemon = v.value("daemon", "");
  std::string type = v["hypervisor"].value("type", "");
  std::cout << "Compiled against library: domus " DOMUS_VERSION "\n"
            << "Using library: domus " DOMUS_VERSION "\n"
            << "Using API: " << type << " " DOMUS_VERSION "\n"
            << "Running hypervisor: " << type << " "
            << dotted_version(v["hypervisor"].value("version", uint64_t{0})) << '\n';
  if (pc.flag("daemon"))
    std::cout << "Running against daemon: " << daemon << '\n';
  return true;
}

bool cmd_nodeinfo(shell& sh, const parsed_command&) {
  json n = sh.call("node.info", json::object());
  auto num = [&](const char* k) { return std::to_string(n.value(k, uint64_t{0})); };
  std::cout << key_value("CPU model:", n.value("cpu_model", ""), 20)
            << key_value("CPU(s):", num("cpus"), 20)
            << key_value("CPU frequency:", num("mhz") + " MHz", 20)
            << key_value("CPU socket(s):", num("sockets_per_node"), 20)
            << key_value("Core(s) per socket:", num("cores_per_socket"), 20)
            << key_value("Thread(s) per core:", num("threads_per_core"), 20)
            << key_value("NUMA cell(s):", num("numa_nodes"), 20)
            << key_value("Memory size:", num("memory_kib") + " KiB", 20);
  return true;
}

// The driver's XML as virsh prints it: the document, then a newline.
bool cmd_capabilities(shell& sh, const parsed_command&) {
  std::cout << sh.call("connect.capabilities", json::object()).value("xml", "") << '\n';
  return true;
}

bool cmd_domcapabilities(shell& sh, const parsed_command& pc) {
  json args = json::object();
  for (auto [option, arg] : {std::pair{"virttype", "virttype"},
                             {"emulatorbin", "emulator"},
                             {"arch", "arch"},
                             {"machine", "machine"}})
    if (auto v = pc.value(option))
      args[arg] = *v;
  std::cout << sh.call("connect.domain-capabilities", args).value("xml", "") << '\n';
  return true;
}

bool cmd_connect(shell& sh, const parsed_command& pc) {
  std::string uri = pc.value("name").value_or(protocol::default_uri());
  sh.reconnect(uri, pc.flag("readonly"));
  sh.call("connect.open", json::object());
  return true;
}

namespace {

void print_group(const command_group& g) {
  std::cout << " " << g.title << " (help keyword '" << g.keyword << "'):\n";
  for (auto& c : commands()) {
    if (c.group != g.keyword)
      continue;
    std::string name(c.name);
    std::cout << "    " << name
              << std::string(name.size() < 30 ? 30 - name.size() : 0, ' ') << " "
              << c.brief << '\n';
  }
}

std::string option_label(const option_spec& o, bool synopsis) {
  std::string n(o.name);
  std::string type = o.kind == option_kind::number ? " <number>" : " <string>";
  if (o.kind == option_kind::flag)
    return synopsis ? "[--" + n + "]" : "--" + n;
  if (o.required && o.positional)
    return synopsis ? "<" + n + ">" : "[--" + n + "] <string>";
  return synopsis ? "[--" + n + type + "]" : "--" + n + type;
}

void print_command(const command_spec& c) {
  std::cout << "  NAME\n    " << c.name << " - " << c.brief << "\n\n  SYNOPSIS\n    "
            << c.name;
  for (auto& o : c.options)
    std::cout << ' ' << option_label(o, true);
  std::cout << "\n\n";
  if (!c.description.empty())
    std::cout << "  DESCRIPTION\n    " << c.description << "\n\n";
  if (!c.options.empty()) {
    std::cout << "  OPTIONS\n";
    for (auto& o : c.options) {
      std::string label = option_label(o, false);
      std::cout << "    " << label
                << std::string(label.size() < 15 ? 15 - label.size() : 0, ' ') << "  "
                << o.help << '\n';
    }
    std::cout << '\n';
  }
}

} // namespace

bool cmd_help(shell&, const parsed_command& pc) {
  auto what = pc.value("command");
  if (!what) {
    std::cout << "Grouped commands:\n\n";
    for (auto& g : command_groups()) {
      print_group(g);
      std::cout << '\n';
    }
    return true;
  }
  for (auto& g : command_groups())
    if (g.keyword == *what) {
      print_group(g);
      return true;
    }
  if (const command_spec* c = find_command(*what)) {
    print_command(*c);
    return true;
  }
  shell::error("command or command group '" + *what + "' doesn't exist");
  return false;
}

bool cmd_quit(shell&, const parsed_command&) {
  return true;
}

} // namespace domus::cli
