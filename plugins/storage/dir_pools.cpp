// The pool operations of the storage driver for `dir` pools: a pool is a directory; a
// start opens it (its descriptor is what every volume operation works beneath) and reads
// it, a refresh reads it again, a build makes it, a delete removes it when empty. Every
// operation that touches the filesystem runs as blocking work. Other pool types are
// defined (the runtime keeps them) but not started.
#include "permissions.hpp"
#include "pool_volumes.hpp"
#include "storage_state.hpp"

#include "pool_dir.hpp"
#include "volume_files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>
#include <vector>

namespace domus::storage_driver {

namespace {

std::string errno_text() {
  return std::strerror(errno);
}

// Only dir pools run here; the rest are the later drivers' (logical, netfs, iscsi, ...).
void check_runs(const domus_pool& p, const model::pool_def& def) {
  if (def.type != "dir")
    throw error(errc::unsupported,
                pool_label(p) + " has type '" + def.type +
                    "', which Domus cannot start yet: the storage driver runs dir pools");
  if (def.target_path.empty() || def.target_path[0] != '/')
    throw error(errc::invalid_argument, pool_label(p) +
                                            ": its target path must be absolute, not '" +
                                            def.target_path + "'");
}

// The pool's sizes, from its directory's filesystem.
domus_pool_info_v1 info_of(const domus_pool& p) {
  domus_pool_info_v1 info{};
  info.struct_size = sizeof info;
  info.state = p.state;
  if (p.dirfd >= 0) {
    // A completion never fails for want of sizes: its operation happened.
    try {
      dir_backend::pool_space s = dir_backend::space_of(p.dirfd);
      info.capacity = s.capacity;
      info.allocation = s.allocation;
      info.available = s.available;
    } catch (const std::system_error&) {
    }
  }
  return info;
}

// Makes the directory (and its parents, as libvirt's build does), where it is new with
// the pool's <permissions>, by default mode 0711: the pool's files are reachable by
// path, its listing is not.
void make_directory(const domus_pool& p, const model::pool_def& def) {
  const std::string& path = def.target_path;
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) {
    if (!S_ISDIR(st.st_mode))
      throw error(errc::operation_failed, pool_label(p) + ": cannot build '" + path +
                                              "': it exists and is not a " + "directory");
    return;
  }
  for (size_t slash = path.find('/', 1);; slash = path.find('/', slash + 1)) {
    std::string part = path.substr(0, slash);
    if (::mkdir(part.c_str(), 0711) != 0 && errno != EEXIST)
      throw error(errc::operation_failed, pool_label(p) + ": cannot build '" + path +
                                              "': mkdir " + part + ": " + errno_text());
    if (slash == std::string::npos)
      break;
  }
  // The mode asked for, whatever the daemon's umask (077 for a daemon) took from it;
  // through the directory's descriptor, so that a link swapped in meanwhile is never
  // followed to another file's mode.
  // The pool's <permissions> where it gives them (libvirt's default mode 0711).
  int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    throw error(errc::operation_failed, pool_label(p) + ": cannot set the mode of '" +
                                            path + "': " + std::strerror(errno));
  dir_backend::fd_guard g{fd};
  apply_permissions(fd, permissions_of(def.root.child("target"), 0711),
                    pool_label(p) + "'s directory '" + path + "'");
}

// Opens the target directory of a pool to start.
int open_target(const domus_pool& p, const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    int e = errno;
    std::string why = e == ENOENT    ? "it does not exist (pool-build makes it)"
                      : e == ENOTDIR ? "it is not a directory"
                                     : std::strerror(e);
    throw error(errc::operation_failed, pool_label(p) +
                                            ": cannot open its target directory '" +
                                            path + "': " + why);
  }
  // A read-only or unwritable directory starts, as libvirt's does (an ISO library on
  // a read-only mount): each write into it fails on its own, naming why.
  return fd;
}

void pool_define(domus_instance* inst, const char* xml, uint32_t flags,
                 domus_complete_fn done, void* user) {
  guarded(done, user, [&] {
    if (flags)
      throw error(errc::unsupported, "pool define takes no flags");
    auto p = std::make_unique<domus_pool>();
    p->inst = inst;
    p->def =
        model::parse_pool(xml, "the runtime's definition", model::parse_mode::stored);
    {
      std::lock_guard<std::mutex> lock(inst->mutex);
      inst->pools.insert(p.get());
    }
    complete(p.release(), done, user, volumes::none, nullptr, true);
  });
}

void build_now(domus_pool* p, const model::pool_def& def, uint32_t flags) {
  if (flags & (DOMUS_POOL_BUILD_REPAIR | DOMUS_POOL_BUILD_RESIZE))
    throw error(errc::unsupported, pool_label(*p) + ": a dir pool's build cannot repair "
                                                    "or resize");
  if ((flags & DOMUS_POOL_BUILD_OVERWRITE) && (flags & DOMUS_POOL_BUILD_NO_OVERWRITE))
    throw error(errc::invalid_argument,
                pool_label(*p) +
                    ": build --overwrite and --no-overwrite exclude each other");
  check_runs(*p, def);
  make_directory(*p, def);
}

void pool_start(domus_instance* inst, domus_pool* p, const char* xml, uint32_t flags,
                domus_complete_fn done, void* user) {
  std::string text = xml;
  run_blocking(inst, "the start of " + pool_label(*p), done, user, [=] {
    auto def =
        model::parse_pool(text, "the runtime's definition", model::parse_mode::stored);
    if (flags & ~(DOMUS_POOL_START_BUILD | DOMUS_POOL_START_BUILD_OVERWRITE |
                  DOMUS_POOL_START_BUILD_NO_OVERWRITE))
      throw error(errc::unsupported, pool_label(*p) + ": unknown start flags");
    check_runs(*p, def);
    if (flags)
      build_now(
          p, def,
          (flags & DOMUS_POOL_START_BUILD_OVERWRITE ? DOMUS_POOL_BUILD_OVERWRITE : 0) |
              (flags & DOMUS_POOL_START_BUILD_NO_OVERWRITE ? DOMUS_POOL_BUILD_NO_OVERWRITE
                                                           : 0));
    int fd = open_target(*p, def.target_path);
    std::map<std::string, std::unique_ptr<domus_vol>> old;
    auto set = [&](int dirfd, int32_t state) {
      std::lock_guard<std::mutex> lock(p->mutex);
      if (p->dirfd >= 0 && p->dirfd != dirfd)
        ::close(p->dirfd);
      p->dirfd = dirfd;
      p->state = state;
    };
    {
      std::lock_guard<std::mutex> lock(p->mutex);
      p->def = std::move(def);
    }
    set(fd, DOMUS_POOL_RUNNING);
    // No upload runs in an inactive pool: its files are what a killed daemon left.
    dir_backend::remove_upload_leftovers(fd);
    try {
      scan_into(*p, old);
    } catch (...) {
      set(-1, DOMUS_POOL_INACTIVE); // closes fd
      throw;
    }
    complete(p, done, user, volumes::all); // `old` (handles no longer listed) goes after
  });
}

void pool_destroy(domus_instance* inst, domus_pool* p, domus_complete_fn done,
                  void* user) {
  (void)inst;
  {
    std::lock_guard<std::mutex> lock(p->mutex);
    if (p->dirfd >= 0)
      ::close(p->dirfd);
    p->dirfd = -1;
    p->state = DOMUS_POOL_INACTIVE;
  }
  // Its volume handles stay valid until the next start no longer lists them.
  complete(p, done, user);
}

void pool_build(domus_instance* inst, domus_pool* p, uint32_t flags,
                domus_complete_fn done, void* user) {
  run_blocking(inst, "the build of " + pool_label(*p), done, user, [=] {
    build_now(p, p->def, flags);
    complete(p, done, user);
  });
}

void pool_delete(domus_instance* inst, domus_pool* p, uint32_t flags,
                 domus_complete_fn done, void* user) {
  run_blocking(inst, "the delete of " + pool_label(*p), done, user, [=] {
    if (flags)
      throw error(errc::unsupported,
                  pool_label(*p) + ": a dir pool's delete takes no flags (--zeroed)");
    check_runs(*p, p->def);
    if (::rmdir(p->def.target_path.c_str()) != 0) {
      int e = errno;
      throw error(errc::operation_failed,
                  pool_label(*p) + ": cannot remove its directory '" +
                      p->def.target_path + "': " +
                      (e == ENOTEMPTY || e == EEXIST ? std::string("it is not empty")
                                                     : std::strerror(e)));
    }
    complete(p, done, user);
  });
}

void pool_refresh(domus_instance* inst, domus_pool* p, domus_complete_fn done,
                  void* user) {
  run_blocking(inst, "the refresh of " + pool_label(*p), done, user, [=] {
    std::map<std::string, std::unique_ptr<domus_vol>> old;
    scan_into(*p, old);
    complete(p, done, user, volumes::all);
  });
}

void pool_release(domus_instance* inst, domus_pool* p) {
  {
    std::lock_guard<std::mutex> lock(inst->mutex);
    inst->pools.erase(p);
  }
  delete p;
}

const domus_pool_ops_v1 table = {
    sizeof(domus_pool_ops_v1),
    pool_define,
    pool_start,
    pool_destroy,
    pool_build,
    pool_delete,
    pool_refresh,
    pool_release,
};

} // namespace

const domus_pool_ops_v1& pool_ops() {
  return table;
}

void complete(domus_pool* p, domus_complete_fn done, void* user, volumes which,
              domus_vol* one, bool handle) {
  domus_result_v1 r = blank();
  std::vector<domus_volume_v1> list;
  domus_pool_info_v1 info{};
  {
    std::lock_guard<std::mutex> lock(p->mutex);
    info = info_of(*p);
    if (which == volumes::all)
      for (auto& [name, v] : p->vols)
        list.push_back(entry_of(*v));
    else if (which == volumes::one)
      list.push_back(entry_of(*one));
  }
  r.pool = handle ? p : nullptr;
  r.pool_info = &info;
  r.volumes = list.data();
  r.n_volumes = list.size();
  done(user, &r);
}

} // namespace domus::storage_driver
