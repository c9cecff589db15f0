// A schema as data: which elements and attributes a document may hold, their value types,
// and the order libvirt writes them in. One table drives parsing checks, normalization
// (order, units), the strict mode of `define --validate`, and the RelaxNG schema written
// to conf/schemas/, so that all four always agree.
#pragma once

#include "domus/model/xml_tree.hpp"

#include <domus/errors.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace domus::model {

/// The type of an attribute value or of an element's text.
struct value_type {
  enum class kind : uint8_t {
    text = 1, ///< any string
    uint,     ///< a non-negative decimal integer
    sint,     ///< a decimal integer, maybe negative
    hex_uint, ///< a non-negative integer, decimal or 0x-prefixed hex
    choice,   ///< one of `choices`
    uuid,     ///< 32 hex digits, dashes optional
    cpuset,   ///< a CPU list: "0-3,^2,8"
    mac,      ///< six hex pairs separated by ':'
  };
  kind k = kind::text;
  std::vector<std::string_view> choices; ///< kind::choice only

  /// Why `v` is not of this type ("unknown value 'x' (expected one of a, b)"), or
  /// nullopt.
  std::optional<std::string> check(std::string_view v) const;
};

/// The value types the tables use.
namespace vt {
extern const value_type text, uint, sint, hex_uint, uuid, cpuset, mac, yes_no, on_off;
} // namespace vt

/// One attribute an element may carry.
struct attr_rule {
  attr_rule(std::string_view n, const value_type* t = &vt::text, bool req = false,
            std::string_view u = {}, bool s = false)
      : name(n), type(t), required(req), unset(u), secret(s) {}
  std::string_view name;
  const value_type* type;
  bool required;
  std::string_view unset; ///< a value that means "not set", dropped as libvirt drops it
  /// A secret (a graphics password): formatted only when secrets are asked for
  /// (dumpxml --security-info on the read-write socket, files, drivers), never else.
  bool secret;
};

struct elem_rule;

/// One child element a parent may hold; `many` allows repeats.
struct child_rule {
  child_rule(const elem_rule* r, bool m = false, bool req = false)
      : rule(r), many(m), required(req) {}
  const elem_rule* rule;
  bool many;
  bool required;
};

/// One element: its attributes, its text, and its children in libvirt's output order.
struct elem_rule {
  enum class content : uint8_t {
    normal = 1, ///< text (when `text` is set) or the child elements listed
    scaled,     ///< a size with a `unit` attribute, normalized to KiB
    bytes,      ///< the same in bytes, the unit bytes when absent (storage sizes)
    any,        ///< kept verbatim and never checked (metadata, hostdev, ...)
  };
  std::string_view name;
  std::vector<attr_rule> attrs;     ///< in the order written
  const value_type* text = nullptr; ///< null: no text content
  std::vector<child_rule> children; ///< in the order written
  content mode = content::normal;
  /// For elements with many children, a hash table of their names: slot -> place in
  /// `children` + 1, 0 when free; its size a power of two (filled by index_rules()).
  std::vector<uint32_t> child_slots;

  const child_rule* find_child(std::string_view n) const;
  const attr_rule* find_attr(std::string_view n) const;
};

/// Fills `child_index` of `root` and every rule under it, once, after the table is
/// built (rules are shared and may recur: each is indexed once). Returns `root`.
const elem_rule* index_rules(elem_rule* root);

/// How a document is checked against its schema.
struct conform_options {
  std::string_view origin; ///< the file name for errors, or "<request>"
  bool strict = false;     ///< refuse elements and attributes outside the schema
};

/// What conforming found that the schema does not know (kept, or refused when strict).
struct conform_report {
  std::vector<std::string> unknown; ///< "LINE: PATH" of each kept unknown node
};

/// Checks `el` (whose path is `path`, e.g. "/domain") against `rule` and normalizes it in
/// place: values checked, sizes in KiB, MAC addresses and UUIDs in canonical form, known
/// children in the rule's order with unknown ones after them in document order,
/// attributes likewise. Throws domus::error(xml_error) as "ORIGIN:LINE: PATH:
/// message".
void conform(xml_node& el, const elem_rule& rule, const std::string& path,
             const conform_options& opts, conform_report& report);

/// The child `name` of `parent`, added at its place in the rule's order when absent.
xml_node& place_child(xml_node& parent, const elem_rule& rule, std::string_view name);

/// Sets an attribute; a new one goes to its place in the rule's order.
void place_attr(xml_node& el, const elem_rule& rule, std::string_view name,
                std::string value);

/// Throws domus::error(code) as "ORIGIN:LINE: PATH: message" (LINE omitted when 0).
[[noreturn]] void fail_at(std::string_view origin, const xml_node& at,
                          std::string_view path, const std::string& message,
                          domus::errc code = domus::errc::xml_error);

/// Removes every attribute the schema marks secret from `el` and its known descendants;
/// whether there was any.
bool strip_secrets(xml_node& el, const elem_rule& rule);

/// Whether `el` or a known descendant holds an attribute the schema marks secret.
bool has_secrets(const xml_node& el, const elem_rule& rule);

/// The RelaxNG schema (XML text) that accepts exactly what `root` describes.
std::string write_relaxng(const elem_rule& root);

} // namespace domus::model
