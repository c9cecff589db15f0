// libvirt's scaled integers: memory sizes with units.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace domus::model {

/// Bytes per unit for a libvirt unit name: b/byte/bytes; k/K/KiB (1024) and KB (1000),
/// and likewise M, G, T, P, E. nullopt for an unknown unit.
std::optional<uint64_t> unit_scale(std::string_view unit);

/// The units accepted, for error messages.
std::string_view accepted_units();

/// value * unit converted to KiB, rounded up; nullopt on overflow.
std::optional<uint64_t> to_kib(uint64_t value, uint64_t scale);

/// value * unit in bytes; nullopt on overflow.
std::optional<uint64_t> to_bytes(uint64_t value, uint64_t scale);

} // namespace domus::model
