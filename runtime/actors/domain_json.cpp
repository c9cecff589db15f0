#include "actors/domain_json.hpp"

#include <domus/protocol/vocabulary.hpp>

namespace domus::runtime {

using protocol::json;

json summary_json(const domain_summary& s) {
  const auto* st = protocol::find_state(s.state);
  const auto* rs = protocol::find_reason(s.state, s.reason);
  return json{{"name", s.name},
              {"uuid", s.uuid},
              {"id", s.id >= 0 ? json(s.id) : json(nullptr)},
              {"state", st ? st->wire : "shutoff"},
              {"reason", rs ? rs->wire : "unknown"},
              {"persistent", s.persistent},
              {"autostart", s.autostart}};
}

void append_summary_json(std::string& out, const domain_summary& s) {
  const auto* st = protocol::find_state(s.state);
  const auto* rs = protocol::find_reason(s.state, s.reason);
  // The keys in summary_json's (alphabetical) order; names and UUIDs escaped by the
  // JSON library, the rest are known words.
  out += "{\"autostart\":";
  out += s.autostart ? "true" : "false";
  out += ",\"id\":";
  out += s.id >= 0 ? std::to_string(s.id) : "null";
  out += ",\"name\":";
  out += protocol::json_text(json(s.name));
  out += ",\"persistent\":";
  out += s.persistent ? "true" : "false";
  out += ",\"reason\":\"";
  out += rs ? rs->wire : "unknown";
  out += "\",\"state\":\"";
  out += st ? st->wire : "shutoff";
  out += "\",\"uuid\":";
  out += protocol::json_text(json(s.uuid));
  out += "}";
}

namespace {

json event_head(std::string_view topic, const std::string& uri, const domain_summary& s) {
  return json{{"topic", topic},
              {"time", protocol::format_utc_ms(std::chrono::system_clock::now())},
              {"uri", uri},
              {"domain", {{"name", s.name}, {"uuid", s.uuid}}}};
}

} // namespace

std::string lifecycle_event_body(const std::string& uri, const domain_summary& s,
                                 int32_t event, int32_t detail) {
  json body = event_head(protocol::topic_domain_lifecycle, uri, s);
  body["event"] = protocol::find_event(event)->wire;
  body["detail"] = protocol::find_detail(event, detail)->wire;
  return protocol::json_text(body);
}

std::string error_event_body(const std::string& uri, const domain_summary& s,
                             const std::string& message) {
  json body = event_head(protocol::topic_domain_error, uri, s);
  body["message"] = message;
  return protocol::json_text(body);
}

std::string responsiveness_event_body(const std::string& uri, const domain_summary& s,
                                      bool responsive, const std::string& call) {
  json body = event_head(responsive ? protocol::topic_domain_responsive
                                    : protocol::topic_domain_unresponsive,
                         uri, s);
  body["call"] = call;
  return protocol::json_text(body);
}

std::string job_progress_body(const std::string& uri, const domain_summary& s,
                              std::string_view proc, uint64_t processed, uint64_t total,
                              uint64_t elapsed_ms) {
  json body = event_head(protocol::topic_domain_job_progress, uri, s);
  body["proc"] = proc;
  body["processed"] = processed;
  body["total"] = total;
  body["elapsed_ms"] = elapsed_ms;
  return protocol::json_text(body);
}

std::string driver_event_body(const std::string& uri, const domain_summary& s,
                              const protocol::driver_topic& topic, const json& fields) {
  json body = event_head(topic.name, uri, s);
  for (auto& [key, value] : fields.items())
    body[key] = value;
  return protocol::json_text(body);
}

} // namespace domus::runtime
