// Disks of type 'volume' (<source pool='default' volume='disk1.qcow2'/>): a start and
// domxml-to-native find each volume through the host's resolve_volume (plugin ABI 1.3),
// whatever driver serves the pools, and QEMU gets the volume's file or device, in the
// volume's format unless the disk names one. The live definition keeps the disk as
// given (type 'volume'), as libvirt's does.
#pragma once

#include <domus/driver_v1.h>
#include <domus/model/domain_def.hpp>

namespace domus::qemu_driver {

/// A copy of `def` whose volume disks are file or block disks on their volumes' paths.
/// Throws domus::error naming the disk, its pool and volume (no such pool or volume, an
/// inactive pool, a volume type QEMU is not given here, a daemon without the service).
model::domain_def with_volumes_resolved(const domus_host_v1& host,
                                        const model::domain_def& def);

/// Whether `def` has a disk of type 'volume'.
bool has_volume_disks(const model::domain_def& def);

} // namespace domus::qemu_driver
