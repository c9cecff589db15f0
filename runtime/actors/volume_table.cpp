#include "actors/volume_table.hpp"

#include <algorithm>
#include <functional>

namespace domus::runtime {

volume_table::volume_table() = default;

volume_table::volume_table(std::vector<driver_volume> volumes) {
  std::array<std::shared_ptr<shard>, shard_count> made;
  for (auto& v : volumes) {
    auto& s = made[shard_of(v.name)];
    if (!s)
      s = std::make_shared<shard>();
    std::string name = v.name;
    (*s)[std::move(name)] = std::move(v);
  }
  for (size_t i = 0; i < shard_count; ++i)
    if (made[i]) {
      size_ += made[i]->size();
      shards_[i] = std::move(made[i]);
    }
}

size_t volume_table::shard_of(const std::string& name) {
  return std::hash<std::string>{}(name) % shard_count;
}

const driver_volume* volume_table::find(const std::string& name) const {
  const auto& s = shards_[shard_of(name)];
  if (!s)
    return nullptr;
  auto it = s->find(name);
  return it == s->end() ? nullptr : &it->second;
}

volume_table volume_table::with(driver_volume v) const {
  volume_table out = *this;
  auto& s = out.shards_[shard_of(v.name)];
  auto copy = s ? std::make_shared<shard>(*s) : std::make_shared<shard>();
  std::string name = v.name;
  auto [it, added] = copy->insert_or_assign(std::move(name), std::move(v));
  (void)it;
  if (added)
    ++out.size_;
  s = std::move(copy);
  return out;
}

volume_table volume_table::without(const std::string& name) const {
  auto& s = shards_[shard_of(name)];
  if (!s || s->find(name) == s->end())
    return *this;
  volume_table out = *this;
  auto copy = std::make_shared<shard>(*s);
  copy->erase(name);
  --out.size_;
  out.shards_[shard_of(name)] =
      copy->empty() ? nullptr : std::shared_ptr<const shard>(std::move(copy));
  return out;
}

std::vector<const driver_volume*> volume_table::sorted() const {
  std::vector<const driver_volume*> out;
  out.reserve(size_);
  any_of([&](const driver_volume& v) {
    out.push_back(&v);
    return false;
  });
  std::sort(out.begin(), out.end(), [](const driver_volume* a, const driver_volume* b) {
    return a->name < b->name;
  });
  return out;
}

} // namespace domus::runtime
