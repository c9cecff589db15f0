// A pool's or a volume's <target><permissions> (mode, owner, group), applied as libvirt's
// storage driver applies them: to a directory a build makes, to a volume's file when it
// is made. The model normalized them already (mode octal up to 0777, owner and group
// numbers, -1 meaning "as it is").
#pragma once

#include <domus/model/xml_tree.hpp>

#include <sys/types.h>

#include <string>

namespace domus::storage_driver {

struct permissions {
  mode_t mode;
  long owner = -1, group = -1; ///< -1: left as the daemon made it
};

/// The <permissions> under `target` (the <target> element, or null), with `mode` where
/// it names none.
permissions permissions_of(const model::xml_node* target, mode_t mode);

/// Sets them on the open file `fd` (fchmod, then fchown when an owner or group is
/// given). Throws domus::error naming `what` and the system's reason.
void apply_permissions(int fd, const permissions& p, const std::string& what);

} // namespace domus::storage_driver
