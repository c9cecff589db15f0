// The storage pools of one instance: each pool's slot (its facts, shared with its
// actor) and actor, indexed by name and UUID, and the answers to pool.list, pool.info
// and pool.xml, read from the slots without a message. The instance actor owns one; the
// pool actors (actors/pool_actor.hpp) run the changes. docs/architecture.md, "Pools and
// networks".
#pragma once

#include "actors/pool_slot.hpp"

#include <domus/protocol/codec.hpp>

#include <caf/actor.hpp>

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace domus::runtime {

/// The pools of an instance by name, for readers on other threads (a driver resolving
/// a <disk type='volume'> through the host services): the registry keeps it current.
class pool_index {
public:
  void put(const std::string& name, std::shared_ptr<pool_slot> slot) {
    std::lock_guard<std::mutex> lock(mutex_);
    slots_[name] = std::move(slot);
  }
  void erase(const std::string& name) {
    std::lock_guard<std::mutex> lock(mutex_);
    slots_.erase(name);
  }
  /// The pool's slot, or null.
  std::shared_ptr<pool_slot> find(const std::string& name) const {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = slots_.find(name);
    return it == slots_.end() ? nullptr : it->second;
  }

private:
  mutable std::mutex mutex_;
  std::map<std::string, std::shared_ptr<pool_slot>> slots_;
};

class pool_registry {
public:
  struct entry {
    std::shared_ptr<pool_slot> slot;
    caf::actor actor;
  };

  /// Indexes a pool; its name and UUID must be free.
  void add(entry e);
  /// The pool named `name_or_uuid` (a name first, then a UUID in any spelling), being
  /// defined or defined; nullptr when none. A pool found gone is dropped first, its
  /// actor added to `gone` (for the instance actor to stop).
  entry* find(const std::string& name_or_uuid, std::vector<caf::actor>& gone);
  /// The same, for queries: defined pools only; throws protocol::error(no_pool).
  const entry& lookup(const std::string& name_or_uuid, std::vector<caf::actor>& gone);
  /// Drops the pool `name` when it is gone: its actor, else nothing.
  caf::actor drop_gone(const std::string& name);

  /// {pools: [...], next?} as JSON text: in name order, active ones and/or inactive
  /// ones, each entry as pool.info answers it, those after the name `after` when
  /// given; a page stops before `budget` bytes, `next` the name to go on after.
  std::string list(bool active, bool inactive, const std::optional<std::string>& after,
                   uint64_t budget) const;
  /// Every pool, being defined or defined (not the gone ones).
  std::vector<const entry*> all() const;

  size_t size() const { return by_name_.size(); }

  /// The same pools, readable from any thread.
  const std::shared_ptr<pool_index>& index() const { return index_; }

private:
  std::shared_ptr<pool_index> index_ = std::make_shared<pool_index>();
  std::map<std::string, entry> by_name_;             // listed in name order
  std::map<std::string, std::string> names_by_uuid_; // its UUID's text, to its name
};

} // namespace domus::runtime
