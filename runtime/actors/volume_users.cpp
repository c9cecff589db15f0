#include "actors/volume_users.hpp"

#include <domus/model/xml_tree.hpp>

#include <initializer_list>

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

// Whether a device of `root` (<devices>' children) is one `uses` accepts.
template <class Uses> bool any_device(const model::xml_node& root, Uses&& uses) {
  const model::xml_node* devices = root.child("devices");
  if (!devices)
    return false;
  for (const auto& d : devices->children)
    if (!d.is_text && uses(d))
      return true;
  return false;
}

// The same over a definition, read again only when it is compacted and its text holds
// one of `names` (attribute values are escaped there): most definitions name none.
template <class Uses>
bool any_device(const model::domain_def& def, std::initializer_list<std::string> names,
                Uses&& uses) {
  if (!def.compact())
    return any_device(def.root(), uses);
  bool named = false;
  for (const auto& n : names)
    named = named ||
            (!n.empty() && def.text.find(model::escaped_xml(n)) != std::string::npos);
  if (!named)
    return false;
  try {
    return any_device(model::parse_xml(def.text, "a stored definition"), uses);
  } catch (const std::exception&) {
    return false; // Domus's own output: it parses
  }
}

} // namespace

bool uses_volume(const model::domain_def& def, const volume_ref& v) {
  return any_device(def, {v.volume, v.path}, [&](const model::xml_node& d) {
    return d.name == "disk" && disk_uses(d, v);
  });
}

bool uses_pool(const model::domain_def& def, const std::string& pool) {
  return any_device(def, {pool}, [&](const model::xml_node& d) {
    const model::xml_node* source = d.child("source");
    return d.name == "disk" && attr_is(d, "type", "volume") && source &&
           attr_is(*source, "pool", pool);
  });
}

bool uses_network(const model::domain_def& def, const std::string& network) {
  return any_device(def, {network}, [&](const model::xml_node& d) {
    const model::xml_node* source = d.child("source");
    return d.name == "interface" && attr_is(d, "type", "network") && source &&
           attr_is(*source, "network", network);
  });
}

} // namespace domus::runtime
