// The connections of one listening ZeroMQ socket, capped. The daemon makes the listening
// unix socket itself (its file created private, then given its mode) and hands it to
// libzmq (ZMQ_USE_FD), so that it knows the descriptor libzmq accepts on. Every accept
// goes through the daemon's accept guard (accept_guard.cpp) in libzmq's own thread,
// which counts the connection or, at the cap, closes it at once: the count is exact, and
// no burst of connections can outrun it. The socket's monitor reports each connection
// that ends (ZMQ_EVENT_DISCONNECTED: libzmq reports every accepted connection's end so
// while the listener stays bound, which it does). Loop thread, but admit_connection().
#pragma once

#include <uv.h>
#include <zmq.hpp>

#include <cstdint>
#include <memory>
#include <string>

namespace domus::runtime {

/// Called by the accept guard, in libzmq's thread, for each connection accepted on
/// `listen_fd`: false when that socket is at its cap (the guard then closes it).
bool admit_connection(int listen_fd);

class connection_cap {
public:
  /// Makes the listening socket file `path` with `mode`, gives it to `sock`, and caps
  /// its connections at `cap`; `what` names the socket and `setting` the cap in the log.
  /// Throws protocol::error(config_error).
  connection_cap(zmq::context_t& ctx, zmq::socket_t& sock, std::string path,
                 unsigned mode, uint32_t cap, std::string what, std::string setting,
                 uv_loop_t* loop);
  ~connection_cap();
  connection_cap(const connection_cap&) = delete;
  connection_cap& operator=(const connection_cap&) = delete;

  /// Connections now open.
  uint32_t connections() const;
  /// Stops watching and releases the slot (before the socket closes).
  void close();

private:
  void drain();

  zmq::socket_t& sock_;
  std::string path_;
  int slot_ = -1;
  std::unique_ptr<zmq::socket_t> monitor_;
  uv_poll_t* poll_ = nullptr;
};

} // namespace domus::runtime
