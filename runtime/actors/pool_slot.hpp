// What the instance actor and one storage pool's actor share: the pool's facts as its
// actor last set them (definition with sizes, state, persistence, autostart), which the
// instance actor reads for pool.list, pool.info and pool.xml without a message, and
// whether the pool is gone (undefined, or a transient pool stopped). The name and UUID
// never change. The lock is the pool's own, held for a few instructions.
#pragma once

#include "actors/volume_table.hpp"

#include <domus/driver_v1.h>
#include <domus/model/storage_def.hpp>

#include <memory>
#include <mutex>
#include <string>

namespace domus::runtime {

/// One pool as lists show it.
struct pool_facts {
  /// The definition in force, with the pool's sizes: the live one while active.
  std::shared_ptr<const model::pool_def> def;
  /// The persistent definition a redefine left for the pool's next start; null when it
  /// is `def`.
  std::shared_ptr<const model::pool_def> next;
  int32_t state = DOMUS_POOL_INACTIVE;
  bool persistent = true;
  bool autostart = false;
  domus_pool* handle = nullptr; ///< the driver's; null until its define completed
  std::shared_ptr<const volume_table> volumes; ///< null: none known

  bool active() const { return state != DOMUS_POOL_INACTIVE; }
  /// The persistent definition (pool-dumpxml --inactive).
  const model::pool_def& inactive_def() const { return next ? *next : *def; }
  /// The volume named `name`, or nullptr.
  const driver_volume* volume(const std::string& name) const {
    return volumes ? volumes->find(name) : nullptr;
  }
};

class pool_slot {
public:
  pool_slot(std::string name, std::string uuid, pool_facts facts)
      : name_(std::move(name)), uuid_(std::move(uuid)), facts_(std::move(facts)) {}

  const std::string& name() const { return name_; }
  const std::string& uuid() const { return uuid_; }

  pool_facts read() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return facts_;
  }
  void write(pool_facts f) {
    std::lock_guard<std::mutex> lock(mutex_);
    facts_ = std::move(f);
  }

  /// Whether the pool was defined: false while the define (or create) that brings it
  /// runs; lists leave it out, and a failed one never shows.
  bool defined() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return defined_;
  }
  void set_defined() {
    std::lock_guard<std::mutex> lock(mutex_);
    defined_ = true;
  }

  /// The pool is no more (undefined, a transient pool stopped, a define that failed):
  /// the instance actor drops it at its next look, and its actor answers what was
  /// already sent to it with no-pool.
  bool gone() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return gone_;
  }
  void set_gone() {
    std::lock_guard<std::mutex> lock(mutex_);
    gone_ = true;
  }

private:
  const std::string name_, uuid_;
  mutable std::mutex mutex_;
  pool_facts facts_;
  bool defined_ = false;
  bool gone_ = false;
};

} // namespace domus::runtime
