#include "monitor_socket.hpp"

#include <domus/errors.hpp>

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace domus::qemu_driver {

namespace {

// The short address of DIR/NAME: /proc/self/fd/<dir's descriptor>/NAME.
bool short_address(int dirfd, const std::string& name, sockaddr_un& addr) {
  std::string path = "/proc/self/fd/" + std::to_string(dirfd) + "/" + name;
  if (path.size() >= sizeof addr.sun_path)
    return false;
  addr = {};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  return true;
}

struct closer {
  int fd;
  ~closer() {
    if (fd >= 0)
      ::close(fd);
  }
};

void split(const std::string& path, std::string& dir, std::string& name) {
  size_t slash = path.rfind('/');
  dir = slash == std::string::npos ? "." : path.substr(0, slash);
  name = slash == std::string::npos ? path : path.substr(slash + 1);
}

} // namespace

int make_listening_socket(const std::string& dir, const std::string& name) {
  auto failed = [&](const std::string& what) {
    return error(errc::operation_failed, "the socket " + dir + "/" + name + ": " + what +
                                             ": " + std::strerror(errno));
  };
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
    throw failed("mkdir");
  closer d{::open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC)};
  if (d.fd < 0)
    throw failed("open its folder");
  sockaddr_un addr;
  if (!short_address(d.fd, name, addr)) {
    errno = ENAMETOOLONG;
    throw failed("its name");
  }
  ::unlinkat(d.fd, name.c_str(), 0);
  closer l{::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)};
  if (l.fd < 0)
    throw failed("socket");
  if (::bind(l.fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
    throw failed("bind");
  if (::listen(l.fd, 4) != 0)
    throw failed("listen");
  int fd = l.fd;
  l.fd = -1;
  return fd;
}

monitor_socket make_monitor_socket(const std::string& dir, const std::string& name) {
  monitor_socket out;
  out.path = dir + "/" + name + ".sock";
  closer l{make_listening_socket(dir, name + ".sock")};
  // Connected now: the connection waits in the backlog until QEMU accepts it.
  out.client_fd = connect_monitor(out.path);
  if (out.client_fd < 0)
    throw error(errc::operation_failed,
                "the monitor socket " + out.path + ": connect: " + std::strerror(errno));
  out.listen_fd = l.fd;
  l.fd = -1;
  return out;
}

int connect_monitor(const std::string& path) {
  std::string dir, name;
  split(path, dir, name);
  closer d{::open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC)};
  if (d.fd < 0)
    return -1;
  sockaddr_un addr;
  if (!short_address(d.fd, name, addr)) {
    errno = ENAMETOOLONG;
    return -1;
  }
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return -1;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    int e = errno;
    ::close(fd);
    errno = e;
    return -1;
  }
  return fd;
}

} // namespace domus::qemu_driver
