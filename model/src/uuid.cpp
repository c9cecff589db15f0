#include "domus/model/uuid.hpp"

#include <random>

namespace domus::model {

std::optional<uuid> parse_uuid(std::string_view text) {
  uuid out{};
  size_t digits = 0;
  for (char c : text) {
    if (c == '-')
      continue;
    int v;
    if (c >= '0' && c <= '9')
      v = c - '0';
    else if (c >= 'a' && c <= 'f')
      v = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F')
      v = c - 'A' + 10;
    else
      return std::nullopt;
    if (digits >= 32)
      return std::nullopt;
    out[digits / 2] = static_cast<uint8_t>(out[digits / 2] | (digits % 2 ? v : v << 4));
    ++digits;
  }
  if (digits != 32)
    return std::nullopt;
  return out;
}

std::string format_uuid(const uuid& u) {
  static const char hex[] = "0123456789abcdef";
  std::string out;
  out.reserve(36);
  for (size_t i = 0; i < u.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10)
      out += '-';
    out += hex[u[i] >> 4];
    out += hex[u[i] & 0xF];
  }
  return out;
}

uuid generate_uuid() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  uuid out;
  uint64_t a = rng(), b = rng();
  for (int i = 0; i < 8; ++i) {
    out[i] = static_cast<uint8_t>(a >> (i * 8));
    out[8 + i] = static_cast<uint8_t>(b >> (i * 8));
  }
  out[6] = static_cast<uint8_t>((out[6] & 0x0F) | 0x40);
  out[8] = static_cast<uint8_t>((out[8] & 0x3F) | 0x80);
  return out;
}

} // namespace domus::model
