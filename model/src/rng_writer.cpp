// Writes a schema table as RelaxNG, so that tools outside Domus (xmllint, editors) check
// documents against exactly what Domus accepts.
#include "domus/model/schema.hpp"

#include <map>
#include <set>

namespace domus::model {

namespace {

const char* const unit_pattern = "[bB]|[bB][yY][tT][eE][sS]?|[kKmMgGtTpPeE]([iI]?[bB])?";

std::string escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '&')
      out += "&amp;";
    else if (c == '<')
      out += "&lt;";
    else if (c == '"')
      out += "&quot;";
    else
      out += c;
  }
  return out;
}

std::string pattern(std::string_view p) {
  return "<data type=\"string\"><param name=\"pattern\">" + escape(p) + "</param></data>";
}

std::string data(const value_type& t) {
  using k = value_type::kind;
  switch (t.k) {
  case k::text:
    return "<text/>";
  case k::uint:
    return "<data type=\"unsignedLong\"/>";
  case k::sint:
    return "<data type=\"long\"/>";
  case k::hex_uint:
    return pattern("0[xX][0-9a-fA-F]{1,16}|[0-9]+");
  case k::uuid:
    return pattern("(-*[0-9a-fA-F]){32}-*");
  case k::cpuset:
    return pattern("\\s*\\^?[0-9]+(-[0-9]+)?\\s*(,\\s*\\^?[0-9]+(-[0-9]+)?\\s*)*");
  case k::mac:
    return pattern("[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}");
  case k::choice: {
    std::string out = "<choice>";
    for (auto v : t.choices)
      out += "<value>" + escape(v) + "</value>";
    return out + "</choice>";
  }
  }
  return "<text/>";
}

struct writer {
  std::map<const elem_rule*, std::string> names;
  std::vector<const elem_rule*> order;
  std::string out;

  // Gives every rule a define name, its element name made unique, in breadth-first order.
  void name_all(const elem_rule& root) {
    std::set<std::string> taken;
    std::vector<const elem_rule*> queue{&root};
    for (size_t i = 0; i < queue.size(); ++i) {
      const elem_rule* r = queue[i];
      if (names.count(r))
        continue;
      std::string n(r->name);
      for (int k = 2; taken.count(n); ++k)
        n = std::string(r->name) + "-" + std::to_string(k);
      taken.insert(n);
      names[r] = n;
      order.push_back(r);
      for (auto& c : r->children)
        queue.push_back(c.rule);
    }
  }

  void line(int depth, const std::string& s) {
    out.append(static_cast<size_t>(depth) * 2, ' ');
    out += s;
    out += '\n';
  }

  void attribute(int depth, const attr_rule& a, bool unit_of_scaled) {
    std::string body = unit_of_scaled ? pattern(unit_pattern) : data(*a.type);
    std::string el =
        "<attribute name=\"" + escape(a.name) + "\">" + body + "</attribute>";
    line(depth, a.required ? el : "<optional>" + el + "</optional>");
  }

  void child(int depth, const child_rule& c) {
    std::string ref = "<ref name=\"" + names[c.rule] + "\"/>";
    if (c.many)
      line(depth, c.required ? "<oneOrMore>" + ref + "</oneOrMore>"
                             : "<zeroOrMore>" + ref + "</zeroOrMore>");
    else
      line(depth, c.required ? ref : "<optional>" + ref + "</optional>");
  }

  void define(const elem_rule& r) {
    line(1, "<define name=\"" + names[&r] + "\">");
    line(2, "<element name=\"" + escape(r.name) + "\">");
    if (r.mode == elem_rule::content::any) {
      line(3, "<ref name=\"any-content\"/>");
    } else {
      bool scaled =
          r.mode == elem_rule::content::scaled || r.mode == elem_rule::content::bytes;
      bool interleave = !r.children.empty();
      int d = interleave ? 4 : 3;
      if (interleave)
        line(3, "<interleave>");
      for (auto& a : r.attrs)
        attribute(d, a, scaled && a.name == "unit");
      for (auto& c : r.children)
        child(d, c);
      if (interleave)
        line(3, "</interleave>");
      if (scaled)
        line(3, data(vt::uint));
      else if (r.text)
        line(3, data(*r.text));
      else if (r.attrs.empty() && r.children.empty())
        line(3, "<empty/>");
    }
    line(2, "</element>");
    line(1, "</define>");
  }
};

} // namespace

std::string write_relaxng(const elem_rule& root) {
  writer w;
  w.name_all(root);
  w.out = "<?xml version=\"1.0\"?>\n"
          "<!-- Domus's schema for <" +
          std::string(root.name) + ">, written from the model's table (model/src/" +
          std::string(root.name) +
          "_schema.cpp).\n     Regenerate with DOMUS_REGENERATE=1 ctest -R model; do not "
          "edit by hand. -->\n";
  w.line(0, "<grammar xmlns=\"http://relaxng.org/ns/structure/1.0\" "
            "datatypeLibrary=\"http://www.w3.org/2001/XMLSchema-datatypes\">");
  w.line(1, "<start><ref name=\"" + w.names[&root] + "\"/></start>");
  for (auto* r : w.order)
    w.define(*r);
  // What `any` elements hold: anything at all, kept verbatim.
  w.line(1, "<define name=\"any-content\">");
  w.line(
      2,
      "<zeroOrMore><choice><attribute><anyName/></attribute><text/>"
      "<element><anyName/><ref name=\"any-content\"/></element></choice></zeroOrMore>");
  w.line(1, "</define>");
  w.line(0, "</grammar>");
  return w.out;
}

} // namespace domus::model
