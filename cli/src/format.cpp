#include "format.hpp"

#include <cstdio>
#include <iterator>

#include <algorithm>

namespace domus::cli {

namespace {

// Display width of UTF-8 text: one column per code point.
size_t width_of(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s)
    if ((c & 0xC0) != 0x80)
      ++n;
  return n;
}

} // namespace

std::string format_table(const std::vector<std::string>& header,
                         const std::vector<std::vector<std::string>>& rows, bool quiet) {
  std::vector<size_t> widths(header.size(), 0);
  if (!quiet)
    for (size_t i = 0; i < header.size(); ++i)
      widths[i] = width_of(header[i]);
  for (auto& r : rows)
    for (size_t i = 0; i < r.size() && i < widths.size(); ++i)
      widths[i] = std::max(widths[i], width_of(r[i]));
  auto line = [&](const std::vector<std::string>& cells) {
    std::string out;
    for (size_t i = 0; i < cells.size(); ++i) {
      out += ' ';
      out += cells[i];
      if (i + 1 < cells.size())
        out += std::string(widths[i] - width_of(cells[i]) + 2, ' ');
    }
    return out + "\n";
  };
  std::string out;
  if (!quiet) {
    out += line(header);
    size_t dashes = 0;
    for (auto w : widths)
      dashes += w + 3;
    out += std::string(dashes, '-') + "\n";
  }
  for (auto& r : rows)
    out += line(r);
  return out;
}

std::string key_value(const std::string& key, const std::string& value, size_t width) {
  std::string out = key;
  if (width_of(out) < width)
    out += std::string(width - width_of(out), ' ');
  return out + " " + value + "\n";
}

std::string pretty_capacity(uint64_t bytes, int decimals) {
  static const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  double v = static_cast<double>(bytes);
  size_t u = 0;
  while (v >= 1024 && u + 1 < std::size(units)) {
    v /= 1024;
    ++u;
  }
  char out[48];
  std::snprintf(out, sizeof out, "%.*f %s", decimals, v, units[u]);
  return out;
}

} // namespace domus::cli
