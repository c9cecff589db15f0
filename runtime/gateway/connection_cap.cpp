#include "gateway/connection_cap.hpp"

#include "daemon/log.hpp"
#include "gateway/event_loop.hpp"

#include <domus/protocol/errors.hpp>

#include <zmq_addon.hpp>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <vector>

namespace domus::runtime {

namespace {

// One capped listener. Written on the loop thread before its descriptor is published;
// read by the accept guard in libzmq's thread.
struct slot {
  std::atomic<int> fd{-1};
  std::atomic<uint32_t> cap{0}, count{0};
  std::atomic<bool> full{false};
  std::string what, setting;
};

slot slots[8];

[[noreturn]] void fail(const std::string& what, const std::string& path) {
  throw protocol::error(protocol::errc::config_error,
                        what + " " + path + ": " + std::strerror(errno));
}

// The listening socket, its file created private (the daemon's umask is 0077 and it is
// set here too: the read-write socket is never reachable by others, not even for an
// instant) and then given its mode.
int make_listener(const std::string& path, unsigned mode) {
  sockaddr_un addr{};
  if (path.size() >= sizeof addr.sun_path)
    throw protocol::error(protocol::errc::config_error, "socket path too long: " + path);
  // Only this daemon holds the pid lock, so an existing file is a stale one.
  ::unlink(path.c_str());
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    fail("cannot make a socket for", path);
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  mode_t old_mask = ::umask(0077);
  int rc = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  ::umask(old_mask);
  if (rc != 0) {
    int err = errno;
    ::close(fd);
    errno = err;
    fail("cannot bind", path);
  }
  if (::chmod(path.c_str(), mode) != 0 || ::listen(fd, 128) != 0) {
    int err = errno;
    ::close(fd);
    errno = err;
    fail("cannot listen on", path);
  }
  return fd;
}

} // namespace

bool admit_connection(int listen_fd) {
  for (auto& s : slots) {
    if (s.fd.load(std::memory_order_acquire) != listen_fd)
      continue;
    uint32_t n = s.count.load();
    while (true) {
      if (n >= s.cap.load()) {
        if (!s.full.exchange(true))
          log_warning(s.what + " has " + std::to_string(n) + " connections (" +
                      s.setting + " is " + std::to_string(s.cap.load()) +
                      "): more are closed at once until one leaves");
        return false;
      }
      if (s.count.compare_exchange_weak(n, n + 1))
        return true;
    }
  }
  return true; // not a capped listener
}

connection_cap::connection_cap(zmq::context_t& ctx, zmq::socket_t& sock, std::string path,
                               unsigned mode, uint32_t cap, std::string what,
                               std::string setting, uv_loop_t* loop)
    : sock_(sock), path_(std::move(path)) {
  for (int i = 0; i < static_cast<int>(std::size(slots)); ++i)
    if (slots[i].fd.load() == -1 && slots[i].cap.load() == 0) {
      slot_ = i;
      break;
    }
  if (slot_ < 0)
    throw protocol::error(protocol::errc::internal, "too many capped listeners");
  auto& s = slots[slot_];
  s.cap = cap;
  s.count = 0;
  s.full = false;
  s.what = std::move(what);
  s.setting = std::move(setting);
  int fd = make_listener(path_, mode);
  // The monitor first, so that no connection's end goes unseen.
  static std::atomic<int> next{0};
  std::string name = "inproc://domus-monitor-" + std::to_string(next++);
  if (zmq_socket_monitor(sock_.handle(), name.c_str(), ZMQ_EVENT_DISCONNECTED) != 0) {
    ::close(fd);
    throw protocol::error(protocol::errc::internal,
                          "cannot monitor " + path_ + ": " + zmq_strerror(zmq_errno()));
  }
  monitor_ = std::make_unique<zmq::socket_t>(ctx, zmq::socket_type::pair);
  // No limit on the monitor's queue (an inproc pipe is unbounded when either side's
  // limit is 0): a lost event would leave a slot taken for good. The loop drains it.
  monitor_->set(zmq::sockopt::rcvhwm, 0);
  monitor_->set(zmq::sockopt::linger, 0);
  monitor_->connect(name);
  s.fd.store(fd, std::memory_order_release);
  try {
    sock_.set(zmq::sockopt::use_fd, fd);
    sock_.bind("ipc://" + path_);
  } catch (const zmq::error_t& e) {
    s.fd = -1;
    throw protocol::error(protocol::errc::config_error,
                          "cannot bind " + path_ + ": " + e.what());
  }
  poll_ = new uv_poll_t;
  poll_->data = this;
  uv_poll_init(loop, poll_, monitor_->get(zmq::sockopt::fd));
  uv_poll_start(poll_, UV_READABLE, [](uv_poll_t* h, int, int) {
    static_cast<connection_cap*>(h->data)->drain();
  });
  drain(); // ZMQ_FD signals edges: a first drain arms it
}

connection_cap::~connection_cap() {
  close();
}

uint32_t connection_cap::connections() const {
  return slot_ < 0 ? 0 : slots[slot_].count.load();
}

void connection_cap::close() {
  if (poll_) {
    uv_poll_stop(poll_);
    event_loop::close_and_delete(poll_);
    poll_ = nullptr;
  }
  if (monitor_) {
    zmq_socket_monitor(sock_.handle(), nullptr, 0);
    monitor_.reset();
  }
  if (slot_ >= 0) {
    slots[slot_].fd = -1;
    slots[slot_].cap = 0;
    slot_ = -1;
  }
}

// ZMQ_FD is edge-like: drain until a receive finds nothing. Each event is a connection
// that ended (the only event asked for).
void connection_cap::drain() {
  while (monitor_) {
    std::vector<zmq::message_t> frames;
    try {
      if (!zmq::recv_multipart(*monitor_, std::back_inserter(frames),
                               zmq::recv_flags::dontwait))
        return;
    } catch (const zmq::error_t& e) {
      if (e.num() == EINTR)
        continue;
      throw;
    }
    if (frames.empty() || frames[0].size() < 2)
      continue;
    uint16_t event = 0;
    std::memcpy(&event, frames[0].data(), sizeof event);
    if (event != ZMQ_EVENT_DISCONNECTED)
      continue;
    auto& s = slots[slot_];
    uint32_t n = s.count.load();
    while (n > 0 && !s.count.compare_exchange_weak(n, n - 1)) {
    }
    if (s.full.load() && s.count.load() < s.cap.load() && s.full.exchange(false))
      log_info(s.what + " accepts connections again (" + std::to_string(s.count.load()) +
               " open)");
  }
}

} // namespace domus::runtime
