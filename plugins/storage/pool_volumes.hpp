// A dir pool's volumes as the driver keeps them: read from a scan of its directory, or
// from one file after a create or a resize, and handed to the runtime as ABI entries.
#pragma once

#include "storage_state.hpp"

#include <map>
#include <memory>
#include <string>

namespace domus::storage_driver {

/// The ABI's view of a volume; its strings are the volume's.
domus_volume_v1 entry_of(domus_vol& v);

/// Reads the pool's directory again: each volume found keeps its handle when it had one
/// (its facts updated), new ones get theirs, and the handles of volumes gone move to
/// `gone` (free them after the completion that stops listing them). What the scan left
/// out is logged with its reason, once per refresh. From a worker thread.
void scan_into(domus_pool& p, std::map<std::string, std::unique_ptr<domus_vol>>& gone);

/// Reads one volume file of the pool again (after a create or resize): its sizes and
/// header. Throws domus::error when it is not there or unreadable.
void read_volume(domus_pool& p, domus_vol& v);

} // namespace domus::storage_driver
