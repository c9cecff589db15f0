#include "actors/pool_registry.hpp"

#include <domus/protocol/errors.hpp>

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

void pool_registry::add(std::vector<driver_result::object>& objects,
                        const std::string& origin, std::vector<std::string>& skipped) {
  for (auto& o : objects) {
    if (o.kind != DOMUS_OBJECT_POOL)
      continue;
    pool p;
    try {
      p.def = model::parse_pool(o.xml, origin, model::parse_mode::stored);
    } catch (const protocol::error& e) {
      skipped.push_back(std::string("a pool does not parse: ") + e.what());
      continue;
    }
    if (!p.def.uuid) {
      skipped.push_back("pool '" + p.def.name + "' has no UUID");
      continue;
    }
    if (pool_state_name(o.state.state).empty()) {
      skipped.push_back("pool '" + p.def.name + "' has an unknown state " +
                        std::to_string(o.state.state));
      continue;
    }
    std::string uuid = model::format_uuid(*p.def.uuid);
    if (pools_.count(p.def.name) || names_by_uuid_.count(uuid)) {
      skipped.push_back("pool '" + p.def.name + "' (" + uuid +
                        ") repeats another's name or UUID");
      continue;
    }
    p.state = o.state.state;
    p.persistent = o.persistent;
    p.autostart = o.autostart;
    p.handle = o.pool;
    names_by_uuid_.emplace(uuid, p.def.name);
    std::string name = p.def.name;
    pools_.emplace(std::move(name), std::move(p));
  }
}

json pool_registry::entry(const pool& p) {
  return {{"name", p.def.name},
          {"uuid", model::format_uuid(*p.def.uuid)},
          {"state", pool_state_name(p.state)},
          {"persistent", p.persistent},
          {"autostart", p.autostart},
          {"capacity", p.def.sizes.capacity},
          {"allocation", p.def.sizes.allocation},
          {"available", p.def.sizes.available}};
}

json pool_registry::list(bool active, bool inactive) const {
  json out = json::array();
  for (auto& [name, p] : pools_) {
    bool is_active = p.state != DOMUS_POOL_INACTIVE;
    if ((is_active && active) || (!is_active && inactive))
      out.push_back(entry(p));
  }
  return {{"pools", out}};
}

const pool_registry::pool& pool_registry::find(const std::string& key) const {
  if (auto it = pools_.find(key); it != pools_.end())
    return it->second;
  if (auto u = model::parse_uuid(key))
    if (auto n = names_by_uuid_.find(model::format_uuid(*u)); n != names_by_uuid_.end())
      return pools_.at(n->second);
  throw protocol::error(protocol::errc::no_pool,
                        "no storage pool with matching name or UUID '" + key + "'");
}

json pool_registry::info(const std::string& key) const {
  return entry(find(key));
}

json pool_registry::xml(const std::string& key) const {
  return {{"xml", model::format_pool(find(key).def)}};
}

} // namespace domus::runtime
