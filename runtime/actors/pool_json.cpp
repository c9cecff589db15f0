#include "actors/pool_json.hpp"

#include <domus/model/xml_tree.hpp>

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

std::string_view volume_type_name(int32_t type) {
  static constexpr std::string_view names[] = {"file",    "block",  "dir",
                                               "network", "netdir", "ploop"};
  return type >= 0 && type < 6 ? names[type] : "";
}

json volume_entry(const driver_volume& v) {
  return {{"name", v.name},
          {"key", v.key},
          {"path", v.path},
          {"type", volume_type_name(v.type)},
          {"format", v.format},
          {"capacity", v.capacity},
          {"allocation", v.allocation}};
}

std::string volume_xml(const driver_volume& v) {
  if (!v.xml.empty())
    return v.xml;
  std::string type(volume_type_name(v.type));
  std::string x =
      "<volume type='" + (type.empty() ? "file" : type) + "'>\n  <name>" +
      model::escaped_xml(v.name) + "</name>\n  <key>" + model::escaped_xml(v.key) +
      "</key>\n  <capacity unit='bytes'>" + std::to_string(v.capacity) +
      "</capacity>\n  <allocation unit='bytes'>" + std::to_string(v.allocation) +
      "</allocation>\n  <target>\n    <path>" + model::escaped_xml(v.path) +
      "</path>\n    <format type='" + model::escaped_xml(v.format) + "'/>\n  </target>\n";
  if (!v.backing_path.empty()) {
    x +=
        "  <backingStore>\n    <path>" + model::escaped_xml(v.backing_path) + "</path>\n";
    if (!v.backing_format.empty())
      x += "    <format type='" + model::escaped_xml(v.backing_format) + "'/>\n";
    x += "  </backingStore>\n";
  }
  return x + "</volume>\n";
}

std::string volume_event_body(const std::string& uri, const pool_slot& slot,
                              const driver_volume& v, std::string_view event) {
  json body = event_head(protocol::topic_pool_volume, uri, slot);
  body["volume"] = {{"name", v.name}, {"key", v.key}};
  body["event"] = event;
  return protocol::json_text(body);
}

} // namespace domus::runtime
