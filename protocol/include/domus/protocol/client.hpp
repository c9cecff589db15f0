// The client library: a connection to domusd's request socket and an event subscriber
// with the ping/pong handshake. No CAF; used by domsh, the tests and the benchmarks.
#pragma once

#include "domus/protocol/codec.hpp"
#include "domus/protocol/uri.hpp"

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace domus::protocol {

/// A stream message's bytes, kept in the ZeroMQ message they arrived in: a chunk is
/// never copied on its way from the socket to the caller. Cheap to copy (shared).
class chunk {
public:
  chunk() = default;
  /// The bytes at data, size long, alive as long as owner is.
  chunk(std::shared_ptr<const void> owner, const char* data, size_t size)
      : owner_(std::move(owner)), data_(data), size_(size) {}
  const char* data() const { return data_; }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  std::string_view view() const { return {data_, size_}; }
  std::string str() const { return std::string(data_, size_); }

private:
  std::shared_ptr<const void> owner_;
  const char* data_ = nullptr;
  size_t size_ = 0;
};

/// One stream message from the daemon (docs/protocol.md, "Streams").
struct stream_message {
  uint64_t stream = 0;
  std::string op; ///< data, credit, end or abort
  json header;    ///< the whole header (credit's chunks, abort's code and message)
  chunk bytes;
};

/// A DEALER connection to the daemon's read-write or read-only socket. Requests may be
/// pipelined: send() several, then receive() their replies in any order.
class connection {
public:
  /// Connects (lazily, as ZeroMQ does) to the daemon whose read-write socket is
  /// rw_socket_path; read_only picks domus-sock-ro beside it.
  connection(const std::string& rw_socket_path, bool read_only);
  ~connection();
  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;

  /// Throws error(no_daemon) naming the socket when its file is missing or nothing
  /// accepts connections on it (a stale file). Costs one connect(2).
  void check_listening() const;

  /// Sends a request and returns its id.
  int64_t send(std::string_view uri, std::string_view proc, const json& args);

  /// The next reply, or nullopt when none arrives within timeout.
  std::optional<reply> receive(std::chrono::milliseconds timeout);

  /// Sends a request and waits for its reply; replies to other ids that arrive meanwhile
  /// are kept for receive(). Throws error(timeout) naming the socket.
  reply call(std::string_view uri, std::string_view proc, const json& args,
             std::chrono::milliseconds timeout);

  /// Waits for the reply to one request sent earlier; replies to other ids that arrive
  /// meanwhile are kept for receive(). Throws error(timeout) naming the socket.
  reply wait_for(int64_t id, std::chrono::milliseconds timeout,
                 std::string_view what = "");

  /// Sends one stream message: `op` with the other header fields of `fields`, and the
  /// bytes (data only).
  void send_stream(uint64_t stream, std::string_view op, const json& fields = {},
                   std::string_view bytes = {});

  /// The next stream message (of stream `only`, unless 0), or nullopt after timeout;
  /// replies and other streams' messages that arrive meanwhile are kept for receive(),
  /// call() and the next receive_stream.
  std::optional<stream_message> receive_stream(std::chrono::milliseconds timeout,
                                               uint64_t only = 0);

  /// Drops the reply to this id when it arrives.
  void forget(int64_t id);

  /// The socket files this connection uses.
  const socket_files& files() const;
  /// The socket path requests go to (rw or ro).
  const std::string& request_socket() const;

  struct impl;
  impl& internals() { return *impl_; }

private:
  std::unique_ptr<impl> impl_;
};

/// One message from the event socket.
struct event_message {
  std::string topic;
  json body;
};

/// A SUB connection to the daemon's event socket.
class subscriber {
public:
  /// Prepares a subscription to topic prefixes (e.g. "domain.") on the daemon that
  /// `requests` talks to; handshake() makes it live.
  subscriber(connection& requests, std::vector<std::string> topics);
  ~subscriber();
  subscriber(const subscriber&) = delete;
  subscriber& operator=(const subscriber&) = delete;

  /// Subscribes to the topics and "sys.", then sends events.ping until the daemon's
  /// sys.pong with our token arrives: from then on every event published is received.
  /// Throws error(timeout) when no pong comes within timeout.
  void handshake(std::chrono::milliseconds timeout);

  /// The next event (sys.* messages are skipped), or nullopt after timeout.
  std::optional<event_message> next(std::chrono::milliseconds timeout);

  /// A barrier: sends events.ping and returns every event received before its pong,
  /// which the daemon publishes after everything it published before the ping. "No
  /// event arrived" is then a fact, not a window that a late event slips past. Throws
  /// error(timeout) when no pong comes within timeout. After handshake() only.
  std::vector<event_message> until_now(std::chrono::milliseconds timeout);

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace domus::protocol
