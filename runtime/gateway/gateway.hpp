// The gateway: the ZeroMQ face of the daemon, on the event-loop thread. It owns the
// request sockets (ROUTER, read-write and read-only) and the event socket (XPUB), decodes
// requests, checks read-only access, and routes each request with one hop: straight to
// the domain actor (its routing table is a replica the instance actors keep current) or
// to the instance actor. Replies and events come back through its thread-safe methods.
#pragma once

#include "daemon/limits.hpp"
#include "gateway/event_loop.hpp"

#include <domus/protocol/codec.hpp>
#include <domus/protocol/uri.hpp>

#include <caf/actor.hpp>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

struct domus_stream;

namespace domus::runtime {

/// One routing entry: how a domain of an instance is addressed.
struct route_entry {
  caf::actor actor;
  std::string name;
  std::string uuid;
  int32_t id = -1;
};

/// Creates the instance actor for a normalized URI, or fails with an error (e.g.
/// no-driver). Called on the loop thread.
using instance_factory = std::function<caf::actor(
    const protocol::uri& u, std::string& why, protocol::errc& code)>;

/// What the gateway hands to ZeroMQ: a reply (or error) to a client, or an event.
enum class sent_kind { reply, event };

/// Sees every frame the gateway hands to a socket, in the order it hands them, on the
/// loop thread, before the send: what leaves the daemon and in which order can be checked
/// where no client could tell (two sockets are not ordered for a client). Must not block.
using sent_tap = std::function<void(sent_kind kind, const std::string& frame)>;

/// Socket settings of the gateway.
struct gateway_config {
  std::string rw_path, ro_path, events_path;
  unsigned rw_mode = 0600, ro_mode = 0666, events_mode = 0666;
  daemon_limits limits;
  std::string journal_dir;          ///< where the event journal lives (var/lib/domus)
  size_t journal_capacity = 100000; ///< events it holds
  uint64_t journal_reserve_bytes = 1u << 20; ///< disk it keeps allocated ahead
  sent_tap tap; ///< empty: nothing watches (the daemon sets none)
};

class gateway {
public:
  gateway(event_loop& loop, instance_factory factory, gateway_config cfg);
  ~gateway();
  gateway(const gateway&) = delete;
  gateway& operator=(const gateway&) = delete;

  // -- loop thread ------------------------------------------------------------------

  /// Creates and binds the sockets, sets their modes. Throws protocol::error.
  void open();
  /// Closes the sockets and removes their files.
  void close();
  /// Refuses new requests with shutting-down; calls done once no request is in flight
  /// or after the timeout (the rest are then failed with shutting-down).
  void drain(std::chrono::milliseconds timeout, std::function<void()> done);
  /// Opens the driver instance of `uri` now (at start-up), logging a failure.
  void open_instance(const std::string& uri);

  // -- any thread (posted to the loop) -------------------------------------------------

  /// The loop the gateway runs on (for event_loop::hold).
  event_loop& loop() { return loop_; }

  /// Sends a reply frame for a pending request.
  void reply(uint64_t serial, std::string frame);
  /// Answers a domain.open-console (and any procedure that opens a stream) with
  /// `result` plus the stream's id, window and chunk size; the stream, which the driver
  /// attached, becomes the client's. When the request is gone, the driver hears the
  /// stream's end instead. Takes the stream.
  void reply_stream(uint64_t serial, protocol::json result, domus_stream* stream);
  /// The request now waits on another actor (the instance actor forwarded it).
  void retarget(uint64_t serial, caf::actor_id actor);
  /// Publishes an event: body is a JSON object without "seq"; the gateway numbers it.
  void publish(std::string topic, std::string body);
  /// Publishes a sample (a driver topic that is not journaled): no seq, no journal, at
  /// most one a second per `key` (a domain and topic), the latest body winning.
  void publish_sample(std::string topic, std::string key, std::string body);
  /// Adds or updates the routes of one domain actor.
  void route_set(std::string uri, route_entry route);
  /// Removes the routes of one domain actor.
  void route_remove(std::string uri, caf::actor_id actor);
  /// A domain actor is gone: its routes are removed and requests still pending on it are
  /// failed with code and message.
  void actor_gone(std::string uri, caf::actor_id actor, protocol::errc code,
                  std::string message);
  /// A domain actor died and `replacement` took its place: requests go to the new actor
  /// from now on, and those still pending on the old one fail with code and message.
  void actor_replaced(std::string uri, caf::actor_id old, route_entry replacement,
                      protocol::errc code, std::string message);
  /// The instance is open: its routes, then the requests that waited for it.
  void instance_ready(std::string uri, std::vector<route_entry> routes);
  /// The instance actor died: every request for the URI fails with message, and the next
  /// request opens the instance afresh.
  void instance_down(std::string uri, caf::actor_id registry, std::string message);
  /// The instance's open passed its deadline: waiting requests fail with `timeout` and
  /// `message`; later ones are refused with `busy` and `still_opening` until
  /// instance_ready or instance_failed (never a second open meanwhile).
  void instance_open_late(std::string uri, std::string message,
                          std::string still_opening);
  /// The instance could not open: waiting requests fail; the next request retries.
  void instance_failed(std::string uri, protocol::errc code, std::string message);

private:
  struct impl;
  std::unique_ptr<impl> impl_;
  event_loop& loop_;
};

} // namespace domus::runtime
