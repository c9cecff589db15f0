// The JSON shapes of domain results and events (docs/protocol.md pins them).
#pragma once

#include "actors/messages.hpp"

#include <string>

namespace domus::runtime {

/// {"name", "uuid", "id" (null when inactive), "state", "reason", "persistent",
/// "autostart"}: the result of domain.lookup and the rows of domain.list.
protocol::json summary_json(const domain_summary& s);

/// The same as JSON text, appended (domain.list writes thousands at once).
void append_summary_json(std::string& out, const domain_summary& s);

/// The body of a domain.lifecycle event, without "seq" (the gateway numbers it).
std::string lifecycle_event_body(const std::string& uri, const domain_summary& s,
                                 int32_t event, int32_t detail);

/// The body of a domain.error event, without "seq".
std::string error_event_body(const std::string& uri, const domain_summary& s,
                             const std::string& message);

/// The body of a domain.unresponsive event (`responsive` false) or of a
/// domain.responsive one, without "seq": "call" names the driver call that passed its
/// deadline ("start"), or the last one out that came back.
std::string responsiveness_event_body(const std::string& uri, const domain_summary& s,
                                      bool responsive, const std::string& call);

/// The body of a domain.job-progress sample (no seq): the long-running job's procedure
/// ("domain.dump"), its bytes processed and total (0: not known), and its time so far.
std::string job_progress_body(const std::string& uri, const domain_summary& s,
                              std::string_view proc, uint64_t processed, uint64_t total,
                              uint64_t elapsed_ms);

/// The body of a driver event (domus_host_v1.emit): its checked fields after the head.
std::string driver_event_body(const std::string& uri, const domain_summary& s,
                              const protocol::driver_topic& topic,
                              const nlohmann::json& fields);

} // namespace domus::runtime
