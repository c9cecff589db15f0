#include "domus/model/domain_def.hpp"

#include "domain_rules.hpp"
#include "domus/model/domain_schema.hpp"
#include "domus/model/names.hpp"

#include <domus/protocol/errors.hpp>

#include <algorithm>

namespace domus::model {

using protocol::errc;
using protocol::error;

std::string domain_def::uuid_string() const {
  return uuid ? format_uuid(*uuid) : "";
}

namespace {

uint64_t number(const xml_node& el) {
  return std::stoull(el.text_content());
}

// Copies the values the runtime uses out of a conformed tree.
void read_fields(domain_def& def, const xml_node& root) {
  def.type = *root.attr("type");
  def.name = root.child("name")->text_content();
  if (auto* u = root.child("uuid"))
    def.uuid = parse_uuid(u->text_content());
  if (auto* m = root.child("memory"))
    def.memory_kib = number(*m);
  if (auto* m = root.child("currentMemory"))
    def.current_memory_kib = number(*m);
  if (auto* v = root.child("vcpu")) {
    def.vcpus = static_cast<uint32_t>(number(*v));
    if (auto* c = v->attr("current"))
      def.vcpus_current = static_cast<uint32_t>(std::stoul(*c));
  }
  const xml_node* type = root.child("os")->child("type");
  def.os_type = type->text_content();
  if (auto* a = type->attr("arch"))
    def.os_arch = *a;
  if (auto* m = type->attr("machine"))
    def.os_machine = *m;
}

// The child `name` of `parent`, added at its place in the schema's order when absent.
xml_node& place(xml_node& parent, const elem_rule& rule, std::string_view name) {
  if (auto* c = parent.child(name))
    return *c;
  const child_rule* want = rule.find_child(name);
  auto pos = std::find_if(parent.children.begin(), parent.children.end(), [&](auto& c) {
    if (c.is_text)
      return false;
    const child_rule* cr = rule.find_child(c.name);
    return !cr || cr > want;
  });
  return *parent.children.insert(pos, xml_node::element(std::string(name)));
}

void set_text(xml_node& el, std::string text) {
  el.children.clear();
  el.children.push_back(xml_node::text_node(std::move(text)));
}

// Removes an attribute when present.
void drop_attr(xml_node& el, std::string_view name) {
  el.attrs.erase(std::remove_if(el.attrs.begin(), el.attrs.end(),
                                [&](const xml_attr& a) { return a.name == name; }),
                 el.attrs.end());
}

// Sets an attribute, keeping the rule's attribute order.
void put_attr(xml_node& el, const elem_rule& rule, std::string_view name,
              std::string value) {
  for (auto& a : el.attrs)
    if (a.name == name) {
      a.value = std::move(value);
      return;
    }
  const attr_rule* want = rule.find_attr(name);
  auto pos = std::find_if(el.attrs.begin(), el.attrs.end(), [&](const xml_attr& a) {
    const attr_rule* ar = rule.find_attr(a.name);
    return !ar || ar > want;
  });
  el.attrs.insert(pos, xml_attr{std::string(name), std::move(value)});
}

// Writes the typed fields into a copy of the tree, where they win.
void store_fields(const domain_def& def, xml_node& root, std::optional<int> id) {
  const elem_rule& schema = domain_schema();
  put_attr(root, schema, "type", def.type);
  if (id)
    put_attr(root, schema, "id", std::to_string(*id));
  else
    drop_attr(root, "id");
  set_text(place(root, schema, "name"), def.name);
  if (def.uuid)
    set_text(place(root, schema, "uuid"), format_uuid(*def.uuid));
  auto size = [&](std::string_view name, uint64_t kib) {
    xml_node& m = place(root, schema, name);
    set_text(m, std::to_string(kib));
    put_attr(m, *schema.find_child(name)->rule, "unit", "KiB");
  };
  size("memory", def.memory_kib);
  if (def.current_memory_kib)
    size("currentMemory", def.current_memory_kib);
  const elem_rule& vcpu_rule = *schema.find_child("vcpu")->rule;
  xml_node& vcpu = place(root, schema, "vcpu");
  set_text(vcpu, std::to_string(def.vcpus));
  if (!vcpu.attr("placement"))
    put_attr(vcpu, vcpu_rule, "placement", "static");
  if (def.vcpus_current)
    put_attr(vcpu, vcpu_rule, "current", std::to_string(*def.vcpus_current));
  else
    drop_attr(vcpu, "current");
  const elem_rule& os_rule = *schema.find_child("os")->rule;
  const elem_rule& type_rule = *os_rule.find_child("type")->rule;
  xml_node& type = place(place(root, schema, "os"), os_rule, "type");
  set_text(type, def.os_type);
  if (!def.os_arch.empty())
    put_attr(type, type_rule, "arch", def.os_arch);
  if (!def.os_machine.empty())
    put_attr(type, type_rule, "machine", def.os_machine);
}

} // namespace

domain_def parse_domain(std::string_view xml, std::string_view origin, bool strict) {
  return parse_domain(parse_xml(xml, origin), origin, strict);
}

domain_def parse_domain(xml_node root, std::string_view origin, bool strict) {
  domain_def def;
  conform_report report;
  conform(root, domain_schema(), "/domain", conform_options{origin, strict}, report);
  check_domain(root, origin);
  read_fields(def, root);
  def.root = std::move(root);
  def.unknown = std::move(report.unknown);
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

xml_node& devices_of(domain_def& def) {
  return place(def.root, domain_schema(), "devices");
}

std::string format_domain(const domain_def& def, std::optional<int> id) {
  xml_node root = def.root;
  if (root.name.empty())
    root.name = "domain";
  store_fields(def, root, id);
  return to_xml_string(root);
}

} // namespace domus::model
