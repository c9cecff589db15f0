#include "domus/model/device_def.hpp"

#include "domus/model/domain_schema.hpp"
#include "domus/model/schema.hpp"

namespace domus::model {

namespace {

const elem_rule& devices_rule() {
  return *domain_schema().find_child("devices")->rule;
}

} // namespace

std::vector<std::string_view> device_names() {
  std::vector<std::string_view> out;
  for (auto& c : devices_rule().children)
    if (c.rule->name != "emulator")
      out.push_back(c.rule->name);
  return out;
}

std::string check_device(std::string_view xml, std::string_view origin,
                         const xml_limits& limits) {
  xml_node root = parse_xml(xml, origin, limits);
  const child_rule* rule = devices_rule().find_child(root.name);
  if (!rule || root.name == "emulator") {
    std::string names;
    for (auto n : device_names())
      names += (names.empty() ? "" : ", ") + std::string(n);
    fail_at(origin, root, "/" + root.name,
            "<" + root.name + "> is not a device (expected one of " + names + ")");
  }
  conform_report report;
  conform(root, *rule->rule, "/" + root.name, conform_options{origin, false}, report);
  return to_xml_string(root);
}

} // namespace domus::model
