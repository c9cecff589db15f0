// The daemon's accept(2) and accept4(2), in front of libc's, for libzmq.
//
// The executable exports these two symbols (runtime/CMakeLists.txt), so libzmq's calls
// land here, in libzmq's own thread, as each connection is accepted:
//  - a connection to a socket at its cap (connection_cap.hpp) is closed at once and
//    reported as ECONNABORTED, which libzmq skips: the cap is exact, whatever the burst;
//  - one that would take one of the last descriptors the daemon keeps for its own files
//    is closed the same way;
//  - EMFILE is reported as ENFILE: libzmq 4.3's ipc listener aborts the process on
//    EMFILE (its errno_assert allows ENFILE, not EMFILE).
// No client can reach libzmq's failure path.
#include "gateway/connection_cap.hpp"

#include <atomic>
#include <cerrno>
#include <dlfcn.h>
#include <sys/socket.h>
#include <unistd.h>

namespace domus::runtime {

/// Accepted descriptors at or above this are refused (set once the limit is known).
std::atomic<int> accept_ceiling{1 << 30};

/// Keeps the last `reserved` descriptors below `limit` for the daemon's own use.
void set_accept_ceiling(int limit, int reserved) {
  accept_ceiling = limit > 2 * reserved ? limit - reserved : limit / 2;
}

namespace {

template <class Fn> Fn next_symbol(const char* name) {
  return reinterpret_cast<Fn>(::dlsym(RTLD_NEXT, name));
}

int guarded(int listen_fd, int fd) {
  if (fd < 0) {
    if (errno == EMFILE)
      errno = ENFILE;
    return fd;
  }
  if (fd >= accept_ceiling.load(std::memory_order_relaxed) ||
      !admit_connection(listen_fd)) {
    ::close(fd);
    errno = ECONNABORTED;
    return -1;
  }
  return fd;
}

} // namespace
} // namespace domus::runtime

extern "C" int accept4(int fd, sockaddr* addr, socklen_t* len, int flags) {
  using fn = int (*)(int, sockaddr*, socklen_t*, int);
  static fn real = domus::runtime::next_symbol<fn>("accept4");
  return domus::runtime::guarded(fd, real(fd, addr, len, flags));
}

extern "C" int accept(int fd, sockaddr* addr, socklen_t* len) {
  using fn = int (*)(int, sockaddr*, socklen_t*);
  static fn real = domus::runtime::next_symbol<fn>("accept");
  return domus::runtime::guarded(fd, real(fd, addr, len));
}
