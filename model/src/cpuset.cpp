#include "domus/model/cpuset.hpp"

#include <algorithm>

namespace domus::model {

namespace {

// Reads a decimal number at `s[i]`, advancing `i`.
std::optional<uint32_t> number(std::string_view s, size_t& i) {
  size_t start = i;
  uint64_t v = 0;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
    v = v * 10 + static_cast<uint64_t>(s[i] - '0');
    if (v >= cpuset_limit)
      return std::nullopt;
    ++i;
  }
  if (i == start)
    return std::nullopt;
  return static_cast<uint32_t>(v);
}

void skip_blanks(std::string_view s, size_t& i) {
  while (i < s.size() && (s[i] == ' ' || s[i] == '\t'))
    ++i;
}

} // namespace

std::optional<std::vector<uint32_t>> parse_cpuset(std::string_view s) {
  // Ranges added and removed in order ("0-7,^3" and "^3,0-7" differ, as in libvirt).
  struct range {
    uint32_t first, last;
    bool negate;
  };
  std::vector<range> ranges;
  size_t i = 0;
  while (true) {
    skip_blanks(s, i);
    bool negate = i < s.size() && s[i] == '^';
    if (negate)
      ++i;
    auto first = number(s, i);
    if (!first)
      return std::nullopt;
    uint32_t last = *first;
    if (!negate && i < s.size() && s[i] == '-') {
      ++i;
      auto l = number(s, i);
      if (!l || *l < *first)
        return std::nullopt;
      last = *l;
    }
    ranges.push_back({*first, last, negate});
    skip_blanks(s, i);
    if (i == s.size())
      break;
    if (s[i] != ',')
      return std::nullopt;
    ++i;
  }
  std::vector<uint32_t> out;
  for (auto& r : ranges) {
    if (r.negate) {
      out.erase(
          std::remove_if(out.begin(), out.end(),
                         [&](uint32_t id) { return id >= r.first && id <= r.last; }),
          out.end());
      continue;
    }
    for (uint32_t id = r.first; id <= r.last; ++id)
      out.push_back(id);
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  if (out.empty())
    return std::nullopt;
  return out;
}

std::string format_cpuset(const std::vector<uint32_t>& ids) {
  std::string out;
  for (size_t i = 0; i < ids.size();) {
    size_t j = i;
    while (j + 1 < ids.size() && ids[j + 1] == ids[j] + 1)
      ++j;
    if (!out.empty())
      out += ',';
    out += std::to_string(ids[i]);
    if (j > i)
      out += "-" + std::to_string(ids[j]);
    i = j + 1;
  }
  return out;
}

} // namespace domus::model
