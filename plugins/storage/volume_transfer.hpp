// Volume upload and download of `dir` pools (plugin ABI 1.3): the two slots of the
// volume table that move a volume's bytes on a stream, as long-running jobs.
#pragma once

#include <domus/driver_v1.h>

namespace domus::storage_driver {

/// The volume table's `upload` and `download`.
struct transfer_ops {
  decltype(domus_volume_ops_v1::upload) upload;
  decltype(domus_volume_ops_v1::download) download;
};
const transfer_ops& transfers();

} // namespace domus::storage_driver
