#include "domus/model/domain_def.hpp"

#include "domus/model/names.hpp"
#include "domus/model/units.hpp"

#include <domus/protocol/errors.hpp>

#include <algorithm>
#include <cctype>

namespace domus::model {

using protocol::errc;
using protocol::error;

std::string domain_def::uuid_string() const {
  return uuid ? format_uuid(*uuid) : "";
}

namespace {

// libvirt's order of <domain>'s children; a kept child is written at its place in this
// list, one the list does not know after all of them.
const std::string_view domain_child_order[] = {
    "name",
    "uuid",
    "genid",
    "title",
    "description",
    "metadata",
    "maxMemory",
    "memory",
    "currentMemory",
    "blkiotune",
    "memtune",
    "memoryBacking",
    "vcpu",
    "vcpus",
    "iothreads",
    "iothreadids",
    "defaultiothread",
    "cputune",
    "numatune",
    "resource",
    "sysinfo",
    "bootloader",
    "bootloader_args",
    "os",
    "idmap",
    "features",
    "cpu",
    "clock",
    "on_poweroff",
    "on_reboot",
    "on_crash",
    "on_lockfailure",
    "pm",
    "perf",
    "devices",
    "seclabel",
    "keywrap",
    "launchSecurity",
};

size_t order_of(std::string_view name) {
  auto* b = std::begin(domain_child_order);
  auto* e = std::end(domain_child_order);
  auto* it = std::find(b, e, name);
  return static_cast<size_t>(it - b);
}

// Where an error happened, for "ORIGIN:LINE: PATH: message".
struct context {
  std::string_view origin;

  [[noreturn]] void fail(const xml_node& at, std::string_view path,
                         const std::string& msg, errc code = errc::xml_error) const {
    std::string out(origin);
    if (at.line > 0)
      out += ":" + std::to_string(at.line);
    out += ": ";
    out += path;
    out += ": " + msg;
    throw error(code, out);
  }
};

std::optional<uint64_t> parse_u64(std::string_view text) {
  auto b = text.find_first_not_of(" \t\r\n");
  auto e = text.find_last_not_of(" \t\r\n");
  if (b == std::string_view::npos)
    return std::nullopt;
  text = text.substr(b, e - b + 1);
  uint64_t v = 0;
  for (char c : text) {
    if (!std::isdigit(static_cast<unsigned char>(c)))
      return std::nullopt;
    uint64_t d = static_cast<uint64_t>(c - '0');
    if (v > (UINT64_MAX - d) / 10)
      return std::nullopt;
    v = v * 10 + d;
  }
  return v;
}

uint64_t parse_memory(const context& cx, const xml_node& el, std::string_view path,
                      std::vector<xml_attr>* kept_attrs) {
  uint64_t scale = 1024;
  for (auto& a : el.attrs) {
    if (a.name == "unit") {
      auto s = unit_scale(a.value);
      if (!s)
        cx.fail(el, path,
                "unknown unit '" + a.value + "' (expected one of " +
                    std::string(accepted_units()) + ")");
      scale = *s;
    } else if (kept_attrs) {
      kept_attrs->push_back(a);
    }
  }
  auto value = parse_u64(el.text_content());
  if (!value)
    cx.fail(el, path, "'" + el.text_content() + "' is not a non-negative integer");
  auto kib = to_kib(*value, scale);
  if (!kib || *kib > (uint64_t{1} << 53))
    cx.fail(el, path, "'" + el.text_content() + "' is too large");
  return *kib;
}

uint32_t parse_count(const context& cx, const xml_node& at, std::string_view path,
                     std::string_view text, std::string_view what) {
  auto v = parse_u64(text);
  if (!v || *v == 0 || *v > 16384)
    cx.fail(at, path,
            std::string(what) + " '" + std::string(text) +
                "' is not a whole number from 1 to 16384");
  return static_cast<uint32_t>(*v);
}

void parse_os(const context& cx, const xml_node& os, domain_def& def) {
  def.os_attrs = os.attrs;
  const xml_node* type = nullptr;
  for (auto& c : os.children) {
    if (!c.is_text && c.name == "type") {
      if (type)
        cx.fail(c, "/domain/os/type",
                "given twice (first on line " + std::to_string(type->line) + ")");
      type = &c;
    } else if (!c.is_text) {
      def.os_children.push_back(c);
    }
  }
  if (!type || type->text_content().empty())
    cx.fail(os, "/domain/os", "an os <type> must be given (e.g. <type>hvm</type>)");
  def.os_type = type->text_content();
  for (auto& a : type->attrs) {
    if (a.name == "arch")
      def.os_arch = a.value;
    else if (a.name == "machine")
      def.os_machine = a.value;
    else
      def.os_type_attrs.push_back(a);
  }
}

} // namespace

domain_def parse_domain(std::string_view xml, std::string_view origin) {
  return parse_domain(parse_xml(xml, origin), origin);
}

domain_def parse_domain(const xml_node& root, std::string_view origin) {
  context cx{origin};
  if (root.name != "domain")
    cx.fail(root, "/" + root.name, "expected a <domain> root element");
  domain_def def;
  for (auto& a : root.attrs) {
    if (a.name == "type")
      def.type = a.value;
    else if (a.name != "id") // the id is live state, never part of a definition
      def.domain_attrs.push_back(a);
  }
  if (def.type.empty())
    cx.fail(root, "/domain", "missing the type attribute (e.g. <domain type='test'>)");

  const xml_node* seen[6] = {};
  auto once = [&](int slot, const xml_node& c) {
    if (seen[slot])
      cx.fail(c, "/domain/" + c.name,
              "given twice (first on line " + std::to_string(seen[slot]->line) + ")");
    seen[slot] = &c;
  };
  for (auto& c : root.children) {
    if (c.is_text)
      continue;
    if (c.name == "name") {
      once(0, c);
      def.name = c.text_content();
    } else if (c.name == "uuid") {
      once(1, c);
      auto u = parse_uuid(c.text_content());
      if (!u)
        cx.fail(c, "/domain/uuid",
                "malformed UUID '" + c.text_content() +
                    "' (expected 32 hex digits, dashes optional)");
      def.uuid = *u;
    } else if (c.name == "memory") {
      once(2, c);
      def.memory_kib = parse_memory(cx, c, "/domain/memory", &def.memory_attrs);
    } else if (c.name == "currentMemory") {
      once(3, c);
      def.current_memory_kib = parse_memory(cx, c, "/domain/currentMemory", nullptr);
    } else if (c.name == "vcpu") {
      once(4, c);
      def.vcpus = parse_count(cx, c, "/domain/vcpu", c.text_content(), "vcpu count");
      for (auto& a : c.attrs) {
        if (a.name == "current")
          def.vcpus_current =
              parse_count(cx, c, "/domain/vcpu/@current", a.value, "current vcpu count");
        else
          def.vcpu_attrs.push_back(a);
      }
    } else if (c.name == "os") {
      once(5, c);
      parse_os(cx, c, def);
    } else {
      def.children.push_back(c);
    }
  }
  if (!seen[0] || def.name.empty())
    cx.fail(root, "/domain/name", "a domain needs a <name>");
  try {
    check_name(def.name);
  } catch (const error& e) {
    cx.fail(*seen[0], "/domain/name", e.what(), errc::invalid_name);
  }
  if (!seen[2])
    cx.fail(root, "/domain", "memory size must be given with <memory>");
  if (def.memory_kib == 0)
    cx.fail(*seen[2], "/domain/memory", "memory size must be greater than 0");
  if (!seen[5])
    cx.fail(root, "/domain/os",
            "an os <type> must be given (e.g. <os><type>hvm</type></os>)");
  if (def.vcpus_current && *def.vcpus_current > def.vcpus)
    cx.fail(*seen[4], "/domain/vcpu",
            "current vcpu count " + std::to_string(*def.vcpus_current) +
                " is greater than the maximum " + std::to_string(def.vcpus));
  std::stable_sort(def.children.begin(), def.children.end(),
                   [](const xml_node& a, const xml_node& b) {
                     return order_of(a.name) < order_of(b.name);
                   });
  return def;
}

void normalize(domain_def& def) {
  if (!def.uuid)
    def.uuid = generate_uuid();
  if (def.current_memory_kib == 0 || def.current_memory_kib > def.memory_kib)
    def.current_memory_kib = def.memory_kib;
  if (def.vcpus_current && *def.vcpus_current == def.vcpus)
    def.vcpus_current.reset();
}

namespace {

xml_node leaf(std::string_view name, std::string value) {
  xml_node n = xml_node::element(std::string(name));
  n.children.push_back(xml_node::text_node(std::move(value)));
  return n;
}

xml_node memory_node(std::string_view name, uint64_t kib,
                     const std::vector<xml_attr>& extra) {
  xml_node m = leaf(name, std::to_string(kib));
  m.set_attr("unit", "KiB");
  for (auto& a : extra)
    m.attrs.push_back(a);
  return m;
}

} // namespace

std::string format_domain(const domain_def& def, std::optional<int> id) {
  xml_node root = xml_node::element("domain");
  root.set_attr("type", def.type);
  if (id)
    root.set_attr("id", std::to_string(*id));
  for (auto& a : def.domain_attrs)
    root.attrs.push_back(a);

  auto& out = root.children;
  size_t next_kept = 0;
  // Kept children that libvirt writes before the element at `position`.
  auto kept_before = [&](size_t position) {
    while (next_kept < def.children.size() &&
           order_of(def.children[next_kept].name) < position)
      out.push_back(def.children[next_kept++]);
  };

  kept_before(order_of("name"));
  out.push_back(leaf("name", def.name));
  kept_before(order_of("uuid"));
  if (def.uuid)
    out.push_back(leaf("uuid", format_uuid(*def.uuid)));
  kept_before(order_of("memory"));
  out.push_back(memory_node("memory", def.memory_kib, def.memory_attrs));
  kept_before(order_of("currentMemory"));
  if (def.current_memory_kib)
    out.push_back(memory_node("currentMemory", def.current_memory_kib, {}));
  kept_before(order_of("vcpu"));
  {
    xml_node v = leaf("vcpu", std::to_string(def.vcpus));
    const std::string* placement = nullptr;
    for (auto& a : def.vcpu_attrs)
      if (a.name == "placement")
        placement = &a.value;
    v.set_attr("placement", placement ? *placement : "static");
    for (auto& a : def.vcpu_attrs)
      if (a.name != "placement")
        v.attrs.push_back(a);
    if (def.vcpus_current)
      v.set_attr("current", std::to_string(*def.vcpus_current));
    out.push_back(std::move(v));
  }
  kept_before(order_of("os"));
  {
    xml_node os = xml_node::element("os");
    os.attrs = def.os_attrs;
    xml_node type = leaf("type", def.os_type);
    if (!def.os_arch.empty())
      type.set_attr("arch", def.os_arch);
    if (!def.os_machine.empty())
      type.set_attr("machine", def.os_machine);
    for (auto& a : def.os_type_attrs)
      type.attrs.push_back(a);
    os.children.push_back(std::move(type));
    for (auto& c : def.os_children)
      os.children.push_back(c);
    out.push_back(std::move(os));
  }
  kept_before(SIZE_MAX);
  return to_xml_string(root);
}

} // namespace domus::model
