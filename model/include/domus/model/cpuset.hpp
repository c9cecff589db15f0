// libvirt's CPU and id lists ("0-3,^2,8"), as used by cpuset, vcpus and nodeset.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace domus::model {

/// The largest id a list may name, plus one (libvirt's limit for CPU masks).
inline constexpr uint32_t cpuset_limit = 16384;

/// The ids a list names, sorted and unique; nullopt when malformed or out of range.
/// "1-3,^2" gives {1, 3}; an empty result is malformed.
std::optional<std::vector<uint32_t>> parse_cpuset(std::string_view text);

/// Sorted ids written back as libvirt does: ranges joined with '-', separated by ','.
std::string format_cpuset(const std::vector<uint32_t>& ids);

} // namespace domus::model
