// A QMP connection on the runtime's loop thread, driven by the host's fd watches:
// the greeting and capability negotiation, commands with ids and a timeout each, and
// QEMU's asynchronous events. Every call and callback is on the loop thread.
#pragma once

#include <domus/driver_v1.h>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

namespace domus::qemu_driver {

/// One monitor connection. Destroying it closes the socket; no callback follows.
class qmp_client {
public:
  /// ok, the command's "return" (ok) or the error text (not ok: QEMU's own "desc", or
  /// what happened to the connection, or that the timeout passed).
  using reply_fn =
      std::function<void(bool ok, const nlohmann::json& ret, const std::string& error)>;
  /// An event: its name ("SHUTDOWN") and data (an object, maybe empty).
  using event_fn =
      std::function<void(const std::string& name, const nlohmann::json& data)>;
  /// The connection ended (QEMU went away, or it broke the protocol): why.
  using closed_fn = std::function<void(const std::string& why)>;

  /// Takes `fd`, a connected stream socket (made non-blocking here).
  qmp_client(const domus_host_v1* host, int fd, uint32_t timeout_ms, event_fn on_event,
             closed_fn on_closed);
  ~qmp_client();
  qmp_client(const qmp_client&) = delete;
  qmp_client& operator=(const qmp_client&) = delete;

  /// Waits for the greeting, then sends qmp_capabilities; ready(ok, error).
  void negotiate(std::function<void(bool ok, const std::string& error)> ready);
  /// Sends a command (args: an object, or null for none).
  void execute(const std::string& command, const nlohmann::json& args, reply_fn reply);
  /// Whether the connection is still up.
  bool open() const { return fd_ >= 0; }
  /// Closes the connection: every command still out (and the greeting) fails with
  /// `why`; on_closed is not called. The object may be destroyed from a reply.
  void abandon(const std::string& why) { close_with(why, false); }

private:
  struct pending {
    std::string command;
    reply_fn reply;
    uint64_t timer = 0;
  };
  static void readable(void* arg, int fd, uint32_t revents);
  static void timed_out(void* arg);
  void on_readable(uint32_t revents);
  void on_line(const std::string& line);
  void dispatch(const std::string& line);
  void flush();
  void close_with(const std::string& why, bool notify = true);

  const domus_host_v1* host_;
  int fd_;
  uint32_t timeout_ms_;
  uint64_t watch_ = 0;
  uint32_t watching_ = 0;
  std::string in_, out_;
  uint64_t next_id_ = 1;
  std::map<uint64_t, pending> pending_;
  std::function<void(bool, const std::string&)> greeting_;
  uint64_t greeting_timer_ = 0;
  event_fn on_event_;
  closed_fn on_closed_;
  // Callbacks may destroy this object: each checks that it still lives after one.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  // A timer's argument: the client and the command id (0: the greeting).
  struct timer_arg {
    qmp_client* self;
    uint64_t id;
  };
  std::map<uint64_t, std::unique_ptr<timer_arg>> timer_args_;
  static void expire(timer_arg* t);
};

} // namespace domus::qemu_driver
