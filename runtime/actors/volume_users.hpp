// Which domains use a storage volume: the check behind refusing to delete or wipe a
// volume a defined or running guest has as a disk (libvirt's storage driver does not
// look; a guest that loses its disk under it is worse than an error); and a pool or a
// network (host users_of, for the drivers that serve them).
#pragma once

#include <domus/model/domain_def.hpp>

#include <string>

namespace domus::runtime {

/// A volume as a domain's disk may name it.
struct volume_ref {
  std::string pool;   ///< the pool's name
  std::string volume; ///< the volume's name in it
  std::string path;   ///< where it lies (a file's or a device's path)
};

/// Whether `def` has a disk on `v`: a <disk type='volume'> whose <source> names its pool
/// and volume, or a disk whose <source> file or dev is its path. A compacted definition
/// is read again only when its text holds the volume's name or path.
bool uses_volume(const model::domain_def& def, const volume_ref& v);

/// Whether `def` has a <disk type='volume'> on a volume of the pool `pool`.
bool uses_pool(const model::domain_def& def, const std::string& pool);

/// Whether `def` has an <interface type='network'> on the network `network`.
bool uses_network(const model::domain_def& def, const std::string& network);

} // namespace domus::runtime
