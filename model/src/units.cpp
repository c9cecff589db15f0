#include "domus/model/units.hpp"

#include <cctype>
#include <limits>

namespace domus::model {
namespace {

bool iequal(std::string_view a, std::string_view b) {
  if (a.size() != b.size())
    return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  return true;
}

} // namespace

std::optional<uint64_t> unit_scale(std::string_view unit) {
  if (iequal(unit, "b") || iequal(unit, "byte") || iequal(unit, "bytes"))
    return 1;
  if (unit.empty())
    return std::nullopt;
  uint64_t base;
  if (unit.size() == 1 || iequal(unit.substr(1), "iB"))
    base = 1024;
  else if (unit.size() == 2 && (unit[1] == 'b' || unit[1] == 'B'))
    base = 1000;
  else
    return std::nullopt;
  int power;
  switch (std::tolower(static_cast<unsigned char>(unit[0]))) {
  case 'k':
    power = 1;
    break;
  case 'm':
    power = 2;
    break;
  case 'g':
    power = 3;
    break;
  case 't':
    power = 4;
    break;
  case 'p':
    power = 5;
    break;
  case 'e':
    power = 6;
    break;
  default:
    return std::nullopt;
  }
  uint64_t scale = 1;
  for (int i = 0; i < power; ++i)
    scale *= base;
  return scale;
}

std::string_view accepted_units() {
  return "b, bytes, KB, KiB, MB, MiB, GB, GiB, TB, TiB, PB, PiB, EB, EiB";
}

std::optional<uint64_t> to_kib(uint64_t value, uint64_t scale) {
  if (scale != 0 && value > std::numeric_limits<uint64_t>::max() / scale)
    return std::nullopt;
  uint64_t bytes = value * scale;
  return bytes / 1024 + (bytes % 1024 ? 1 : 0);
}

std::optional<uint64_t> to_bytes(uint64_t value, uint64_t scale) {
  if (scale != 0 && value > std::numeric_limits<uint64_t>::max() / scale)
    return std::nullopt;
  return value * scale;
}

} // namespace domus::model
