// The messages actors exchange, and the atoms that tag them (CAF 0.17: at most 10
// characters). Internal to the runtime: include only from .cpp files.
#pragma once

#include <domus/driver_v1.h>
#include <domus/protocol/codec.hpp>

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

/// A request the gateway routed to an actor; the reply goes back through
/// gateway::reply(serial, ...).
struct rpc {
  uint64_t serial = 0; ///< the gateway's key for the pending request
  int64_t id = 0;      ///< the client's request id
  protocol::proc proc = protocol::proc::events_ping;
  protocol::json args;
};

/// A copy of a domus_result_v1, owned, as it crosses from a driver to an actor.
struct driver_result {
  int32_t status = DOMUS_OK;
  std::string message;
  domus_dom* dom = nullptr;
  std::optional<domus_dom_state_v1> state;
  std::vector<domus_event_v1> events;
  std::optional<std::string> xml;
  std::optional<std::string> private_data;
  std::optional<domus_dom_info_v1> info;
  std::string info_os_type, info_security_label; ///< strings of info, owned
  bool has_security_label = false;
  std::optional<domus_node_info_v1> node;
  std::string node_cpu_model;
  std::optional<domus_version_v1> version;
  std::string version_type, version_security_model, version_security_doi;
  domus_instance* instance = nullptr;
  struct object {
    int32_t kind = 0;
    domus_dom* dom = nullptr;
    std::string xml;
    bool persistent = true;
    bool autostart = false;
    domus_dom_state_v1 state{};
    std::string private_data;
  };
  std::vector<object> objects;

  bool ok() const { return status == DOMUS_OK; }
  /// Copies what a result carries; pointers into it are not kept.
  static driver_result copy(const domus_result_v1* r);
};

} // namespace domus::runtime

namespace domus::model {
struct domain_def;
}

namespace domus::runtime {

/// What a domain reports to its instance whenever its summary changes; also what the
/// supervisor restarts it from.
struct domain_summary {
  std::string name;
  std::string uuid;
  int32_t id = -1;
  int32_t state = DOMUS_STATE_SHUTOFF;
  int32_t reason = DOMUS_REASON_UNKNOWN;
  bool persistent = true;
  bool autostart = false;
  domus_dom* dom = nullptr;
  std::shared_ptr<const model::domain_def> persistent_def;
  std::shared_ptr<const model::domain_def> live_def;
  std::string private_data;
};

/// An unsolicited report from a driver, copied.
struct report_data {
  domus_dom_state_v1 state{};
  std::vector<domus_event_v1> events;
  std::optional<std::string> private_data;
};

} // namespace domus::runtime

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(domus::runtime::rpc)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(domus::runtime::driver_result)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(domus::runtime::domain_summary)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(domus::runtime::report_data)

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
