#include "domus/model/domain_def.hpp"

#include "domain_rules.hpp"
#include "domus/model/domain_schema.hpp"
#include "domus/model/names.hpp"

#include <domus/errors.hpp>

#include <algorithm>

namespace domus::model {

using domus::errc;
using domus::error;

domain_def::domain_def(const domain_def& other)
    : domain_fields(other),
      tree(other.tree ? std::make_unique<domain_tree>(*other.tree) : nullptr),
      text(other.text), public_text(other.public_text) {}

domain_def& domain_def::operator=(const domain_def& other) {
  if (this != &other) {
    domain_fields::operator=(other);
    tree = other.tree ? std::make_unique<domain_tree>(*other.tree) : nullptr;
    text = other.text;
    public_text = other.public_text;
  }
  return *this;
}

const xml_node& domain_def::root() const {
  static const xml_node none;
  return tree ? tree->root : none;
}

xml_node& domain_def::root() {
  if (!tree)
    tree = std::make_unique<domain_tree>();
  return tree->root;
}

const std::vector<std::string>& domain_def::unknown() const {
  static const std::vector<std::string> none;
  return tree ? tree->unknown : none;
}

const std::vector<std::string>& domain_def::warnings() const {
  static const std::vector<std::string> none;
  return tree ? tree->warnings : none;
}

std::string domain_fields::uuid_string() const {
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

// Whether a child of the root holds typed fields (store_fields() writes these).
bool holds_field(std::string_view name) {
  return name == "name" || name == "uuid" || name == "memory" ||
         name == "currentMemory" || name == "vcpu" || name == "os";
}

// Writes the typed fields into a copy of the tree, where they win.
void store_fields(const domain_def& def, xml_node& root, std::optional<int> id) {
  const elem_rule& schema = domain_schema();
  place_attr(root, schema, "type", def.type);
  if (id)
    place_attr(root, schema, "id", std::to_string(*id));
  else
    root.remove_attr("id");
  place_child(root, schema, "name").set_text(def.name);
  if (def.uuid)
    place_child(root, schema, "uuid").set_text(format_uuid(*def.uuid));
  auto size = [&](std::string_view name, uint64_t kib) {
    xml_node& m = place_child(root, schema, name);
    m.set_text(std::to_string(kib));
    place_attr(m, *schema.find_child(name)->rule, "unit", "KiB");
  };
  size("memory", def.memory_kib);
  if (def.current_memory_kib)
    size("currentMemory", def.current_memory_kib);
  const elem_rule& vcpu_rule = *schema.find_child("vcpu")->rule;
  xml_node& vcpu = place_child(root, schema, "vcpu");
  vcpu.set_text(std::to_string(def.vcpus));
  if (!vcpu.attr("placement"))
    place_attr(vcpu, vcpu_rule, "placement", "static");
  if (def.vcpus_current)
    place_attr(vcpu, vcpu_rule, "current", std::to_string(*def.vcpus_current));
  else
    vcpu.remove_attr("current");
  const elem_rule& os_rule = *schema.find_child("os")->rule;
  const elem_rule& type_rule = *os_rule.find_child("type")->rule;
  xml_node& type = place_child(place_child(root, schema, "os"), os_rule, "type");
  type.set_text(def.os_type);
  if (!def.os_arch.empty())
    place_attr(type, type_rule, "arch", def.os_arch);
  if (!def.os_machine.empty())
    place_attr(type, type_rule, "machine", def.os_machine);
}

} // namespace

domain_def parse_domain(std::string_view xml, std::string_view origin, parse_mode mode,
                        const xml_limits& limits) {
  return parse_domain(parse_xml(xml, origin, limits), origin, mode);
}

uint64_t formatted_size(const domain_def& def) {
  return def.compact() ? def.text.size() : written_size(def.root());
}

domain_def parse_domain(xml_node root, std::string_view origin, parse_mode mode) {
  domain_def def;
  conform_report report;
  conform(root, domain_schema(), "/domain",
          conform_options{origin, mode == parse_mode::strict}, report);
  std::vector<std::string> warnings;
  check_domain(root, origin, mode != parse_mode::stored, warnings);
  read_fields(def, root);
  def.tree = std::make_unique<domain_tree>();
  def.tree->warnings = std::move(warnings);
  def.tree->root = std::move(root);
  def.tree->unknown = std::move(report.unknown);
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

domain_def compacted(const domain_def& def) {
  if (def.compact())
    return def;
  domain_def out;
  static_cast<domain_fields&>(out) = def;
  out.text = format_domain(def, secrets::keep);
  if (has_secrets(def.root(), domain_schema()))
    out.public_text = format_domain(def, secrets::omit);
  return out;
}

domain_def expanded(const domain_def& def) {
  if (!def.compact())
    return def;
  // Our own output, read back as it was written.
  return parse_domain(def.text, "<domain '" + def.name + "'>", parse_mode::stored);
}

namespace {

// A compact definition's text with id='N' where format_domain writes it: right after the
// type attribute that opens every definition it writes. nullopt when the text does not
// open that way.
std::optional<std::string> with_id(const std::string& text, int id) {
  static const std::string open = "<domain type='";
  if (text.compare(0, open.size(), open) != 0)
    return std::nullopt;
  size_t quote = text.find('\'', open.size());
  if (quote == std::string::npos)
    return std::nullopt;
  std::string out = text;
  out.insert(quote + 1, " id='" + std::to_string(id) + "'");
  return out;
}

} // namespace

std::string format_domain(const domain_def& def, secrets which, std::optional<int> id) {
  if (def.compact()) {
    const std::string& text =
        which == secrets::omit && !def.public_text.empty() ? def.public_text : def.text;
    if (!id)
      return text;
    if (auto out = with_id(text, *id))
      return *out;
    return format_domain(expanded(def), which, id);
  }
  const elem_rule& schema = domain_schema();
  const xml_node& tree = def.root();
  if (which == secrets::omit && has_secrets(tree, schema)) {
    xml_node root = tree;
    if (root.name.empty())
      root.name = "domain";
    store_fields(def, root, id);
    strip_secrets(root, schema);
    return to_xml_string(root);
  }
  // The typed fields change only the root's attributes and a few of its children: those
  // are copied and changed, the rest is written from the tree as it is (a copy of the
  // whole tree was a fifth of a define's cost).
  xml_node top = xml_node::element(tree.name.empty() ? "domain" : tree.name);
  top.attrs = tree.attrs;
  for (auto& c : tree.children)
    if (!c.is_text && holds_field(c.name))
      top.children.push_back(c);
  store_fields(def, top, id);
  // Both lists are in the schema's order (unknown children last): merged by it.
  auto rank = [&](const xml_node& c) {
    const child_rule* cr = schema.find_child(c.name);
    return cr ? static_cast<size_t>(cr - schema.children.data()) : schema.children.size();
  };
  std::vector<const xml_node*> children;
  children.reserve(tree.children.size() + top.children.size());
  auto field = top.children.begin();
  for (auto& c : tree.children) {
    if (c.is_text || holds_field(c.name))
      continue;
    for (size_t r = rank(c); field != top.children.end() && rank(*field) <= r; ++field)
      children.push_back(&*field);
    children.push_back(&c);
  }
  for (; field != top.children.end(); ++field)
    children.push_back(&*field);
  std::string out;
  out.reserve(4096);
  write_element(out, top, children);
  return out;
}

} // namespace domus::model
