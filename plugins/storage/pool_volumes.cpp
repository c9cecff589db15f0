#include "pool_volumes.hpp"

#include "pool_dir.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace domus::storage_driver {

namespace {

// A backing file's path as a domain would find it: relative names are relative to the
// image's own directory.
std::string absolute_backing(const domus_pool& p, const std::string& path) {
  if (path.empty() || path[0] == '/')
    return path;
  return p.def.target_path + "/" + path;
}

void take(domus_pool& p, const dir_backend::scanned_volume& s, domus_vol& v) {
  v.pool = &p;
  v.name = s.name;
  v.path = p.def.target_path + "/" + s.name;
  v.key = v.path; // a dir pool's key is its path, as libvirt's
  v.type = s.directory ? DOMUS_VOL_DIR : DOMUS_VOL_FILE;
  v.format = s.directory ? "dir" : s.image.format;
  v.capacity = s.capacity;
  v.allocation = s.allocation;
  v.backing_path = absolute_backing(p, s.image.backing_path);
  v.backing_format = s.image.backing_format;
  v.symlink = s.symlink;
}

} // namespace

domus_volume_v1 entry_of(domus_vol& v) {
  domus_volume_v1 e{};
  e.struct_size = sizeof e;
  e.vol = &v;
  e.name = v.name.c_str();
  e.key = v.key.c_str();
  e.path = v.path.c_str();
  e.type = v.type;
  e.format = v.format.c_str();
  e.capacity = v.capacity;
  e.allocation = v.allocation;
  e.backing_path = v.backing_path.empty() ? nullptr : v.backing_path.c_str();
  e.backing_format = v.backing_format.empty() ? nullptr : v.backing_format.c_str();
  return e;
}

void scan_into(domus_pool& p, std::map<std::string, std::unique_ptr<domus_vol>>& gone) {
  int fd;
  {
    std::lock_guard<std::mutex> lock(p.mutex);
    fd = p.dirfd;
  }
  dir_backend::scan_result found = dir_backend::scan_pool(fd);
  std::lock_guard<std::mutex> lock(p.mutex);
  std::map<std::string, std::unique_ptr<domus_vol>> now;
  for (auto& s : found.volumes) {
    auto it = p.vols.find(s.name);
    std::unique_ptr<domus_vol> v =
        it != p.vols.end() ? std::move(it->second) : std::make_unique<domus_vol>();
    if (it != p.vols.end())
      p.vols.erase(it);
    take(p, s, *v);
    now.emplace(s.name, std::move(v));
  }
  for (auto& [name, v] : p.vols)
    gone.emplace(name, std::move(v));
  p.vols = std::move(now);
  if (!found.skipped.empty()) {
    std::string list;
    for (auto& s : found.skipped)
      list += (list.empty() ? "" : "; ") + ("'" + s.name + "': " + s.reason);
    if (list.size() > 2000)
      list = list.substr(0, 2000) + "...";
    log(p.inst, DOMUS_LOG_WARNING,
        pool_label(p) + ": " + std::to_string(found.skipped.size()) +
            " entries are not volumes: " + list);
  }
}

void read_volume(domus_pool& p, domus_vol& v) {
  int fd = dir_backend::open_beneath(p.dirfd, v.name, O_RDONLY | O_NONBLOCK, false);
  if (fd < 0)
    throw error(errc::operation_failed, pool_label(p) + ": cannot read volume '" +
                                            v.name + "' again: " + std::strerror(errno));
  dir_backend::fd_guard g{fd};
  struct stat st {};
  dir_backend::scanned_volume s;
  s.name = v.name;
  if (::fstat(fd, &st) != 0)
    throw error(errc::operation_failed, pool_label(p) + ": cannot stat volume '" +
                                            v.name + "': " + std::strerror(errno));
  s.image = dir_backend::probe_fd(fd);
  s.capacity = s.image.virtual_size.value_or(static_cast<uint64_t>(st.st_size));
  s.allocation = static_cast<uint64_t>(st.st_blocks) * 512;
  // Under the pool's lock: a copy out of this pool reads the volume's facts meanwhile.
  std::lock_guard<std::mutex> lock(p.mutex);
  take(p, s, v);
}

} // namespace domus::storage_driver
