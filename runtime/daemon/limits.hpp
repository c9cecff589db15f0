// What one client can make the daemon hold or spend: the limits of domusd.conf, each a
// setting with a safe default (docs/protocol.md, "Limits", lists them with what a client
// sees at each). No CAF here.
#pragma once

#include <cstdint>
#include <string>

namespace domus::runtime {

/// The limits. Every one is at least 1: ZeroMQ reads 0 as "unlimited", and so would a
/// reader of the file.
struct daemon_limits {
  /// A request frame above this gets message-too-large; one above twice this (at least
  /// 1 MiB) makes ZeroMQ drop the connection before the daemon sees it.
  uint64_t max_request_bytes = 2u << 20;
  /// A reply above this is replaced by message-too-large; events.since and domain.list
  /// pages stop before it (their `next` continues).
  uint64_t max_reply_bytes = 4u << 20;
  /// A definition: the `xml` argument, and twice this as Domus formats (stores) it.
  uint64_t max_xml_bytes = 1u << 20;
  /// Every other string of a request: uri, domain, origin, token, topic.
  uint64_t max_field_bytes = 4096;
  /// An event as published (the ping token's pong included).
  uint64_t max_event_bytes = 16384;
  /// Elements nested in a definition, and attributes on one element.
  uint32_t max_xml_depth = 64;
  uint32_t max_xml_attributes = 256;
  /// Requests one connection may have in flight; more get limit-exceeded.
  uint32_t max_client_requests = 32;
  /// Connections per request socket (read-write, read-only) and to the event socket; at
  /// the cap the socket stops accepting until one leaves.
  uint32_t max_clients = 512;
  uint32_t max_subscribers = 512;
  /// Replies ZeroMQ queues for one client that does not read them (past it they are
  /// not sent), and events for one subscriber (past it it misses events: a gap in seq).
  /// At least twice max_client_requests: ZeroMQ learns that a client read its replies
  /// only every half of this, so a client that reads never loses one.
  int64_t reply_queue_limit = 64;
  int64_t event_queue_limit = 10000;
  /// Streams (docs/protocol.md, "Streams"): the data messages either side may have
  /// unacknowledged on one stream, the streams one connection and the daemon may have
  /// open, and how long a stream may hear nothing from its client.
  uint32_t stream_window = 8;
  uint32_t max_client_streams = 4;
  uint32_t max_streams = 64;
  uint32_t stream_idle_ms = 300000;

  /// ZeroMQ's queue to one client: its replies and its streams' data, each at most
  /// twice what may be in flight (ZeroMQ's view of what the client read lags by half),
  /// so that a stream's data is never the message that finds the queue full.
  int64_t client_queue() const {
    return reply_queue_limit + 2 * int64_t{stream_window} * max_client_streams;
  }

  /// The descriptors the limits can make the daemon hold: every connection at its cap,
  /// a quarter more for connections ZeroMQ accepts before the daemon stops it, and
  /// `reserved_descriptors` for the daemon's own.
  uint64_t descriptor_budget() const;
  static constexpr uint64_t reserved_descriptors = 128;

  /// "" when the limits fit together, else why not (a config-error message).
  std::string check() const;
};

/// Keeps the last `reserved` descriptors below `limit` from accepted connections, and
/// makes libzmq see an exhausted descriptor table as "try again" rather than abort
/// (accept_guard.cpp, linked into domusd only).
void set_accept_ceiling(int limit, int reserved);

/// Raises the soft descriptor limit to the hard one and checks the budget against it.
/// Throws protocol::error(config_error) naming the settings and the limit when they
/// cannot fit. Returns the limit now in force.
uint64_t raise_descriptor_limit(const daemon_limits& limits);

} // namespace domus::runtime
