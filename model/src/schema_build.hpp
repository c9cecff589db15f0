// The words the schema tables are written in (domain_schema.cpp, storage_schema.cpp):
// elements, values, sizes, kept subtrees, repeats. Internal to the model library.
#pragma once

#include "domus/model/schema.hpp"

#include <initializer_list>

namespace domus::model::schema_build {

using content = elem_rule::content;

// Rules live for the whole process: the table is built once and never freed.
inline const value_type* oneof(std::initializer_list<std::string_view> values) {
  return new value_type{value_type::kind::choice, values};
}

inline elem_rule* el(std::string_view name, std::vector<attr_rule> attrs = {},
                     std::vector<child_rule> children = {}) {
  return new elem_rule{
      name, std::move(attrs), nullptr, std::move(children), content::normal, {}};
}

// An element holding a value: <shares>2048</shares>.
inline elem_rule* value(std::string_view name, const value_type* type = &vt::text,
                        std::vector<attr_rule> attrs = {}) {
  return new elem_rule{name, std::move(attrs), type, {}, content::normal, {}};
}

// A size with a unit, normalized to KiB: <memory unit='MiB'>512</memory>.
// libvirt writes the unit after the element's other attributes.
inline elem_rule* size(std::string_view name, std::vector<attr_rule> attrs = {}) {
  attrs.push_back(attr_rule{"unit"});
  return new elem_rule{name, std::move(attrs), nullptr, {}, content::scaled, {}};
}

// An element kept verbatim, content unchecked.
inline elem_rule* kept(std::string_view name) {
  return new elem_rule{name, {}, nullptr, {}, content::any, {}};
}

inline child_rule many(const elem_rule* r) {
  return {r, true, false};
}
inline child_rule required(const elem_rule* r) {
  return {r, false, true};
}

inline attr_rule req(std::string_view name, const value_type* t = &vt::text) {
  return {name, t, true};
}

// A secret: written only when secrets are asked for (schema.hpp, attr_rule::secret).
inline attr_rule secret(std::string_view name) {
  return {name, &vt::text, false, {}, true};
}

// A storage size in bytes: <capacity unit='G'>5</capacity> becomes 5368709120 bytes.
inline elem_rule* bytes(std::string_view name) {
  return new elem_rule{name, {attr_rule{"unit"}}, nullptr, {}, content::bytes, {}};
}

} // namespace domus::model::schema_build
