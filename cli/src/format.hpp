// virsh's output layouts: tables and "Key:  value" blocks.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace domus::cli {

/// A table as virsh prints it: each line is one space plus the cells joined by three
/// spaces, every cell but the last padded to its column's width; a dash line under the
/// header. With `quiet`, no header and no dashes, and widths ignore the header.
std::string format_table(const std::vector<std::string>& header,
                         const std::vector<std::vector<std::string>>& rows, bool quiet);

/// "Key:" padded to `width` columns, a space, then the value: virsh's "%-Ns %s".
std::string key_value(const std::string& key, const std::string& value, size_t width);

/// A size as virsh prints capacities: the value in the largest binary unit it reaches
/// (B, KiB, ... EiB) with `decimals` places, "100.00 GiB".
std::string pretty_capacity(uint64_t bytes, int decimals);

} // namespace domus::cli
