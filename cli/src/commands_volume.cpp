// Storage volume commands, as virsh prints them: vol-list, vol-info, vol-dumpxml,
// vol-path, vol-key, vol-name, vol-pool, vol-create, vol-create-as, vol-clone,
// vol-create-from, vol-delete, vol-resize, vol-wipe.
#include "command_table.hpp"
#include "format.hpp"
#include "input_file.hpp"
#include "shell.hpp"

#include <domus/driver_v1.h>
#include <domus/protocol/flags.hpp>

#include <algorithm>
#include <cctype>
#include <iostream>
#include <stdexcept>

namespace domus::cli {

using protocol::json;
using protocol::proc;

namespace {

// The volume a command names: {vol, pool?}.
json volume_args(const parsed_command& pc, const char* pool_option = "pool") {
  json args = {{"vol", *pc.value("vol")}};
  if (auto pool = pc.value(pool_option))
    args["pool"] = *pool;
  return args;
}

// virsh's scaled integers: digits, then a unit (b, k/KiB, KB, M/MiB, MB, ... E/EiB, EB;
// the one-letter ones binary). Throws shell_error naming it.
uint64_t scaled(const std::string& text) {
  size_t digits = 0;
  while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits])))
    ++digits;
  std::string unit = text.substr(digits);
  if (digits == 0 || digits > 19)
    throw std::runtime_error("Malformed size " + text);
  uint64_t value = std::stoull(text.substr(0, digits));
  static const std::string letters = "bkmgtpe";
  uint64_t scale = 1;
  if (!unit.empty()) {
    char c = static_cast<char>(std::tolower(static_cast<unsigned char>(unit[0])));
    size_t power = letters.find(c);
    std::string rest = unit.substr(1);
    bool decimal = rest == "B" || rest == "b";
    if (power == std::string::npos || (c == 'b' && !rest.empty() && rest != "ytes") ||
        (c != 'b' && !rest.empty() && !decimal && rest != "iB" && rest != "ib"))
      throw std::runtime_error("Malformed size " + text);
    for (size_t i = 0; i < power; ++i)
      scale *= decimal ? 1000 : 1024;
  }
  if (scale != 0 && value > UINT64_MAX / scale)
    throw std::runtime_error("Malformed size " + text);
  return value * scale;
}

std::string type_word(const json& v) {
  return v.value("type", "file");
}

} // namespace

bool cmd_vol_list(shell& sh, const parsed_command& pc) {
  json vols = sh.call_all("vol.list", {{"pool", *pc.value("pool")}}, "volumes");
  std::vector<std::vector<std::string>> cells;
  for (auto& v : vols) {
    std::vector<std::string> row = {v.value("name", ""), v.value("path", "")};
    if (pc.flag("details")) {
      row.push_back(type_word(v));
      row.push_back(pretty_capacity(v.value("capacity", uint64_t{0}), 2));
      row.push_back(pretty_capacity(v.value("allocation", uint64_t{0}), 2));
    }
    cells.push_back(std::move(row));
  }
  if (pc.flag("details"))
    std::cout << format_table({"Name", "Path", "Type", "Capacity", "Allocation"}, cells,
                              sh.quiet());
  else
    std::cout << format_table({"Name", "Path"}, cells, sh.quiet());
  return true;
}

// virsh's layout: "Key:" padded to 16 columns.
bool cmd_vol_info(shell& sh, const parsed_command& pc) {
  json v = sh.call("vol.info", volume_args(pc));
  auto size = [&](const char* key) {
    uint64_t bytes = v.value(key, uint64_t{0});
    return pc.flag("bytes") ? std::to_string(bytes) + " bytes"
                            : pretty_capacity(bytes, 2);
  };
  std::cout << key_value("Name:", v.value("name", ""), 15)
            << key_value("Type:", type_word(v), 15)
            << key_value("Capacity:", size("capacity"), 15)
            << key_value("Allocation:", size("allocation"), 15);
  return true;
}

bool cmd_vol_dumpxml(shell& sh, const parsed_command& pc) {
  std::cout << sh.call("vol.xml", volume_args(pc)).value("xml", "");
  return true;
}

bool cmd_vol_path(shell& sh, const parsed_command& pc) {
  std::cout << sh.call("vol.info", volume_args(pc)).value("path", "") << '\n';
  return true;
}
bool cmd_vol_key(shell& sh, const parsed_command& pc) {
  std::cout << sh.call("vol.info", volume_args(pc)).value("key", "") << '\n';
  return true;
}
bool cmd_vol_name(shell& sh, const parsed_command& pc) {
  std::cout << sh.call("vol.info", volume_args(pc)).value("name", "") << '\n';
  return true;
}
bool cmd_vol_pool(shell& sh, const parsed_command& pc) {
  json v = sh.call("vol.info", volume_args(pc));
  std::cout << v.value(pc.flag("uuid") ? "pool_uuid" : "pool", "") << '\n';
  return true;
}

bool cmd_vol_create(shell& sh, const parsed_command& pc) {
  std::string file = *pc.value("file");
  json args = {
      {"pool", *pc.value("pool")}, {"xml", read_input_file(file)}, {"origin", file}};
  if (pc.flag("validate"))
    args["validate"] = true;
  if (uint32_t flags = option_flags(pc, proc::vol_create))
    args["flags"] = flags;
  json v = sh.call("vol.create", args);
  std::cout << "Vol " << v.value("name", "") << " created from " << file << '\n';
  return true;
}

// virsh's document for vol-create-as: the name, the sizes in bytes, the format and
// the backing volume's path (looked up as vol-info looks a volume up).
bool cmd_vol_create_as(shell& sh, const parsed_command& pc) {
  std::string name = *pc.value("name");
  std::string xml = "<volume>\n  <name>" + name + "</name>\n  <capacity>" +
                    std::to_string(scaled(*pc.value("capacity"))) + "</capacity>\n";
  if (auto a = pc.value("allocation"))
    xml += "  <allocation>" + std::to_string(scaled(*a)) + "</allocation>\n";
  if (auto f = pc.value("format"))
    xml += "  <target>\n    <format type='" + *f + "'/>\n  </target>\n";
  if (auto b = pc.value("backing-vol")) {
    json backing = sh.call("vol.info", {{"vol", *b}, {"pool", *pc.value("pool")}});
    xml += "  <backingStore>\n    <path>" + backing.value("path", "") + "</path>\n";
    if (auto bf = pc.value("backing-vol-format"))
      xml += "    <format type='" + *bf + "'/>\n";
    xml += "  </backingStore>\n";
  }
  xml += "</volume>\n";
  if (pc.flag("print-xml")) {
    std::cout << xml;
    return true;
  }
  json args = {{"pool", *pc.value("pool")}, {"xml", xml}, {"origin", "vol-create-as"}};
  if (uint32_t flags = option_flags(pc, proc::vol_create))
    args["flags"] = flags;
  sh.call("vol.create", args);
  std::cout << "Vol " << name << " created\n";
  return true;
}

// virsh's vol-clone --print-xml: the source's document with the new name, as libxml2
// writes it (attributes in double quotes); key and path stay the source's, as virsh
// leaves them.
std::string clone_xml(std::string xml, const std::string& name) {
  size_t open = xml.find("<name>");
  size_t close = xml.find("</name>", open);
  if (open != std::string::npos && close != std::string::npos) {
    std::string escaped;
    for (char c : name)
      escaped += c == '&'   ? "&amp;"
                 : c == '<' ? "&lt;"
                 : c == '>' ? "&gt;"
                            : std::string(1, c);
    xml.replace(open + 6, close - open - 6, escaped);
  }
  // name='value' -> name="value": a value never holds a raw quote (Domus escapes both).
  std::string out;
  bool in_tag = false, in_value = false;
  for (size_t i = 0; i < xml.size(); ++i) {
    char c = xml[i];
    if (!in_value && c == '<')
      in_tag = true;
    else if (!in_value && c == '>')
      in_tag = false;
    if (in_tag && c == '\'') {
      in_value = !in_value;
      out += '"';
    } else if (in_value && xml.compare(i, 6, "&apos;") == 0) {
      out += '\'';
      i += 5;
    } else {
      out += c;
    }
  }
  // virsh prints the node without a final newline (its blank line follows at once).
  while (!out.empty() && out.back() == '\n')
    out.pop_back();
  return out;
}

bool cmd_vol_clone(shell& sh, const parsed_command& pc) {
  if (pc.flag("print-xml")) {
    std::cout << clone_xml(sh.call("vol.xml", volume_args(pc)).value("xml", ""),
                           *pc.value("newname"));
    return true;
  }
  json args = volume_args(pc);
  args["name"] = *pc.value("newname");
  if (uint32_t flags = option_flags(pc, proc::vol_clone))
    args["flags"] = flags;
  sh.call("vol.clone", args);
  std::cout << "Vol " << *pc.value("newname") << " cloned from " << *pc.value("vol")
            << '\n';
  return true;
}

bool cmd_vol_create_from(shell& sh, const parsed_command& pc) {
  std::string file = *pc.value("file");
  json args = {{"pool", *pc.value("pool")},
               {"xml", read_input_file(file)},
               {"origin", file},
               {"input", volume_args(pc, "inputpool")}};
  if (pc.flag("validate"))
    args["validate"] = true;
  if (uint32_t flags = option_flags(pc, proc::vol_create_from))
    args["flags"] = flags;
  json v = sh.call("vol.create-from", args);
  std::cout << "Vol " << v.value("name", "") << " created from input vol "
            << *pc.value("vol") << '\n';
  return true;
}

bool cmd_vol_delete(shell& sh, const parsed_command& pc) {
  json args = volume_args(pc);
  if (uint32_t flags = option_flags(pc, proc::vol_delete))
    args["flags"] = flags;
  sh.call("vol.delete", args);
  std::cout << "Vol " << *pc.value("vol") << " deleted\n";
  return true;
}

// A leading '+' or '-' is a change (virsh: --delta implied by '+'; '-' needs --shrink).
bool cmd_vol_resize(shell& sh, const parsed_command& pc) {
  std::string text = *pc.value("capacity");
  uint32_t flags = option_flags(pc, proc::vol_resize);
  std::string number = text;
  if (!text.empty() && (text[0] == '+' || text[0] == '-')) {
    flags |= DOMUS_VOL_RESIZE_DELTA;
    if (text[0] == '-')
      flags |= DOMUS_VOL_RESIZE_SHRINK;
    number = text.substr(1);
  }
  json args = volume_args(pc);
  args["capacity"] = scaled(number);
  if (flags)
    args["flags"] = flags;
  sh.call("vol.resize", args);
  std::cout << "Size of volume '" << *pc.value("vol") << "' successfully changed to "
            << text << '\n';
  return true;
}

bool cmd_vol_wipe(shell& sh, const parsed_command& pc) {
  static const std::vector<std::string> algorithms = {
      "zero",     "nnsa",      "dod",        "bsi",    "gutmann",
      "schneier", "pfitzner7", "pfitzner33", "random", "trim"};
  json args = volume_args(pc);
  if (auto a = pc.value("algorithm")) {
    auto it = std::find(algorithms.begin(), algorithms.end(), *a);
    if (it == algorithms.end())
      throw std::runtime_error("Unsupported algorithm '" + *a + "'");
    args["algorithm"] = it - algorithms.begin();
  }
  sh.call("vol.wipe", args);
  std::cout << "Vol " << *pc.value("vol") << " wiped\n";
  return true;
}

} // namespace domus::cli
