// The messages actors exchange, and the atoms that tag them (CAF 0.17: at most 10
// characters). The records they carry are CAF-free and live in their rooms
// (gateway/rpc.hpp, drivers/driver_result.hpp, persist/domain_summary.hpp); this header
// makes them messages. Internal to the runtime: include only from .cpp files.
#pragma once

#include "drivers/driver_result.hpp"
#include "gateway/rpc.hpp"
#include "persist/domain_summary.hpp"

#include <domus/model/storage_def.hpp>

#include <domus/driver_v1.h>
#include <domus/protocol/codec.hpp>
#include <domus/protocol/topics.hpp>

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace domus::runtime {

using call_atom = caf::atom_constant<caf::atom("call")>;       ///< gateway -> actor: rpc
using done_atom = caf::atom_constant<caf::atom("done")>;       ///< driver call completed
using summary_atom = caf::atom_constant<caf::atom("summary")>; ///< domain -> instance
using removed_atom = caf::atom_constant<caf::atom("removed")>; ///< domain -> instance
using report_atom = caf::atom_constant<caf::atom("report")>;   ///< host -> domain actor
using adopt_atom = caf::atom_constant<caf::atom("adopt")>;     ///< instance -> new domain
using redefine_atom = caf::atom_constant<caf::atom("redefine")>; ///< instance -> domain
using stored_atom = caf::atom_constant<caf::atom("stored")>;     ///< store -> actor
using waited_atom = caf::atom_constant<caf::atom("waited")>;     ///< a job's wait ended
using parsed_atom = caf::atom_constant<caf::atom("parsed")>; ///< a large definition read
using status_atom = caf::atom_constant<caf::atom("status")>; ///< write a stale status
using deadline_atom = caf::atom_constant<caf::atom("deadline")>; ///< a call is late
using emit_atom = caf::atom_constant<caf::atom("emit")>;         ///< host -> domain actor
using progress_atom =
    caf::atom_constant<caf::atom("progress")>; ///< a long job's progress
using stopping_atom = caf::atom_constant<caf::atom("stopping")>; ///< the daemon stops
using stop_atom = caf::atom_constant<caf::atom("stop")>; ///< instance -> a gone pool
/// pool -> instance: the runtime's own refresh of an adopted pool ended (its volumes are
/// known, or logged as unreadable).
using volumes_atom = caf::atom_constant<caf::atom("volumes")>;

/// An unsolicited report from a driver, copied.
struct report_data {
  domus_dom_state_v1 state{};
  std::vector<domus_event_v1> events;
  std::optional<std::string> private_data;
  std::optional<std::string> live_xml;
  std::optional<std::string> error; ///< 1.2: why, for a failure nobody asked for
};

/// A driver event (domus_host_v1.emit), its body checked against its topic.
struct driver_event {
  const protocol::driver_topic* topic;
  nlohmann::json fields;
};

} // namespace domus::runtime

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(domus::runtime::rpc)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(domus::runtime::driver_result)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(domus::runtime::domain_summary)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(domus::runtime::report_data)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(domus::runtime::driver_event)

namespace domus::runtime {

/// A parsed definition handed from the instance actor to a domain actor, with the
/// request that brought it (domain.define or domain.create).
struct definition_job {
  rpc request;
  std::shared_ptr<const model::domain_def> def;
};

} // namespace domus::runtime

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(domus::runtime::definition_job)

namespace domus::runtime {

/// A definition read off the instance actor's thread (a large one): the request, and
/// the definition or why it was refused.
struct parsed_definition {
  rpc request;
  std::shared_ptr<model::domain_def> def; ///< null when refused
  protocol::errc code = protocol::errc::internal;
  std::string message;
};

} // namespace domus::runtime

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(domus::runtime::parsed_definition)

namespace domus::runtime {

/// A storage pool request the instance actor hands to a pool's actor, with the
/// definition it parsed for pool.define and pool.create.
struct pool_request {
  rpc request;
  std::shared_ptr<const model::pool_def> def;
  /// vol.create, vol.create-from, vol.clone: the new volume's definition, parsed in the
  /// context of the pool.
  std::shared_ptr<const model::volume_def> volume;
  std::string vol;           ///< the volume operated on, by its name in the pool
  domus_vol* from = nullptr; ///< vol.create-from, vol.clone: the source's handle
  std::string from_name;     ///< and its name, for messages
  std::string from_pool;     ///< and its pool's name
  bool internal = false;     ///< the runtime's own refresh: no reply, no event
  bool notify = false;       ///< the instance actor hears volumes_atom once it ended
};

} // namespace domus::runtime

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(domus::runtime::pool_request)
