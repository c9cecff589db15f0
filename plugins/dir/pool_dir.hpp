// A `dir` pool's directory: which names a volume may have, opening a volume's file
// without ever leaving the directory, reading what the directory holds (a refresh), and
// the filesystem's sizes. Everything works from the directory's descriptor, never from
// a path joined from a name. No CAF, no runtime.
#pragma once

#include "image_probe.hpp"

#include <unistd.h>

#include <cstdint>
#include <string>
#include <vector>

namespace domus::dir_backend {

/// Closes a descriptor when it goes out of scope (-1: none).
struct fd_guard {
  int fd;
  ~fd_guard() {
    if (fd >= 0)
      ::close(fd);
  }
};

/// Why `name` cannot name a volume of a dir pool ("" when it can): empty, "." or "..",
/// a "/", a NUL or a control byte, more than 255 bytes (the filesystem's NAME_MAX), or
/// a name beginning ".domus-upload-" (the driver's own files, volume_files.hpp).
std::string volume_name_problem(const std::string& name);

/// Opens `name` under the pool directory `dirfd` with `flags` (O_CLOEXEC and O_NOCTTY
/// are added) through openat2: the name must be a valid volume name, and resolution never
/// leaves the directory (RESOLVE_BENEATH, no magic links); with `follow_symlinks` a
/// symbolic link is followed only while its target stays inside, without it any link
/// fails with ELOOP. Returns the descriptor, or -1 with errno set (EXDEV: the target lies
/// outside; EINVAL: an invalid name).
int open_beneath(int dirfd, const std::string& name, int flags, bool follow_symlinks);

/// One volume a scan found.
struct scanned_volume {
  std::string name;
  bool directory = false; ///< a subdirectory: libvirt's volume type `dir`
  /// A symbolic link: listed read-only. `outside`: its target lies outside the pool, so
  /// its content is never read (its format is reported raw, its sizes the target's).
  bool symlink = false, outside = false;
  image_info image;        ///< the header's facts (format "dir" for a directory)
  uint64_t capacity = 0;   ///< bytes: the image's virtual size, else the file's size
  uint64_t allocation = 0; ///< bytes the file occupies on disk (st_blocks * 512)
};

/// A name the scan left out, and why (a fifo, a dangling link, a damaged header, ...).
struct skipped_entry {
  std::string name, reason;
};

struct scan_result {
  std::vector<scanned_volume> volumes; ///< in name order
  std::vector<skipped_entry> skipped;  ///< in name order
};

/// Reads every entry of the pool directory `dirfd`: regular files (probed), directories,
/// and symbolic links as described; anything else, and any entry that cannot be read, is
/// skipped with its reason. Throws std::system_error when the directory cannot be read.
scan_result scan_pool(int dirfd);

/// A filesystem's sizes as a pool reports them (libvirt's meaning).
struct pool_space {
  uint64_t capacity = 0;   ///< the filesystem's size
  uint64_t allocation = 0; ///< what is used on it (by anyone)
  uint64_t available = 0;  ///< what an unprivileged writer may still use
};

/// The sizes of the filesystem holding `dirfd` (fstatvfs). Throws std::system_error.
pool_space space_of(int dirfd);

} // namespace domus::dir_backend
