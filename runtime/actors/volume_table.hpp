// A storage pool's volumes by name, as its driver last reported them (a start, a
// refresh) and as the pool's changes left them. A table is never changed once made and
// is shared between the pool's actor, which makes the next one, and the instance actor,
// which reads the current one without a message. Making the next table copies one of
// its shards and the shard pointers, not every volume: a create in a pool of 10,000
// volumes copies about 40 of them, where one map would have copied all 10,000.
#pragma once

#include "drivers/driver_result.hpp"

#include <array>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace domus::runtime {

class volume_table {
public:
  /// An empty table.
  volume_table();
  /// A table of `volumes` (a start's or a refresh's list; a later duplicate name wins).
  explicit volume_table(std::vector<driver_volume> volumes);

  /// The volume named `name`, or nullptr. Valid while this table lives.
  const driver_volume* find(const std::string& name) const;
  /// This table with `v` added, or replacing the volume of its name.
  volume_table with(driver_volume v) const;
  /// This table without the volume named `name` (the same table when it has none).
  volume_table without(const std::string& name) const;

  size_t size() const { return size_; }
  /// Every volume, in name order (vol.list's order).
  std::vector<const driver_volume*> sorted() const;
  /// Calls fn(const driver_volume&) for every volume, in no set order; stops at the first
  /// call that returns true, and says whether one did.
  template <class F> bool any_of(F&& fn) const {
    for (auto& shard : shards_)
      if (shard)
        for (auto& [name, v] : *shard)
          if (fn(v))
            return true;
    return false;
  }

private:
  // 256 shards: a copy of the shard pointers costs about as much as a copy of one shard
  // holds volumes at 10,000 volumes.
  static constexpr size_t shard_count = 256;
  using shard = std::map<std::string, driver_volume>;

  static size_t shard_of(const std::string& name);

  std::array<std::shared_ptr<const shard>, shard_count> shards_; // null: empty
  size_t size_ = 0;
};

} // namespace domus::runtime
