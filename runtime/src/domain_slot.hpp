// What outlives one domain actor: where the driver's completions and reports for the
// domain go, and how many of its driver calls are still out. Each incarnation of the
// domain actor attaches itself when it starts, so a completion of a call made by an
// actor that died reaches its replacement instead of being lost. The lock is the
// domain's own, held for a few instructions, never across a call.
#pragma once

#include <caf/actor.hpp>

#include <cstdint>
#include <mutex>

namespace domus::runtime {

class domain_slot {
public:
  /// Makes `a` the actor in charge; returns its incarnation number (1, 2, ...).
  uint64_t attach(caf::actor a) {
    std::lock_guard<std::mutex> lock(mutex_);
    current_ = std::move(a);
    return ++generation_;
  }

  /// The actor in charge now.
  caf::actor current() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return current_;
  }

  /// A driver call leaves.
  void call_started() {
    std::lock_guard<std::mutex> lock(mutex_);
    ++in_flight_;
  }

  /// A driver call came back; returns the actor to hand its result to.
  caf::actor call_finished() {
    std::lock_guard<std::mutex> lock(mutex_);
    --in_flight_;
    return current_;
  }

  /// Driver calls not come back yet, of any incarnation.
  int in_flight() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return in_flight_;
  }

private:
  mutable std::mutex mutex_;
  caf::actor current_;
  uint64_t generation_ = 0;
  int in_flight_ = 0;
};

} // namespace domus::runtime
