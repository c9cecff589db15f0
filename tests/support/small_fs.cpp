#include "small_fs.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <stdexcept>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

namespace domus::testing {

small_fs::small_fs(std::string d, const std::string& size) : dir(std::move(d)) {
  ::mkdir(dir.c_str(), 0700);
  if (::mount("tmpfs", dir.c_str(), "tmpfs", 0,
              ("size=" + size + ",mode=0700").c_str()) != 0)
    throw std::runtime_error("mount tmpfs on " + dir + ": " + std::strerror(errno));
}

small_fs::~small_fs() {
  ::umount2(dir.c_str(), MNT_DETACH);
}

std::string small_fs::fill() {
  std::string path = dir + "/filler";
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
  std::string chunk(65536, 'x');
  for (size_t size = chunk.size(); size > 0; size /= 2)
    while (::write(fd, chunk.data(), size) == static_cast<ssize_t>(size)) {
    }
  ::close(fd);
  return path;
}

void small_fs::remount(bool read_only) {
  if (::mount(nullptr, dir.c_str(), nullptr, MS_REMOUNT | (read_only ? MS_RDONLY : 0),
              "size=1m") != 0)
    throw std::runtime_error("remount " + dir + ": " + std::strerror(errno));
}

} // namespace domus::testing
