#include "domus/model/storage_def.hpp"

#include "domus/model/names.hpp"
#include "domus/model/storage_schema.hpp"

#include <domus/errors.hpp>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>

namespace domus::model {

namespace {

void drop_child(xml_node& el, std::string_view name) {
  el.children.erase(
      std::remove_if(el.children.begin(), el.children.end(),
                     [&](const xml_node& c) { return !c.is_text && c.name == name; }),
      el.children.end());
}

const elem_rule& rule_of(const elem_rule& parent, std::string_view child) {
  return *parent.find_child(child)->rule;
}

// libvirt's cleaned path: no repeated '/', none at the end (but the root itself).
std::string clean_path(const std::string& p) {
  std::string out;
  for (char c : p)
    if (!(c == '/' && !out.empty() && out.back() == '/'))
      out += c;
  // A trailing '/' goes, and so does the whitespace it leaves last: the path is read
  // trimmed, so a stored path must not end in whitespace to read back the same.
  while (out.size() > 1 &&
         (out.back() == '/' || std::isspace(static_cast<unsigned char>(out.back()))))
    out.pop_back();
  return out;
}

// A number of <permissions> as libvirt reads it: the mode in octal (at most 0777), the
// owner and group in decimal (-1: left as they are). nullopt when malformed.
std::optional<long> permission_number(const std::string& text, int base) {
  if (text.empty())
    return std::nullopt;
  errno = 0;
  char* end = nullptr;
  long v = std::strtol(text.c_str(), &end, base);
  if (errno != 0 || *end != '\0' || v < -1 || v > INT32_MAX)
    return std::nullopt;
  return v;
}

// <permissions> written as libvirt writes it: <mode>0644</mode>, <owner>107</owner>.
void normalize_permissions(xml_node* perms, std::string_view origin,
                           const std::string& path) {
  if (!perms)
    return;
  if (xml_node* mode = perms->child("mode")) {
    auto v = permission_number(mode->trimmed_text(), 8);
    if (!v || *v < 0 || (*v & ~0777))
      fail_at(origin, *mode, path + "/mode",
              "malformed octal mode '" + mode->trimmed_text() + "' (0000 to 0777)");
    char buf[16];
    std::snprintf(buf, sizeof buf, "0%lo", static_cast<unsigned long>(*v));
    mode->set_text(buf);
  }
  for (auto who : {"owner", "group"})
    if (xml_node* el = perms->child(who)) {
      auto v = permission_number(el->trimmed_text(), 10);
      if (!v)
        fail_at(origin, *el, path + "/" + who,
                "malformed " + std::string(who) + " '" + el->trimmed_text() +
                    "' (a number, or -1)");
      el->set_text(std::to_string(*v));
    }
}

// The element's root check: a pool document must hold a <pool>.
void expect_root(const xml_node& root, std::string_view name, std::string_view origin) {
  if (root.name != name)
    fail_at(origin, root, "/" + root.name,
            "expected a <" + std::string(name) + "> element, found <" + root.name + ">");
}

// Pool types whose target is a directory or device path libvirt requires.
bool needs_target_path(const std::string& type) {
  return type == "dir" || type == "fs" || type == "netfs";
}

// The formats a file volume (of a dir, fs or netfs pool) may have, libvirt's.
const std::vector<std::string_view> file_formats = {
    "raw", "dir", "bochs", "cloop", "dmg",  "iso",   "vpc", "vdi",
    "fat", "vhd", "ploop", "cow",   "qcow", "qcow2", "qed", "vmdk"};

bool holds_files(const std::string& pool_type) {
  return pool_type == "dir" || pool_type == "fs" || pool_type == "netfs" ||
         pool_type == "gluster" || pool_type == "vstorage";
}

// The document's root, checked to be `name` and conformed to its schema.
xml_node conformed_root(std::string_view xml, std::string_view origin,
                        std::string_view name, const elem_rule& schema, parse_mode mode,
                        const xml_limits& limits, conform_report& report) {
  xml_node root = parse_xml(xml, origin, limits);
  expect_root(root, name, origin);
  conform(root, schema, "/" + std::string(name),
          conform_options{origin, mode == parse_mode::strict}, report);
  return root;
}

// A volume's target or backing store: its timestamps dropped (libvirt reports them and
// never reads them back), its path and format read, its permissions normalized.
void read_store(xml_node& el, std::string_view origin, const std::string& path,
                std::string& file, std::string& format) {
  drop_child(el, "timestamps");
  if (auto* p = el.child("path"))
    file = p->trimmed_text();
  if (auto* f = el.child("format"))
    format = *f->attr("type");
  normalize_permissions(el.child("permissions"), origin, path + "/permissions");
}

// A size child, in bytes.
void write_size(xml_node& root, const elem_rule& schema, std::string_view name,
                uint64_t bytes) {
  xml_node& el = place_child(root, schema, name);
  el.set_text(std::to_string(bytes));
  place_attr(el, rule_of(schema, name), "unit", "bytes");
}

} // namespace

pool_def parse_pool(std::string_view xml, std::string_view origin, parse_mode mode,
                    const xml_limits& limits) {
  xml_node root = parse_xml(xml, origin, limits);
  expect_root(root, "pool", origin);
  conform_report report;
  conform(root, pool_schema(), "/pool",
          conform_options{origin, mode == parse_mode::strict}, report);
  pool_def def;
  def.type = *root.attr("type");
  def.name = root.child("name")->trimmed_text();
  check_name(def.name, "pool");
  if (auto* u = root.child("uuid"))
    def.uuid = parse_uuid(u->text_content());
  auto size = [&](std::string_view name) {
    auto* el = root.child(name);
    return el ? std::stoull(el->text_content()) : 0;
  };
  def.sizes = {size("capacity"), size("allocation"), size("available")};
  if (auto* t = root.child("target"))
    if (auto* p = t->child("path"))
      def.target_path = clean_path(p->trimmed_text());
  if (def.target_path.empty() && needs_target_path(def.type))
    fail_at(origin, root, "/pool/target/path",
            "a " + def.type + " pool needs a target path (<target><path>)");
  if (!def.target_path.empty() && def.target_path[0] != '/')
    fail_at(origin, *root.child("target"), "/pool/target/path",
            "target path '" + def.target_path + "' is not absolute");
  if (xml_node* t = root.child("target"))
    normalize_permissions(t->child("permissions"), origin, "/pool/target/permissions");
  def.root = std::move(root);
  def.unknown = std::move(report.unknown);
  return def;
}

void normalize(pool_def& def) {
  def.sizes = {};
  if (!def.uuid)
    def.uuid = generate_uuid();
  const elem_rule& schema = pool_schema();
  const elem_rule& source_rule = rule_of(schema, "source");
  xml_node& source = place_child(def.root, schema, "source");
  auto default_format = [&](std::string_view type) {
    if (!source.child("format"))
      place_attr(place_child(source, source_rule, "format"),
                 rule_of(source_rule, "format"), "type", std::string(type));
  };
  if (def.type == "logical") {
    // libvirt names the volume group after the pool, and its target after the group.
    if (!source.child("name"))
      place_child(source, source_rule, "name").set_text(def.name);
    default_format("lvm2");
    if (def.target_path.empty())
      def.target_path = "/dev/" + source.child("name")->trimmed_text();
  } else if (def.type == "fs" || def.type == "netfs") {
    default_format("auto");
  }
}

std::string format_pool(const pool_def& def) {
  const pool_sizes& sizes = def.sizes;
  const elem_rule& schema = pool_schema();
  xml_node root = def.root;
  place_attr(root, schema, "type", def.type);
  place_child(root, schema, "name").set_text(def.name);
  if (def.uuid)
    place_child(root, schema, "uuid").set_text(format_uuid(*def.uuid));
  write_size(root, schema, "capacity", sizes.capacity);
  write_size(root, schema, "allocation", sizes.allocation);
  write_size(root, schema, "available", sizes.available);
  // libvirt writes an empty source open and closed on two lines.
  xml_node& source = place_child(root, schema, "source");
  if (!source.has_elements())
    source.set_text("\n  ");
  if (!def.target_path.empty())
    place_child(place_child(root, schema, "target"), rule_of(schema, "target"), "path")
        .set_text(def.target_path);
  return to_xml_string(root);
}

volume_def parse_volume(std::string_view xml, std::string_view origin,
                        const pool_def& pool, parse_mode mode, const xml_limits& limits) {
  conform_report report;
  xml_node root =
      conformed_root(xml, origin, "volume", volume_schema(), mode, limits, report);
  volume_def def;
  def.type = root.attr("type") ? *root.attr("type") : "file";
  def.name = root.child("name")->trimmed_text();
  check_name(def.name, "volume");
  if (auto* k = root.child("key"))
    def.key = k->trimmed_text();
  def.capacity = std::stoull(root.child("capacity")->text_content());
  auto* alloc = root.child("allocation");
  def.allocation = alloc ? std::stoull(alloc->text_content()) : def.capacity;
  // What libvirt reports and never reads back: the source's extents, the timestamps.
  drop_child(root, "source");
  if (xml_node* target = root.child("target")) {
    read_store(*target, origin, "/volume/target", def.target_path, def.format);
    if (target->child("features") && !target->child("compat") && holds_files(pool.type))
      place_child(*target, rule_of(volume_schema(), "target"), "compat").set_text("1.1");
  }
  if (def.format.empty() && holds_files(pool.type))
    def.format = "raw";
  if (holds_files(pool.type) && std::find(file_formats.begin(), file_formats.end(),
                                          def.format) == file_formats.end())
    fail_at(origin, *root.child("target"), "/volume/target/format",
            "unknown volume format type '" + def.format + "' (a " + pool.type +
                " pool's volumes are raw, qcow2, vmdk, iso, ...)");
  if (xml_node* backing = root.child("backingStore"))
    read_store(*backing, origin, "/volume/backingStore", def.backing_path,
               def.backing_format);
  def.root = std::move(root);
  def.unknown = std::move(report.unknown);
  return def;
}

std::string format_volume(const volume_def& def) {
  const elem_rule& schema = volume_schema();
  xml_node root = def.root;
  place_attr(root, schema, "type", def.type);
  place_child(root, schema, "name").set_text(def.name);
  if (!def.key.empty())
    place_child(root, schema, "key").set_text(def.key);
  write_size(root, schema, "capacity", def.capacity);
  write_size(root, schema, "allocation", def.allocation);
  if (!def.target_path.empty() || !def.format.empty()) {
    const elem_rule& target_rule = rule_of(schema, "target");
    xml_node& target = place_child(root, schema, "target");
    if (!def.target_path.empty())
      place_child(target, target_rule, "path").set_text(def.target_path);
    if (!def.format.empty())
      place_attr(place_child(target, target_rule, "format"),
                 rule_of(target_rule, "format"), "type", def.format);
  }
  return to_xml_string(root);
}

} // namespace domus::model
