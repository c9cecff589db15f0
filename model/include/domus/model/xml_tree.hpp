// A small owned XML tree: what the domain model keeps of elements it does not model, and
// the shape every definition passes through between libxml2 and the formatter.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace domus::model {

/// An attribute, name with its prefix ("xmlns:test", "unit").
struct xml_attr {
  std::string name;
  std::string value;
};

/// An element or a text node.
struct xml_node {
  bool is_text = false;
  std::string name;               ///< element name with its prefix; empty for text
  std::vector<xml_attr> attrs;    ///< in document order, namespace declarations included
  std::vector<xml_node> children; ///< elements and text, in document order
  std::string text;               ///< text nodes only
  int line = 0;                   ///< source line, 0 when built in code

  /// The attribute's value, or nullptr.
  const std::string* attr(std::string_view n) const;
  /// Sets or adds an attribute (added last).
  void set_attr(std::string_view n, std::string value);
  /// Removes the attribute when present.
  void remove_attr(std::string_view n);
  /// The first child element with this name, or nullptr.
  const xml_node* child(std::string_view n) const;
  xml_node* child(std::string_view n);
  /// The concatenated text of this element's direct text children.
  std::string text_content() const;
  /// The same without the whitespace around it.
  std::string trimmed_text() const;
  /// Makes `text` the element's only content (its children replaced).
  void set_text(std::string text);
  /// Whether the element has element children.
  bool has_elements() const;

  static xml_node element(std::string name);
  static xml_node text_node(std::string text);
};

/// Bounds a parse enforces on a client's document before libxml2 builds anything (one
/// linear scan: libxml2 2.9's handling of an element's attributes is quadratic in their
/// count). 0 means no bound. The names in errors are domusd.conf's settings.
struct xml_limits {
  uint64_t max_bytes = 0;      ///< the document (max_xml_bytes)
  uint32_t max_depth = 0;      ///< elements nested (max_xml_depth)
  uint32_t max_attributes = 0; ///< attributes on one element (max_xml_attributes)
};

/// Parses a document with network access, DTDs and entities refused; returns the root
/// element. Throws domus::error(xml_error) as "ORIGIN:LINE: message", and past a
/// limit message_too_large (bytes) or limit_exceeded (depth, attributes), naming it.
xml_node parse_xml(std::string_view document, std::string_view origin,
                   const xml_limits& limits = {});

/// How many bytes write_xml() writes for the element at `depth`, without writing it:
/// bounds what a definition becomes when formatted (deep nesting costs indentation).
uint64_t written_size(const xml_node& node, int depth = 0);

/// Appends the element, pretty-printed the way libvirt writes XML (two-space indent,
/// attributes in single quotes), starting at `depth` levels of indent.
void write_xml(std::string& out, const xml_node& node, int depth = 0);

/// Writes as write_xml() writes an element with these element children: `top` gives the
/// name and attributes (its children are not read). Lets a caller replace a few children
/// of a large tree without copying the rest.
void write_element(std::string& out, const xml_node& top,
                   const std::vector<const xml_node*>& children, int depth = 0);

/// The element pretty-printed, with a final newline.
std::string to_xml_string(const xml_node& node);

/// Appends `s` to `out` with XML's five special characters escaped, for text and
/// attribute values alike.
void escape_xml(std::string& out, std::string_view s);
/// `s` with XML's five special characters escaped.
std::string escaped_xml(std::string_view s);

} // namespace domus::model
