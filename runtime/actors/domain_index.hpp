// The instance's domains as any thread may read them: each one's name and slot (what its
// actor last published). The instance actor keeps it beside its own maps; host users_of
// reads it from a driver's thread without a message. One lock, held to copy a few
// pointers, never across a slot's read.
#pragma once

#include "actors/domain_slot.hpp"

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace domus::runtime {

class domain_index {
public:
  /// The domain of actor `id` is `name`, its slot `slot` (again: replaced).
  void put(caf::actor_id id, std::string name, std::shared_ptr<domain_slot> slot) {
    std::lock_guard<std::mutex> lock(mutex_);
    by_id_[id] = {std::move(name), std::move(slot)};
  }
  /// The domain of actor `id` is gone.
  void drop(caf::actor_id id) {
    std::lock_guard<std::mutex> lock(mutex_);
    by_id_.erase(id);
  }
  /// Calls fn(name, summary) for each domain whose actor has published its summary.
  template <class F> void each(F&& fn) const {
    std::vector<std::pair<std::string, std::shared_ptr<domain_slot>>> all;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      all.reserve(by_id_.size());
      for (const auto& [id, e] : by_id_)
        all.push_back(e);
    }
    for (const auto& [name, slot] : all) {
      domain_summary s;
      if (slot->read(s))
        fn(name, s);
    }
  }

private:
  mutable std::mutex mutex_;
  std::map<caf::actor_id, std::pair<std::string, std::shared_ptr<domain_slot>>> by_id_;
};

} // namespace domus::runtime
