#include "pool_dir.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <system_error>

namespace domus::dir_backend {
namespace {

constexpr size_t name_max = 255;

std::string errno_text(int e) {
  return std::strerror(e);
}

// A regular file (or a link to one inside the pool), open at `fd`: probed.
void read_file(int fd, const struct stat& st, scanned_volume& v) {
  v.image = probe_fd(fd);
  v.capacity = v.image.virtual_size.value_or(static_cast<uint64_t>(st.st_size));
  v.allocation = static_cast<uint64_t>(st.st_blocks) * 512;
}

// One directory entry: a volume, or the reason it is left out.
bool read_entry(int dirfd, const std::string& name, scanned_volume& v, std::string& why) {
  v.name = name;
  struct stat lst {};
  if (::fstatat(dirfd, name.c_str(), &lst, AT_SYMLINK_NOFOLLOW) != 0) {
    why = "cannot stat: " + errno_text(errno); // removed meanwhile, most likely
    return false;
  }
  if (!volume_name_problem(name).empty()) {
    why = volume_name_problem(name);
    return false;
  }
  v.symlink = S_ISLNK(lst.st_mode);
  if (!v.symlink && !S_ISREG(lst.st_mode) && !S_ISDIR(lst.st_mode)) {
    why = "neither a file, a directory nor a symbolic link";
    return false;
  }
  // O_NONBLOCK: a fifo swapped in after the stat must not hang the scan.
  int fd = open_beneath(dirfd, name, O_RDONLY | O_NONBLOCK, true);
  if (fd < 0 && v.symlink && (errno == EXDEV || errno == ELOOP)) {
    // A link out of the pool (an ISO kept elsewhere): listed with the target's sizes,
    // its content never read.
    struct stat st {};
    if (::fstatat(dirfd, name.c_str(), &st, 0) != 0) {
      why = "a symbolic link whose target cannot be reached: " + errno_text(errno);
      return false;
    }
    if (!S_ISREG(st.st_mode)) {
      why = "a symbolic link out of the pool to something other than a file";
      return false;
    }
    v.outside = true;
    v.capacity = static_cast<uint64_t>(st.st_size);
    v.allocation = static_cast<uint64_t>(st.st_blocks) * 512;
    return true;
  }
  if (fd < 0) {
    why =
        (v.symlink ? "a dangling symbolic link: " : "cannot open: ") + errno_text(errno);
    return false;
  }
  fd_guard guard{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    why = "cannot stat: " + errno_text(errno);
    return false;
  }
  if (S_ISDIR(st.st_mode)) {
    v.directory = true;
    v.image.format = "dir";
    v.capacity = static_cast<uint64_t>(st.st_size);
    v.allocation = static_cast<uint64_t>(st.st_blocks) * 512;
    return true;
  }
  if (!S_ISREG(st.st_mode)) {
    why = "neither a file, a directory nor a symbolic link";
    return false;
  }
  try {
    read_file(fd, st, v);
  } catch (const image_error& e) {
    why = e.what();
    return false;
  } catch (const std::system_error& e) {
    why = e.what();
    return false;
  }
  return true;
}

} // namespace

namespace {

// What no name under the directory may be; volume_name_problem adds the names reserved
// for the driver's own files.
std::string syntax_problem(const std::string& name) {
  if (name.empty())
    return "a volume name cannot be empty";
  if (name == "." || name == "..")
    return "a volume cannot be named '" + name + "'";
  if (name.size() > name_max)
    return "a volume name has at most 255 bytes (this one has " +
           std::to_string(name.size()) + ")";
  for (unsigned char c : name) {
    if (c == '/')
      return "a volume name cannot hold '/'";
    if (c < 0x20 || c == 0x7f)
      return "a volume name cannot hold a control byte";
  }
  return "";
}

} // namespace

std::string volume_name_problem(const std::string& name) {
  if (std::string why = syntax_problem(name); !why.empty())
    return why;
  if (name.rfind(".domus-upload-", 0) == 0)
    return "names beginning '.domus-upload-' are the storage driver's own (uploads)";
  return "";
}

int open_beneath(int dirfd, const std::string& name, int flags, bool follow_symlinks) {
  if (!syntax_problem(name).empty()) {
    errno = EINVAL;
    return -1;
  }
  struct open_how how {};
  how.flags = static_cast<uint64_t>(flags | O_CLOEXEC | O_NOCTTY);
  if (flags & O_CREAT)
    how.mode = 0600;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
  if (!follow_symlinks) {
    how.flags |= O_NOFOLLOW;
    how.resolve |= RESOLVE_NO_SYMLINKS;
  }
  long fd;
  do
    fd = ::syscall(SYS_openat2, dirfd, name.c_str(), &how, sizeof how);
  while (fd < 0 && errno == EINTR);
  return static_cast<int>(fd);
}

scan_result scan_pool(int dirfd) {
  int own = ::openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (own < 0)
    throw std::system_error(errno, std::generic_category(), "open the pool directory");
  std::unique_ptr<DIR, int (*)(DIR*)> dir(::fdopendir(own), ::closedir);
  if (!dir) {
    int e = errno;
    ::close(own);
    throw std::system_error(e, std::generic_category(), "read the pool directory");
  }
  scan_result out;
  for (;;) {
    errno = 0;
    dirent* e = ::readdir(dir.get());
    if (!e) {
      if (errno != 0)
        throw std::system_error(errno, std::generic_category(),
                                "read the pool directory");
      break;
    }
    std::string name = e->d_name;
    if (name == "." || name == "..")
      continue;
    scanned_volume v;
    std::string why;
    if (read_entry(dirfd, name, v, why))
      out.volumes.push_back(std::move(v));
    else
      out.skipped.push_back({name, why});
  }
  std::sort(
      out.volumes.begin(), out.volumes.end(),
      [](const scanned_volume& a, const scanned_volume& b) { return a.name < b.name; });
  std::sort(
      out.skipped.begin(), out.skipped.end(),
      [](const skipped_entry& a, const skipped_entry& b) { return a.name < b.name; });
  return out;
}

pool_space space_of(int dirfd) {
  struct statvfs s {};
  if (::fstatvfs(dirfd, &s) != 0)
    throw std::system_error(errno, std::generic_category(),
                            "statvfs of the pool directory");
  pool_space out;
  uint64_t unit = s.f_frsize;
  out.capacity = unit * s.f_blocks;
  out.allocation = unit * (s.f_blocks - s.f_bfree);
  out.available = unit * s.f_bavail;
  return out;
}

} // namespace domus::dir_backend
