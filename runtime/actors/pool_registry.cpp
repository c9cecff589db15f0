#include "actors/pool_registry.hpp"

#include "actors/paged_list.hpp"
#include "actors/pool_json.hpp"

#include <domus/model/uuid.hpp>
#include <domus/protocol/errors.hpp>

namespace domus::runtime {

using protocol::json;

void pool_registry::add(entry e) {
  names_by_uuid_[e.slot->uuid()] = e.slot->name();
  std::string name = e.slot->name();
  index_->put(name, e.slot);
  by_name_[name] = std::move(e);
}

caf::actor pool_registry::drop_gone(const std::string& name) {
  auto it = by_name_.find(name);
  if (it == by_name_.end() || !it->second.slot->gone())
    return {};
  caf::actor a = it->second.actor;
  index_->erase(name);
  names_by_uuid_.erase(it->second.slot->uuid());
  by_name_.erase(it);
  return a;
}

pool_registry::entry* pool_registry::find(const std::string& key,
                                          std::vector<caf::actor>& gone) {
  std::string name = key;
  if (!by_name_.count(key))
    if (auto u = model::parse_uuid(key))
      if (auto n = names_by_uuid_.find(model::format_uuid(*u)); n != names_by_uuid_.end())
        name = n->second;
  if (caf::actor a = drop_gone(name)) {
    gone.push_back(std::move(a));
    return nullptr;
  }
  auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : &it->second;
}

const pool_registry::entry& pool_registry::lookup(const std::string& key,
                                                  std::vector<caf::actor>& gone) {
  entry* e = find(key, gone);
  if (!e || !e->slot->defined())
    throw protocol::error(protocol::errc::no_pool,
                          "no storage pool with matching name or UUID '" + key + "'");
  return *e;
}

std::vector<const pool_registry::entry*> pool_registry::all() const {
  std::vector<const entry*> out;
  for (auto& [name, e] : by_name_)
    if (!e.slot->gone())
      out.push_back(&e);
  return out;
}

std::string pool_registry::list(bool active, bool inactive,
                                const std::optional<std::string>& after,
                                uint64_t budget) const {
  paged_list page("pools", budget);
  auto it = after ? by_name_.upper_bound(*after) : by_name_.begin();
  for (; it != by_name_.end(); ++it) {
    const entry& e = it->second;
    if (e.slot->gone() || !e.slot->defined())
      continue;
    pool_facts f = e.slot->read();
    if (f.active() ? !active : !inactive)
      continue;
    json row = pool_entry(*e.slot, f);
    if (!page.add([&](std::string& out) { out += protocol::json_text(row); }, it->first))
      return page.finish(true);
  }
  return page.finish(false);
}

} // namespace domus::runtime
