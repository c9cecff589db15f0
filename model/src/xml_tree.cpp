#include "domus/model/xml_tree.hpp"

#include <domus/errors.hpp>

#include <libxml/SAX2.h>
#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>

#include <algorithm>
#include <cctype>
#include <limits>
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

void xml_node::remove_attr(std::string_view n) {
  attrs.erase(std::remove_if(attrs.begin(), attrs.end(),
                             [&](const xml_attr& a) { return a.name == n; }),
              attrs.end());
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

bool is_blank(std::string_view s) {
  return s.find_first_not_of(" \t\r\n") == std::string_view::npos;
}

const char* chars(const xmlChar* s) {
  return reinterpret_cast<const char*>(s);
}

std::string qualified(const xmlChar* prefix, const xmlChar* local) {
  std::string out;
  if (prefix) {
    out = chars(prefix);
    out += ':';
  }
  out += chars(local);
  return out;
}

// The tree is built from libxml2's SAX2 callbacks, without its DOM: building libxml2's
// tree and copying it into ours cost a third of a definition's parse.
struct parse_state {
  xmlParserCtxtPtr ctx = nullptr;
  std::string doctype_error;
  std::vector<xml_node> open; // the elements started and not yet ended, root first
  // The children of the open elements, one after another: open[i]'s from first[i] on.
  // An element's children move into it once, when it ends, in one allocation (pushed
  // one by one they were a tenth of a parse in reallocations).
  std::vector<xml_node> done;
  std::vector<size_t> first;
  xml_node root;
  bool has_root = false;
  // Whitespace after an element child (or first in an element) is held here until what
  // follows tells whether it is indentation (dropped: an element comes or the parent
  // ends with elements) or part of a text: most text a definition holds is indentation.
  std::string blank;
  bool has_blank = false;

  /// Whether the current element has a child yet; its last one.
  bool has_child() const { return done.size() > first.back(); }
  /// Whether the current element has element children.
  bool has_elements() const {
    for (size_t i = first.back(); i < done.size(); ++i)
      if (!done[i].is_text)
        return true;
    return false;
  }

  /// Ends the held whitespace: into the current element's text when `keep`.
  void settle_blank(bool keep) {
    if (!has_blank)
      return;
    if (keep)
      done.push_back(xml_node::text_node(blank));
    blank.clear();
    has_blank = false;
  }
};

// An attribute's value as SAX2 gives it without entity substitution: decoded but for
// each '&', which comes as "&#38;" (no other '&' can remain in a value once a DOCTYPE,
// and with it any entity of the document's own, is refused).
std::string attribute_value(const xmlChar* begin, const xmlChar* end) {
  std::string v(chars(begin), chars(end));
  for (size_t at = v.find("&#38;"); at != std::string::npos; at = v.find("&#38;", at + 1))
    v.replace(at, 5, "&");
  return v;
}

parse_state& state_of(void* ctx) {
  return *static_cast<parse_state*>(static_cast<xmlParserCtxtPtr>(ctx)->_private);
}

void on_start(void* ctx, const xmlChar* local, const xmlChar* prefix, const xmlChar*,
              int nb_namespaces, const xmlChar** namespaces, int nb_attributes, int,
              const xmlChar** attributes) {
  parse_state& st = state_of(ctx);
  st.settle_blank(false); // the parent has an element: the whitespace was indentation
  xml_node n;
  n.name = qualified(prefix, local);
  n.line = xmlSAX2GetLineNumber(ctx);
  n.attrs.reserve(static_cast<size_t>(nb_namespaces + nb_attributes));
  for (int i = 0; i < nb_namespaces; ++i) {
    const xmlChar* ns_prefix = namespaces[2 * i];
    const xmlChar* href = namespaces[2 * i + 1];
    n.attrs.push_back({ns_prefix ? "xmlns:" + std::string(chars(ns_prefix)) : "xmlns",
                       href ? chars(href) : ""});
  }
  for (int i = 0; i < nb_attributes; ++i) {
    const xmlChar** a = attributes + 5 * i; // local, prefix, URI, value, end of value
    n.attrs.push_back({qualified(a[1], a[0]), attribute_value(a[3], a[4])});
  }
  st.open.push_back(std::move(n));
  st.first.push_back(st.done.size());
}

void on_end(void* ctx, const xmlChar*, const xmlChar*, const xmlChar*) {
  parse_state& st = state_of(ctx);
  if (st.open.empty())
    return;
  bool elements = st.has_elements();
  st.settle_blank(!elements);
  xml_node n = std::move(st.open.back());
  st.open.pop_back();
  auto from = st.done.begin() + static_cast<std::ptrdiff_t>(st.first.back());
  st.first.pop_back();
  // Indentation between child elements carries no meaning; text of a leaf element is
  // kept exactly as written.
  auto to = elements ? std::remove_if(from, st.done.end(),
                                      [](const xml_node& c) {
                                        return c.is_text && is_blank(c.text);
                                      })
                     : st.done.end();
  n.children.reserve(static_cast<size_t>(to - from));
  n.children.insert(n.children.end(), std::make_move_iterator(from),
                    std::make_move_iterator(to));
  st.done.erase(from, st.done.end());
  if (st.open.empty()) {
    st.root = std::move(n);
    st.has_root = true;
  } else {
    st.done.push_back(std::move(n));
  }
}

void on_text(void* ctx, const xmlChar* text, int len) {
  parse_state& st = state_of(ctx);
  if (st.open.empty())
    return;
  std::string_view t(chars(text), static_cast<size_t>(len));
  if (st.has_blank) {
    st.blank += t;
    if (!is_blank(t))
      st.settle_blank(true);
  } else if (st.has_child() && st.done.back().is_text) {
    st.done.back().text += t;
  } else if (is_blank(t)) {
    st.blank = t;
    st.has_blank = true;
  } else {
    st.done.push_back(xml_node::text_node(std::string(t)));
  }
}

// Any DOCTYPE is refused before its declarations are read: no external entity (XXE) and
// no entity expansion (billion laughs) can happen.
void on_internal_subset(void* ctx, const xmlChar*, const xmlChar*, const xmlChar*) {
  parse_state& st = state_of(ctx);
  st.doctype_error = "line " + std::to_string(xmlSAX2GetLineNumber(ctx)) +
                     ": DOCTYPE declarations are not allowed (entities are refused)";
  xmlStopParser(st.ctx);
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
  if (document.size() > static_cast<size_t>(std::numeric_limits<int>::max()))
    throw error(errc::message_too_large, org + ": the document is too large to parse");
  std::unique_ptr<xmlParserCtxt, void (*)(xmlParserCtxtPtr)> ctx(
      xmlCreateMemoryParserCtxt(document.data(), static_cast<int>(document.size())),
      xmlFreeParserCtxt);
  if (!ctx)
    throw error(errc::internal, "cannot allocate an XML parser");
  parse_state st;
  st.ctx = ctx.get();
  ctx->_private = &st;
  // Options first: they reset handlers (the error ones) set below.
  // No XML_PARSE_NOENT (entities are not substituted), no DTD loading, no network.
  xmlCtxtUseOptions(ctx.get(), XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
  xmlSAXHandler* sax = ctx->sax;
  sax->internalSubset = on_internal_subset;
  sax->externalSubset = nullptr;
  sax->startElementNs = on_start;
  sax->endElementNs = on_end;
  sax->characters = on_text;
  sax->ignorableWhitespace = on_text;
  sax->cdataBlock = on_text;
  sax->comment = nullptr; // comments and processing instructions are dropped, as
  sax->processingInstruction = nullptr; // libvirt does
  sax->reference = nullptr;
  sax->error = ignore_errors; // errors are reported below, once, with the origin
  sax->warning = ignore_errors;
  sax->serror = nullptr;
  ctx->vctxt.error = ignore_errors;
  ctx->vctxt.warning = ignore_errors;
  xmlSetGenericErrorFunc(nullptr, ignore_errors);
  xmlParseDocument(ctx.get());
  if (ctx->myDoc) { // the document node xmlSAX2StartDocument made, without children
    xmlFreeDoc(ctx->myDoc);
    ctx->myDoc = nullptr;
  }
  if (!st.doctype_error.empty())
    throw error(errc::xml_error, org + ": " + st.doctype_error);
  if (!ctx->wellFormed) {
    const xmlError* e = xmlCtxtGetLastError(ctx.get());
    std::string msg = e && e->message ? e->message : "not well-formed XML";
    while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' '))
      msg.pop_back();
    int line = e ? e->line : 0;
    throw error(errc::xml_error, org + ":" + std::to_string(line) + ": " + msg);
  }
  if (!st.has_root)
    throw error(errc::xml_error, org + ": the document has no root element");
  return std::move(st.root);
}

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

void write_close(std::string& out, const xml_node& node) {
  out += "</";
  out += node.name;
  out += '>';
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
  write_close(out, node);
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
  size_t indent = static_cast<size_t>(depth) * 2;
  out.append(indent, ' ');
  bool elements = node.has_elements();
  if (elements && has_text(node)) {
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
  if (!elements) {
    for (auto& c : node.children)
      escape_xml(out, c.text);
    write_close(out, node);
    out += '\n';
    return;
  }
  out += '\n';
  for (auto& c : node.children)
    if (!c.is_text) // (text beside elements is indentation here: mixed content is above)
      write_xml(out, c, depth + 1);
  out.append(indent, ' ');
  write_close(out, node);
  out += '\n';
}

void write_element(std::string& out, const xml_node& top,
                   const std::vector<const xml_node*>& children, int depth) {
  size_t indent = static_cast<size_t>(depth) * 2;
  out.append(indent, ' ');
  write_open(out, top);
  if (children.empty()) {
    out += "/>\n";
    return;
  }
  out += ">\n";
  for (const xml_node* c : children)
    write_xml(out, *c, depth + 1);
  out.append(indent, ' ');
  write_close(out, top);
  out += '\n';
}

std::string to_xml_string(const xml_node& node) {
  std::string out;
  out.reserve(4096); // a typical definition's size: no regrowth on the way
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
  size_t from = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    std::string_view entity;
    switch (s[i]) {
    case '&':
      entity = "&amp;";
      break;
    case '<':
      entity = "&lt;";
      break;
    case '>':
      entity = "&gt;";
      break;
    case '\'':
      entity = "&apos;";
      break;
    case '"':
      entity = "&quot;";
      break;
    default:
      continue;
    }
    out.append(s, from, i - from);
    out += entity;
    from = i + 1;
  }
  out.append(s, from, std::string_view::npos);
}

std::string escaped_xml(std::string_view s) {
  std::string out;
  escape_xml(out, s);
  return out;
}

} // namespace domus::model
