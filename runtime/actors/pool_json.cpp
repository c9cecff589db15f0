#include "actors/pool_json.hpp"

#include <chrono>

namespace domus::runtime {

using protocol::json;

std::string_view pool_state_name(int32_t state) {
  switch (state) {
  case DOMUS_POOL_INACTIVE:
    return "inactive";
  case DOMUS_POOL_BUILDING:
    return "building";
  case DOMUS_POOL_RUNNING:
    return "running";
  case DOMUS_POOL_DEGRADED:
    return "degraded";
  case DOMUS_POOL_INACCESSIBLE:
    return "inaccessible";
  default:
    return "";
  }
}

json pool_entry(const pool_slot& slot, const pool_facts& f) {
  return {{"name", slot.name()},
          {"uuid", slot.uuid()},
          {"state", pool_state_name(f.state)},
          {"persistent", f.persistent},
          {"autostart", f.autostart},
          {"capacity", f.def->sizes.capacity},
          {"allocation", f.def->sizes.allocation},
          {"available", f.def->sizes.available}};
}

namespace {

json event_head(std::string_view topic, const std::string& uri, const pool_slot& slot) {
  return json{{"topic", topic},
              {"time", protocol::format_utc_ms(std::chrono::system_clock::now())},
              {"uri", uri},
              {"pool", {{"name", slot.name()}, {"uuid", slot.uuid()}}}};
}

} // namespace

std::string pool_lifecycle_body(const std::string& uri, const pool_slot& slot,
                                std::string_view event) {
  json body = event_head(protocol::topic_pool_lifecycle, uri, slot);
  body["event"] = event;
  return protocol::json_text(body);
}

std::string pool_refresh_body(const std::string& uri, const pool_slot& slot) {
  return protocol::json_text(event_head(protocol::topic_pool_refresh, uri, slot));
}

} // namespace domus::runtime
