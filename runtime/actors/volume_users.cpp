#include "actors/volume_users.hpp"

#include <domus/model/xml_tree.hpp>

namespace domus::runtime {

namespace {

bool attr_is(const model::xml_node& n, const char* name, const std::string& value) {
  const std::string* a = n.attr(name);
  return a && *a == value;
}

bool disk_uses(const model::xml_node& disk, const volume_ref& v) {
  const model::xml_node* source = disk.child("source");
  if (!source)
    return false;
  if (attr_is(disk, "type", "volume"))
    return attr_is(*source, "pool", v.pool) && attr_is(*source, "volume", v.volume);
  return !v.path.empty() &&
         (attr_is(*source, "file", v.path) || attr_is(*source, "dev", v.path));
}

bool devices_use(const model::xml_node& root, const volume_ref& v) {
  const model::xml_node* devices = root.child("devices");
  if (!devices)
    return false;
  for (const auto& d : devices->children)
    if (!d.is_text && d.name == "disk" && disk_uses(d, v))
      return true;
  return false;
}

} // namespace

bool uses_volume(const model::domain_def& def, const volume_ref& v) {
  if (!def.compact())
    return devices_use(def.root(), v);
  // The text of most definitions names neither: no parse for them. The text holds
  // attribute values escaped.
  bool named =
      def.text.find(model::escaped_xml(v.volume)) != std::string::npos ||
      (!v.path.empty() && def.text.find(model::escaped_xml(v.path)) != std::string::npos);
  if (!named)
    return false;
  try {
    return devices_use(model::parse_xml(def.text, "a stored definition"), v);
  } catch (const std::exception&) {
    return false; // Domus's own output: it parses
  }
}

} // namespace domus::runtime
