#include "daemon/pidfile.hpp"

#include <domus/protocol/errors.hpp>

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>

namespace domus::runtime {

using protocol::errc;
using protocol::error;

pid_file::pid_file(std::string path) : path_(std::move(path)) {
  // Never through a link planted in its place (O_NOFOLLOW: ELOOP).
  fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd_ < 0 && errno == ELOOP)
    throw error(errc::config_error, "pid file " + path_ +
                                        " is a symbolic link; refusing to write through "
                                        "it (remove the link)");
  if (fd_ < 0)
    throw error(errc::config_error,
                "cannot open pid file " + path_ + ": " + std::strerror(errno));
  struct flock fl {};
  fl.l_type = F_WRLCK;
  fl.l_whence = SEEK_SET;
  if (::fcntl(fd_, F_SETLK, &fl) != 0) {
    int err = errno;
    char buf[32] = {};
    ssize_t n = ::pread(fd_, buf, sizeof buf - 1, 0);
    std::string other =
        n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string("?");
    while (!other.empty() && (other.back() == '\n' || other.back() == ' '))
      other.pop_back();
    ::close(fd_);
    fd_ = -1;
    if (err == EAGAIN || err == EACCES)
      throw error(errc::config_error, "another domusd (pid " + other +
                                          ") is already running "
                                          "with this state (" +
                                          path_ +
                                          " is locked); stop it "
                                          "first or use another --root");
    throw error(errc::config_error, "cannot lock " + path_ + ": " + std::strerror(err));
  }
  std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd_, 0) != 0 || ::pwrite(fd_, pid.data(), pid.size(), 0) < 0)
    throw error(errc::config_error,
                "cannot write pid file " + path_ + ": " + std::strerror(errno));
}

pid_file::~pid_file() {
  if (fd_ >= 0) {
    ::unlink(path_.c_str());
    ::close(fd_);
  }
}

} // namespace domus::runtime
