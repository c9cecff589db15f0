#include "domus/model/names.hpp"

#include <domus/errors.hpp>

#include <cstdint>
#include <cstdio>

namespace domus::model {
namespace {

// Length of the UTF-8 sequence starting at s[i], or 0 when it is not valid UTF-8
// (overlong forms, surrogates and code points above U+10FFFF are invalid).
size_t utf8_length(std::string_view s, size_t i) {
  auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = b(i);
  if (c < 0x80)
    return 1;
  size_t n;
  uint32_t cp;
  if ((c & 0xE0) == 0xC0) {
    n = 2;
    cp = c & 0x1F;
  } else if ((c & 0xF0) == 0xE0) {
    n = 3;
    cp = c & 0x0F;
  } else if ((c & 0xF8) == 0xF0) {
    n = 4;
    cp = c & 0x07;
  } else {
    return 0;
  }
  if (i + n > s.size())
    return 0;
  for (size_t k = 1; k < n; ++k) {
    if ((b(i + k) & 0xC0) != 0x80)
      return 0;
    cp = (cp << 6) | (b(i + k) & 0x3F);
  }
  static const uint32_t min_cp[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < min_cp[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
    return 0;
  return n;
}

} // namespace

std::optional<std::string> name_problem(std::string_view name) {
  if (name.empty())
    return "it is empty";
  if (name.size() > 200)
    return "it is " + std::to_string(name.size()) + " bytes long (at most 200)";
  if (name == "." || name == "..")
    return "'" + std::string(name) + "' is reserved";
  for (size_t i = 0; i < name.size();) {
    unsigned char c = static_cast<unsigned char>(name[i]);
    if (c == '/')
      return "it contains '/'";
    if (c == 0)
      return "it contains a NUL byte";
    if (c < 0x20 || c == 0x7F)
      return "it contains a control character at byte " + std::to_string(i);
    size_t n = utf8_length(name, i);
    if (n == 0)
      return "it is not valid UTF-8 at byte " + std::to_string(i);
    // C1 control characters U+0080..U+009F are two-byte sequences C2 80..C2 9F.
    if (n == 2 && c == 0xC2 && static_cast<unsigned char>(name[i + 1]) < 0xA0)
      return "it contains a control character at byte " + std::to_string(i);
    i += n;
  }
  return std::nullopt;
}

void check_name(std::string_view name, std::string_view what) {
  if (auto why = name_problem(name)) {
    std::string shown;
    for (char c : name) {
      unsigned char u = static_cast<unsigned char>(c);
      if (u < 0x20 || u == 0x7F) {
        char buf[8];
        std::snprintf(buf, sizeof buf, "\\x%02x", u);
        shown += buf;
      } else {
        shown += c;
      }
    }
    throw domus::error(domus::errc::invalid_name,
                       "invalid " + std::string(what) + " name '" + shown + "': " + *why);
  }
}

} // namespace domus::model
