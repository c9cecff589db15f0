// A request as the gateway hands it to an actor. CAF-free: actors/messages.hpp makes it
// a message.
#pragma once

#include <domus/protocol/codec.hpp>

#include <cstdint>

namespace domus::runtime {

/// A request the gateway routed to an actor; the reply goes back through
/// gateway::reply(serial, ...).
struct rpc {
  uint64_t serial = 0; ///< the gateway's key for the pending request
  int64_t id = 0;      ///< the client's request id
  protocol::proc proc = protocol::proc::events_ping;
  protocol::json args;
};

} // namespace domus::runtime
