#include "domus/model/xml_tree.hpp"

#include <domus/errors.hpp>

#include <libxml/SAX2.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>

#include <algorithm>
#include <cctype>
#include <memory>

namespace domus::model {

using domus::errc;
using domus::error;

const std::string* xml_node::attr(std::string_view n) const {
  for (auto& a : attrs)
    if (a.name == n)
      return &a.value;
  return nullptr;
}

void xml_node::set_attr(std::string_view n, std::string value) {
  for (auto& a : attrs)
    if (a.name == n) {
      a.value = std::move(value);
      return;
    }
  attrs.push_back({std::string(n), std::move(value)});
}

const xml_node* xml_node::child(std::string_view n) const {
  for (auto& c : children)
    if (!c.is_text && c.name == n)
      return &c;
  return nullptr;
}

xml_node* xml_node::child(std::string_view n) {
  for (auto& c : children)
    if (!c.is_text && c.name == n)
      return &c;
  return nullptr;
}

std::string xml_node::text_content() const {
  std::string out;
  for (auto& c : children)
    if (c.is_text)
      out += c.text;
  return out;
}

std::string xml_node::trimmed_text() const {
  std::string t = text_content();
  auto b = t.find_first_not_of(" \t\r\n");
  if (b == std::string::npos)
    return "";
  return t.substr(b, t.find_last_not_of(" \t\r\n") - b + 1);
}

void xml_node::set_text(std::string text) {
  if (children.size() == 1 && children[0].is_text) { // (no allocation)
    children[0].text = std::move(text);
    return;
  }
  children.clear();
  children.push_back(text_node(std::move(text)));
}

bool xml_node::has_elements() const {
  for (auto& c : children)
    if (!c.is_text)
      return true;
  return false;
}

xml_node xml_node::element(std::string name) {
  xml_node n;
  n.name = std::move(name);
  return n;
}

xml_node xml_node::text_node(std::string text) {
  xml_node n;
  n.is_text = true;
  n.text = std::move(text);
  return n;
}

namespace {

std::string qualified(const xmlChar* name, xmlNs* ns) {
  std::string out;
  if (ns && ns->prefix) {
    out = reinterpret_cast<const char*>(ns->prefix);
    out += ':';
  }
  out += reinterpret_cast<const char*>(name);
  return out;
}

bool is_blank(std::string_view s) {
  return s.find_first_not_of(" \t\r\n") == std::string_view::npos;
}

xml_node convert(xmlNode* n) {
  xml_node out;
  out.name = qualified(n->name, n->ns);
  out.line = static_cast<int>(xmlGetLineNo(n));
  for (xmlNs* ns = n->nsDef; ns; ns = ns->next) {
    std::string name =
        ns->prefix ? "xmlns:" + std::string(reinterpret_cast<const char*>(ns->prefix))
                   : std::string("xmlns");
    out.attrs.push_back({name, ns->href ? reinterpret_cast<const char*>(ns->href) : ""});
  }
  size_t elements = 0;
  for (xmlNode* c = n->children; c; c = c->next)
    elements += c->type == XML_ELEMENT_NODE;
  out.children.reserve(elements ? 2 * elements + 1 : 1);
  for (xmlAttr* a = n->properties; a; a = a->next) {
    xmlChar* v = xmlNodeListGetString(n->doc, a->children, 1);
    out.attrs.push_back({qualified(a->name, a->ns), v ? reinterpret_cast<char*>(v) : ""});
    xmlFree(v);
  }
  for (xmlNode* c = n->children; c; c = c->next) {
    if (c->type == XML_ELEMENT_NODE) {
      out.children.push_back(convert(c));
    } else if (c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE) {
      const char* t = reinterpret_cast<const char*>(c->content);
      if (!out.children.empty() && out.children.back().is_text)
        out.children.back().text += t ? t : "";
      else
        out.children.push_back(xml_node::text_node(t ? t : ""));
    }
    // Comments and processing instructions are dropped, as libvirt does.
  }
  // Indentation between child elements carries no meaning; text of a leaf element is
  // kept exactly as written.
  if (out.has_elements()) {
    std::vector<xml_node> kept;
    for (auto& c : out.children)
      if (!c.is_text || !is_blank(c.text))
        kept.push_back(std::move(c));
    out.children = std::move(kept);
  }
  return out;
}

struct parse_state {
  std::string doctype_error;
};

// Any DOCTYPE is refused before its declarations are read: no external entity (XXE) and
// no entity expansion (billion laughs) can happen.
void on_internal_subset(void* ctx, const xmlChar* name, const xmlChar*, const xmlChar*) {
  auto* pctx = static_cast<xmlParserCtxtPtr>(ctx);
  auto* st = static_cast<parse_state*>(pctx->_private);
  st->doctype_error = "line " + std::to_string(xmlSAX2GetLineNumber(ctx)) +
                      ": DOCTYPE declarations are not allowed (entities are refused)";
  xmlStopParser(pctx);
}

void ignore_errors(void*, const char*, ...) {}

} // namespace

namespace {

// One pass over the document's markup, before libxml2 sees it: element depth and
// attributes per element against the limits. It only needs to be right for documents
// within the limits; what it cannot read it leaves to libxml2, which reports it.
void check_limits(std::string_view doc, const std::string& origin, const xml_limits& l) {
  if (l.max_bytes && doc.size() > l.max_bytes)
    throw error(errc::message_too_large,
                origin + ": the document is " + std::to_string(doc.size()) +
                    " bytes, above max_xml_bytes (" + std::to_string(l.max_bytes) + ")");
  if (!l.max_depth && !l.max_attributes)
    return;
  int line = 1;
  uint32_t depth = 0;
  size_t i = 0;
  auto skip_to = [&](std::string_view end) {
    size_t at = doc.find(end, i);
    size_t stop = at == std::string_view::npos ? doc.size() : at + end.size();
    line += static_cast<int>(std::count(doc.begin() + static_cast<std::ptrdiff_t>(i),
                                        doc.begin() + static_cast<std::ptrdiff_t>(stop),
                                        '\n'));
    i = stop;
  };
  while (i < doc.size()) {
    size_t lt = doc.find('<', i);
    if (lt == std::string_view::npos)
      break;
    line +=
        static_cast<int>(std::count(doc.begin() + static_cast<std::ptrdiff_t>(i),
                                    doc.begin() + static_cast<std::ptrdiff_t>(lt), '\n'));
    i = lt;
    std::string_view rest = doc.substr(i);
    if (rest.substr(0, 4) == "<!--") {
      skip_to("-->");
    } else if (rest.substr(0, 9) == "<![CDATA[") {
      skip_to("]]>");
    } else if (rest.substr(0, 2) == "<?") {
      skip_to("?>");
    } else if (rest.substr(0, 2) == "<!") {
      skip_to(">");
    } else if (rest.substr(0, 2) == "</") {
      depth -= depth > 0;
      skip_to(">");
    } else {
      // A start tag: attributes are the '=' outside quoted values.
      int tag_line = line;
      size_t name_end = 1;
      while (name_end < rest.size() &&
             !std::isspace(static_cast<unsigned char>(rest[name_end])) &&
             rest[name_end] != '>' && rest[name_end] != '/')
        ++name_end;
      std::string name(rest.substr(1, std::min<size_t>(name_end - 1, 64)));
      uint32_t attributes = 0;
      char quote = 0;
      size_t j = 1;
      for (; j < rest.size(); ++j) {
        char c = rest[j];
        if (c == '\n')
          ++line;
        if (quote) {
          if (c == quote)
            quote = 0;
        } else if (c == '\'' || c == '"') {
          quote = c;
        } else if (c == '=') {
          if (l.max_attributes && ++attributes > l.max_attributes)
            throw error(errc::limit_exceeded,
                        origin + ":" + std::to_string(tag_line) + ": element <" + name +
                            "> has more than " + std::to_string(l.max_attributes) +
                            " attributes, beyond max_xml_attributes");
        } else if (c == '>') {
          break;
        }
      }
      bool empty = j < rest.size() && j > 0 && rest[j - 1] == '/';
      if (!empty && l.max_depth && ++depth > l.max_depth)
        throw error(errc::limit_exceeded, origin + ":" + std::to_string(tag_line) +
                                              ": element <" + name + "> is nested " +
                                              std::to_string(depth) +
                                              " deep, beyond max_xml_depth (" +
                                              std::to_string(l.max_depth) + ")");
      if (empty && l.max_depth && depth + 1 > l.max_depth)
        throw error(errc::limit_exceeded, origin + ":" + std::to_string(tag_line) +
                                              ": element <" + name + "> is nested " +
                                              std::to_string(depth + 1) +
                                              " deep, beyond max_xml_depth (" +
                                              std::to_string(l.max_depth) + ")");
      i += std::min(j + 1, rest.size());
    }
  }
}

} // namespace

xml_node parse_xml(std::string_view document, std::string_view origin,
                   const xml_limits& limits) {
  std::string org(origin);
  check_limits(document, org, limits);
  std::unique_ptr<xmlParserCtxt, void (*)(xmlParserCtxtPtr)> ctx(xmlNewParserCtxt(),
                                                                 xmlFreeParserCtxt);
  if (!ctx)
    throw error(errc::internal, "cannot allocate an XML parser");
  parse_state st;
  ctx->_private = &st;
  ctx->sax->internalSubset = on_internal_subset;
  ctx->sax->externalSubset = nullptr;
  ctx->sax->error = ignore_errors; // errors are reported below, once, with the origin
  ctx->sax->warning = ignore_errors;
  ctx->vctxt.error = ignore_errors;
  ctx->vctxt.warning = ignore_errors;
  xmlSetGenericErrorFunc(nullptr, ignore_errors);
  // No XML_PARSE_NOENT (entities are not substituted), no DTD loading, no network.
  int options = XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING;
  xmlDocPtr doc =
      xmlCtxtReadMemory(ctx.get(), document.data(), static_cast<int>(document.size()),
                        org.c_str(), nullptr, options);
  std::unique_ptr<xmlDoc, void (*)(xmlDocPtr)> guard(doc, xmlFreeDoc);
  if (!st.doctype_error.empty())
    throw error(errc::xml_error, org + ": " + st.doctype_error);
  if (!doc || !ctx->wellFormed) {
    const xmlError* e = xmlCtxtGetLastError(ctx.get());
    std::string msg = e && e->message ? e->message : "not well-formed XML";
    while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' '))
      msg.pop_back();
    int line = e ? e->line : 0;
    throw error(errc::xml_error, org + ":" + std::to_string(line) + ": " + msg);
  }
  xmlNode* root = xmlDocGetRootElement(doc);
  if (!root)
    throw error(errc::xml_error, org + ": the document has no root element");
  return convert(root);
}

namespace {} // namespace

namespace {

// Whether a child is written: whitespace beside elements is indentation, which the
// parser drops (convert()) and the writer makes anew, so it is neither written nor
// counted, or a round trip would change the document.
bool written(const xml_node& parent, const xml_node& child) {
  return !child.is_text || !parent.has_elements() || !is_blank(child.text);
}

bool has_text(const xml_node& node) {
  for (auto& c : node.children)
    if (c.is_text && written(node, c))
      return true;
  return false;
}

void write_open(std::string& out, const xml_node& node) {
  out += '<';
  out += node.name;
  for (auto& a : node.attrs) {
    out += ' ';
    out += a.name;
    out += "='";
    escape_xml(out, a.value);
    out += '\'';
  }
}

// Mixed content (text beside elements) is written as it is, without indentation, as
// libxml2 writes it: added whitespace would change its text at every round trip.
void write_inline(std::string& out, const xml_node& node) {
  write_open(out, node);
  if (node.children.empty()) {
    out += "/>";
    return;
  }
  out += '>';
  for (auto& c : node.children) {
    if (!written(node, c))
      continue;
    if (c.is_text)
      escape_xml(out, c.text);
    else
      write_inline(out, c);
  }
  out += "</" + node.name + ">";
}

uint64_t escaped_size(std::string_view s) {
  uint64_t n = s.size();
  for (char c : s)
    n += c == '&' ? 4 : c == '\'' || c == '"' ? 5 : c == '<' || c == '>' ? 3 : 0;
  return n;
}

uint64_t open_size(const xml_node& node) {
  uint64_t n = 1 + node.name.size();
  for (auto& a : node.attrs)
    n += 4 + a.name.size() + escaped_size(a.value);
  return n;
}

uint64_t inline_size(const xml_node& node) {
  uint64_t n = open_size(node);
  if (node.children.empty())
    return n + 2;
  n += 1;
  for (auto& c : node.children)
    if (written(node, c))
      n += c.is_text ? escaped_size(c.text) : inline_size(c);
  return n + 3 + node.name.size();
}

} // namespace

void write_xml(std::string& out, const xml_node& node, int depth) {
  std::string indent(static_cast<size_t>(depth) * 2, ' ');
  out += indent;
  if (node.has_elements() && has_text(node)) {
    write_inline(out, node);
    out += '\n';
    return;
  }
  write_open(out, node);
  if (node.children.empty()) {
    out += "/>\n";
    return;
  }
  out += '>';
  if (!node.has_elements()) {
    escape_xml(out, node.text_content());
    out += "</" + node.name + ">\n";
    return;
  }
  out += '\n';
  for (auto& c : node.children)
    if (!c.is_text) // (text beside elements is indentation here: mixed content is above)
      write_xml(out, c, depth + 1);
  out += indent + "</" + node.name + ">\n";
}

std::string to_xml_string(const xml_node& node) {
  std::string out;
  write_xml(out, node, 0);
  return out;
}

uint64_t written_size(const xml_node& node, int depth) {
  uint64_t indent = static_cast<uint64_t>(depth) * 2;
  if (node.has_elements() && has_text(node))
    return indent + inline_size(node) + 1;
  uint64_t n = indent + open_size(node);
  if (node.children.empty())
    return n + 3;
  if (!node.has_elements())
    return n + 1 + escaped_size(node.text_content()) + 4 + node.name.size();
  n += 2;
  for (auto& c : node.children)
    if (!c.is_text)
      n += written_size(c, depth + 1);
  return n + indent + 4 + node.name.size();
}

void escape_xml(std::string& out, std::string_view s) {
  for (char c : s) {
    switch (c) {
    case '&':
      out += "&amp;";
      break;
    case '<':
      out += "&lt;";
      break;
    case '>':
      out += "&gt;";
      break;
    case '\'':
      out += "&apos;";
      break;
    case '"':
      out += "&quot;";
      break;
    default:
      out += c;
    }
  }
}

std::string escaped_xml(std::string_view s) {
  std::string out;
  escape_xml(out, s);
  return out;
}

} // namespace domus::model
