// Reading what a driver hands over, the one way: every struct of the plugin ABI begins
// with its struct_size, and a field that a later minor version appended may be read only
// when the driver's struct reaches past it (docs/plugins.md, "The rules").
#pragma once

#include <cstddef>

namespace domus::runtime {

/// Whether `s` is not null and its struct_size covers the bytes before `end`.
template <class S> bool reaches(const S* s, size_t end) {
  return s && s->struct_size >= end;
}

} // namespace domus::runtime

/// The offset just past FIELD of the ABI struct TYPE.
#define DOMUS_FIELD_END(type, field)                                                     \
  (offsetof(type, field) + sizeof(static_cast<type*>(nullptr)->field))

/// Whether PTR (a TYPE*, maybe null) holds FIELD.
#define DOMUS_HAS_FIELD(ptr, type, field)                                                \
  ::domus::runtime::reaches(ptr, DOMUS_FIELD_END(type, field))
