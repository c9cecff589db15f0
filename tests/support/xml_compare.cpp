#include "xml_compare.hpp"

#include <libxml/parser.h>
#include <libxml/relaxng.h>

#include <algorithm>
#include <map>
#include <set>
#include <vector>

namespace domus::testing {

using model::xml_node;

namespace {

std::string trimmed(const std::string& s) {
  auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos)
    return "";
  return s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1);
}

// Why `a` itself (its name, its attributes, the text of a leaf) does not match `b`, or
// "" when it does; `here` is its path.
std::string own_mismatch(const xml_node& a, const xml_node& b, const std::string& here) {
  if (a.name != b.name)
    return here + ": element <" + a.name + "> against <" + b.name + ">";
  for (auto& attr : a.attrs) {
    const std::string* v = b.attr(attr.name);
    if (!v)
      return here + "/@" + attr.name + ": not in theirs";
    if (*v != attr.value)
      return here + "/@" + attr.name + ": '" + attr.value + "' against '" + *v + "'";
  }
  if (!a.has_elements() && !b.has_elements()) {
    std::string ta = trimmed(a.text_content()), tb = trimmed(b.text_content());
    if (ta != tb)
      return here + ": text '" + ta + "' against '" + tb + "'";
  }
  return "";
}

// Why `a` does not match `b`, or "" when it does (recursively contained).
std::string mismatch(const xml_node& a, const xml_node& b, const std::string& path) {
  std::string here = path + "/" + a.name;
  if (std::string why = own_mismatch(a, b, here); !why.empty())
    return why;
  // Earliest matches first: if any order-preserving match exists, this finds one.
  size_t j = 0;
  for (auto& c : a.children) {
    if (c.is_text)
      continue;
    std::string first_why;
    bool found = false;
    for (; j < b.children.size(); ++j) {
      const xml_node& d = b.children[j];
      if (d.is_text || d.name != c.name)
        continue;
      std::string why = mismatch(c, d, here);
      if (why.empty()) {
        found = true;
        ++j;
        break;
      }
      if (first_why.empty())
        first_why = why;
    }
    if (!found)
      return first_why.empty()
                 ? here + "/" + c.name + " (line " + std::to_string(c.line) +
                       "): no such element in theirs at this place"
                 : first_why;
  }
  return "";
}

void count_paths(const xml_node& n, const std::string& prefix,
                 std::map<std::string, int>& elements, std::set<std::string>& attrs) {
  std::string path = prefix + "/" + n.name;
  ++elements[path];
  for (auto& a : n.attrs)
    attrs.insert(path + "/@" + a.name);
  for (auto& c : n.children)
    if (!c.is_text)
      count_paths(c, path, elements, attrs);
}

} // namespace

std::optional<std::string> not_contained(const xml_node& ours, const xml_node& theirs) {
  std::string why = mismatch(ours, theirs, "");
  if (why.empty())
    return std::nullopt;
  return why;
}

namespace {

std::string difference(const xml_node& a, const xml_node& b, const std::string& path) {
  std::string here = path + "/" + a.name;
  if (std::string why = own_mismatch(a, b, here); !why.empty())
    return why;
  for (auto& attr : b.attrs)
    if (!a.attr(attr.name))
      return here + "/@" + attr.name + ": only in theirs ('" + attr.value + "')";
  std::vector<const xml_node*> ea, eb;
  for (auto& c : a.children)
    if (!c.is_text)
      ea.push_back(&c);
  for (auto& c : b.children)
    if (!c.is_text)
      eb.push_back(&c);
  for (size_t i = 0; i < std::max(ea.size(), eb.size()); ++i) {
    if (i >= ea.size())
      return here + ": theirs has <" + eb[i]->name + "> more (child " +
             std::to_string(i + 1) + ")";
    if (i >= eb.size())
      return here + ": ours has <" + ea[i]->name + "> more (child " +
             std::to_string(i + 1) + ")";
    std::string why = difference(*ea[i], *eb[i], here);
    if (!why.empty())
      return why;
  }
  return "";
}

} // namespace

std::optional<std::string> differs(const xml_node& ours, const xml_node& theirs) {
  std::string why = difference(ours, theirs, "");
  if (why.empty())
    return std::nullopt;
  return why;
}

std::optional<std::string> not_covered(const xml_node& input, const xml_node& output,
                                       const xml_node& theirs) {
  std::map<std::string, int> in_el, out_el, their_el;
  std::set<std::string> in_attr, out_attr, their_attr;
  count_paths(input, "", in_el, in_attr);
  count_paths(output, "", out_el, out_attr);
  count_paths(theirs, "", their_el, their_attr);
  for (auto& [path, n] : in_el)
    if (out_el[path] < std::min(n, their_el[path]))
      return path + ": " + std::to_string(n) + " in the input, " +
             std::to_string(out_el[path]) + " in the output";
  for (auto& a : in_attr)
    if (!out_attr.count(a) && their_attr.count(a))
      return a + ": dropped";
  return std::nullopt;
}

namespace {

void collect(void* user, const xmlError* e) {
  auto* out = static_cast<std::string*>(user);
  *out += "line " + std::to_string(e->line) + ": " + (e->message ? e->message : "?");
}

} // namespace

std::string relaxng_errors(const std::string& schema_path, const std::string& xml) {
  std::string errors;
  // Parsing libvirt's schema takes a while: once per file, freed at exit (so that a
  // leak checker sees none).
  struct cache {
    std::map<std::string, xmlRelaxNGPtr> parsed;
    ~cache() {
      for (auto& [_, s] : parsed)
        if (s)
          xmlRelaxNGFree(s);
    }
  };
  static cache schemas;
  xmlRelaxNGPtr& schema = schemas.parsed[schema_path];
  if (!schema) {
    xmlRelaxNGParserCtxtPtr pc = xmlRelaxNGNewParserCtxt(schema_path.c_str());
    schema = xmlRelaxNGParse(pc);
    xmlRelaxNGFreeParserCtxt(pc);
  }
  if (!schema)
    return "cannot load the schema " + schema_path;
  xmlDocPtr doc = xmlReadMemory(xml.data(), static_cast<int>(xml.size()), "doc.xml",
                                nullptr, XML_PARSE_NONET);
  if (!doc)
    return "not well-formed";
  xmlRelaxNGValidCtxtPtr vc = xmlRelaxNGNewValidCtxt(schema);
  xmlRelaxNGSetValidStructuredErrors(
      vc, [](void* u, xmlErrorPtr e) { collect(u, e); }, &errors);
  int rc = xmlRelaxNGValidateDoc(vc, doc);
  xmlRelaxNGFreeValidCtxt(vc);
  xmlFreeDoc(doc);
  if (rc != 0 && errors.empty())
    errors = "invalid";
  return rc == 0 ? "" : errors;
}

} // namespace domus::testing
