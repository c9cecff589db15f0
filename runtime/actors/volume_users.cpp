#include "actors/volume_users.hpp"

#include <domus/model/xml_tree.hpp>

namespace domus::runtime {

namespace {

bool attr_is(const model::xml_node& n, const char* name, const std::string& value) {
  const std::string* a = n.attr(name);
  return a && *a == value;
}

// A path as the kernel resolves its text: repeated '/' and "." components dropped, no
// trailing '/' ("/pool//a/./b/" is "/pool/a/b"). Links are not resolved: a disk that
// reaches a volume through a link of its own is not seen.
std::string plain_path(const std::string& path) {
  std::string out;
  size_t i = 0;
  while (i < path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string::npos)
      j = path.size();
    std::string part = path.substr(i, j - i);
    if (!part.empty() && part != ".")
      out += "/" + part;
    i = j + 1;
  }
  return path.empty() || path[0] != '/' ? path : (out.empty() ? "/" : out);
}

bool path_is(const model::xml_node& n, const char* name, const std::string& plain) {
  const std::string* a = n.attr(name);
  return a && plain_path(*a) == plain;
}

bool disk_uses(const model::xml_node& disk, const volume_ref& v) {
  const model::xml_node* source = disk.child("source");
  if (!source)
    return false;
  if (attr_is(disk, "type", "volume"))
    return attr_is(*source, "pool", v.pool) && attr_is(*source, "volume", v.volume);
  std::string plain = plain_path(v.path);
  return !plain.empty() &&
         (path_is(*source, "file", plain) || path_is(*source, "dev", plain));
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
