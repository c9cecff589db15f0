#include "permissions.hpp"

#include <domus/errors.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace domus::storage_driver {

permissions permissions_of(const model::xml_node* target, mode_t mode) {
  permissions out{mode};
  const model::xml_node* p = target ? target->child("permissions") : nullptr;
  if (!p)
    return out;
  if (const model::xml_node* m = p->child("mode"))
    out.mode = static_cast<mode_t>(std::strtol(m->trimmed_text().c_str(), nullptr, 8));
  if (const model::xml_node* o = p->child("owner"))
    out.owner = std::strtol(o->trimmed_text().c_str(), nullptr, 10);
  if (const model::xml_node* g = p->child("group"))
    out.group = std::strtol(g->trimmed_text().c_str(), nullptr, 10);
  return out;
}

void apply_permissions(int fd, const permissions& p, const std::string& what) {
  // The mode asked for, whatever the daemon's umask (077 for a daemon) took from it.
  if (::fchmod(fd, p.mode & 07777) != 0)
    throw error(errc::operation_failed,
                "cannot set the mode of " + what + ": " + std::strerror(errno));
  if (p.owner == -1 && p.group == -1)
    return;
  if (::fchown(fd, static_cast<uid_t>(p.owner), static_cast<gid_t>(p.group)) != 0)
    throw error(errc::operation_failed, "cannot give " + what + " owner " +
                                            std::to_string(p.owner) + " and group " +
                                            std::to_string(p.group) + ": " +
                                            std::strerror(errno));
}

} // namespace domus::storage_driver
