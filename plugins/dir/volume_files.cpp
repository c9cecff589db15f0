#include "volume_files.hpp"

#include "pool_dir.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>
#include <vector>

namespace domus::dir_backend {
namespace {

[[noreturn]] void fail(const std::string& what, const std::string& name, int e) {
  throw volume_error("cannot " + what + " volume '" + name + "': " + std::strerror(e), e);
}

void check_name(const std::string& name) {
  std::string problem = volume_name_problem(name);
  if (!problem.empty())
    throw volume_error(problem, 0);
}

off_t as_offset(uint64_t bytes, const std::string& name) {
  if (bytes > static_cast<uint64_t>(std::numeric_limits<off_t>::max()))
    throw volume_error("volume '" + name + "': a capacity of " + std::to_string(bytes) +
                           " bytes is larger than any file can be",
                       0);
  return static_cast<off_t>(bytes);
}

// An existing volume file, open read-write, never through a link.
int open_existing(int dirfd, const std::string& name, const char* what) {
  check_name(name);
  int fd = open_beneath(dirfd, name, O_RDWR, false);
  if (fd < 0)
    fail(what, name, errno);
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    int e = errno;
    ::close(fd);
    fail(what, name, e);
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    throw volume_error("cannot " + std::string(what) + " volume '" + name +
                           "': it is not a regular file",
                       0);
  }
  return fd;
}

// Allocates [from, to) of the file.
int allocate_range(int fd, off_t from, off_t to) {
  if (to <= from)
    return 0;
  int rc;
  do
    rc = ::fallocate(fd, 0, from, to - from);
  while (rc != 0 && errno == EINTR);
  return rc == 0 ? 0 : errno;
}

// Asks `progress` whether to go on; throws when it says no.
void step_done(const progress_fn& progress, uint64_t done, uint64_t total,
               const char* what, const std::string& name) {
  if (progress && !progress(done, total))
    throw volume_error(
        "the " + std::string(what) + " of volume '" + name + "' was aborted", ECANCELED);
}

// What one copy_file_range or zeroing step moves at most: the unit of progress reports
// and of how soon an abort is heard.
constexpr off_t slice = 64 << 20;

} // namespace

int create_file(int dirfd, const std::string& name, uint64_t capacity,
                uint64_t allocation) {
  check_name(name);
  off_t size = as_offset(capacity, name);
  int fd = open_beneath(dirfd, name, O_RDWR | O_CREAT | O_EXCL, false);
  if (fd < 0)
    fail("create", name, errno);
  int e = 0;
  if (::ftruncate(fd, size) != 0)
    e = errno;
  else
    e = allocate_range(fd, 0, static_cast<off_t>(std::min(allocation, capacity)));
  if (e == 0 && ::fsync(fd) != 0)
    e = errno;
  if (e == 0 && ::fsync(dirfd) != 0)
    e = errno;
  if (e != 0) {
    // Nothing half-made stays: the file goes (it is ours: O_EXCL made it).
    ::close(fd);
    ::unlinkat(dirfd, name.c_str(), 0);
    fail("create", name, e);
  }
  return fd;
}

void resize_file(int dirfd, const std::string& name, uint64_t capacity, bool allocate,
                 bool shrink) {
  off_t size = as_offset(capacity, name);
  int fd = open_existing(dirfd, name, "resize");
  struct stat st {};
  ::fstat(fd, &st);
  if (size < st.st_size && !shrink) {
    ::close(fd);
    throw volume_error("volume '" + name + "' has " + std::to_string(st.st_size) +
                           " bytes: shrinking it to " + std::to_string(size) +
                           " destroys data, and needs the shrink flag",
                       0);
  }
  int e = 0;
  if (allocate)
    e = allocate_range(fd, st.st_size,
                       size); // first, so that a full disk changes nothing
  if (e == 0 && ::ftruncate(fd, size) != 0)
    e = errno;
  if (e == 0 && ::fsync(fd) != 0)
    e = errno;
  ::close(fd);
  if (e != 0)
    fail("resize", name, e);
}

void zero_file(int dirfd, const std::string& name, const progress_fn& progress) {
  int fd = open_existing(dirfd, name, "wipe");
  struct stat st {};
  ::fstat(fd, &st);
  int e = 0;
  if (st.st_blocks * 512 < st.st_size) {
    // Sparse: emptied and grown back, holes all through.
    if (::ftruncate(fd, 0) != 0 || ::ftruncate(fd, st.st_size) != 0)
      e = errno;
  } else {
    // FALLOC_FL_ZERO_RANGE zeroes in place, keeping the allocation, a slice at a time
    // (so that progress is told and an abort heard); where the filesystem has no such
    // call, zeros are written.
    std::vector<char> zeros;
    uint64_t total = static_cast<uint64_t>(st.st_size);
    for (off_t at = 0; at < st.st_size && e == 0;) {
      try {
        step_done(progress, static_cast<uint64_t>(at), total, "wipe", name);
      } catch (...) {
        ::close(fd);
        throw;
      }
      off_t n = std::min<off_t>(st.st_size - at, slice);
      if (zeros.empty() && ::fallocate(fd, FALLOC_FL_ZERO_RANGE, at, n) == 0) {
        at += n;
        continue;
      }
      if (zeros.empty() && errno != EOPNOTSUPP) {
        e = errno;
        break;
      }
      if (zeros.empty())
        zeros.assign(1 << 20, 0);
      ssize_t w = ::pwrite(fd, zeros.data(),
                           static_cast<size_t>(std::min<off_t>(n, zeros.size())), at);
      if (w < 0 && errno != EINTR)
        e = errno;
      else if (w > 0)
        at += w;
    }
  }
  if (e == 0 && ::fsync(fd) != 0)
    e = errno;
  ::close(fd);
  if (e != 0)
    fail("wipe", name, e);
}

void copy_data(int from, int to, uint64_t size, uint64_t capacity,
               const std::string& name, const progress_fn& progress) {
  off_t end = as_offset(size, name);
  off_t final_size = as_offset(std::max(size, capacity), name);
  off_t at = 0;
  while (at < end) {
    step_done(progress, static_cast<uint64_t>(at), size, "copy", name);
    off_t data = ::lseek(from, at, SEEK_DATA);
    if (data < 0 && errno == ENXIO)
      break; // only a hole is left
    if (data < 0)
      fail("copy into", name, errno);
    off_t hole = ::lseek(from, data, SEEK_HOLE);
    if (hole < 0)
      fail("copy into", name, errno);
    hole = std::min(hole, end);
    loff_t in = data, out = data;
    bool plain = false; // copy_file_range refused: between filesystems (EXDEV), ...
    while (in < hole) {
      ssize_t n;
      if (in > data && (in - data) % slice == 0)
        step_done(progress, static_cast<uint64_t>(in), size, "copy", name);
      if (!plain) {
        n = ::copy_file_range(from, &in, to, &out,
                              static_cast<size_t>(std::min<off_t>(hole - in, slice)), 0);
        if (n < 0 && (errno == EXDEV || errno == EINVAL || errno == EOPNOTSUPP ||
                      errno == ENOSYS)) {
          plain = true;
          continue;
        }
      } else {
        char buf[1 << 16];
        n = ::pread(from, buf, std::min<off_t>(sizeof buf, hole - in), in);
        if (n > 0 && ::pwrite(to, buf, static_cast<size_t>(n), out) != n)
          fail("copy into", name, errno ? errno : EIO);
        if (n > 0) {
          in += n;
          out += n;
        }
      }
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        fail("copy into", name, errno);
      if (n == 0)
        throw volume_error("cannot copy into volume '" + name +
                               "': its source ended before its size",
                           0);
    }
    at = hole;
  }
  if (::ftruncate(to, final_size) != 0 || ::fsync(to) != 0)
    fail("copy into", name, errno);
}

bool is_upload_file(const std::string& name) {
  return name.rfind(upload_prefix, 0) == 0;
}

int create_upload_file(int dirfd, const std::string& for_volume, std::string& name) {
  for (int attempt = 0; attempt < 16; ++attempt) {
    uint64_t r = 0;
    if (::getrandom(&r, sizeof r, 0) != sizeof r)
      fail("upload into", for_volume, errno ? errno : EIO);
    char hex[17];
    std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(r));
    name = std::string(upload_prefix) + hex;
    int fd = open_beneath(dirfd, name, O_RDWR | O_CREAT | O_EXCL, false);
    if (fd >= 0)
      return fd;
    if (errno != EEXIST)
      fail("upload into", for_volume, errno);
  }
  fail("upload into", for_volume, EEXIST);
}

void commit_upload(int dirfd, int fd, const std::string& temp, const std::string& name,
                   uint64_t size) {
  check_name(name);
  off_t end = as_offset(size, name);
  struct stat was {};
  if (::fstatat(dirfd, name.c_str(), &was, AT_SYMLINK_NOFOLLOW) != 0)
    fail("upload into", name, errno);
  if (!S_ISREG(was.st_mode))
    throw volume_error(
        "cannot upload into volume '" + name + "': it is not a regular file any more", 0);
  int e = 0;
  if (::ftruncate(fd, end) != 0 || ::fchmod(fd, was.st_mode & 07777) != 0)
    e = errno;
  // Its owner too, where the daemon may give it (root; elsewhere the file is its own).
  if (e == 0 && (was.st_uid != ::geteuid() || was.st_gid != ::getegid()) &&
      ::fchown(fd, was.st_uid, was.st_gid) != 0 && errno != EPERM)
    e = errno;
  if (e == 0 && ::fsync(fd) != 0)
    e = errno;
  if (e == 0 && ::renameat(dirfd, temp.c_str(), dirfd, name.c_str()) != 0)
    e = errno;
  if (e != 0)
    fail("upload into", name, e);
  if (::fsync(dirfd) != 0)
    fail("upload into", name, errno);
}

void remove_upload_leftovers(int dirfd) {
  int own = ::openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (own < 0)
    return;
  DIR* dir = ::fdopendir(own);
  if (!dir) {
    ::close(own);
    return;
  }
  std::vector<std::string> found;
  while (dirent* e = ::readdir(dir))
    if (is_upload_file(e->d_name) && e->d_type != DT_DIR)
      found.emplace_back(e->d_name);
  ::closedir(dir);
  for (auto& name : found)
    ::unlinkat(dirfd, name.c_str(), 0);
}

void remove_file(int dirfd, const std::string& name, bool directory) {
  check_name(name);
  if (::unlinkat(dirfd, name.c_str(), directory ? AT_REMOVEDIR : 0) != 0)
    fail("delete", name, errno);
}

} // namespace domus::dir_backend
