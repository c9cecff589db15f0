// UUIDs in every form libvirt accepts, always written dashed lower case.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace domus::model {

/// A 128-bit UUID.
using uuid = std::array<uint8_t, 16>;

/// Parses 32 hex digits, upper or lower case, with or without dashes; nullopt otherwise.
std::optional<uuid> parse_uuid(std::string_view text);

/// Formats as 8-4-4-4-12 lower-case hex.
std::string format_uuid(const uuid& u);

/// A random (version 4) UUID.
uuid generate_uuid();

} // namespace domus::model
