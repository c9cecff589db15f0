// What outlives one domain actor: where the driver's completions and reports for the
// domain go, how many of its driver calls are still out, and the domain's summary as
// its actor last announced it (the instance actor reads it for lists and restarts,
// instead of being sent a message on every change). Each incarnation of the
// domain actor attaches itself when it starts, so a completion of a call made by an
// actor that died reaches its replacement instead of being lost. The lock is the
// domain's own, held for a few instructions, never across a call.
#pragma once

#include "actors/messages.hpp"

#include <caf/actor.hpp>

struct domus_stream;

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace domus::runtime {

class domain_slot {
public:
  /// The stream of an open_console that passed its deadline: the driver still holds
  /// it until the call returns (the actor in charge then ends and frees it).
  domus_stream* late_stream = nullptr;

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

  /// A driver call on the domain (of incarnation `generation`, number `id`) passed
  /// its deadline and is still out: the domain is unresponsive until it returns. `call`
  /// names it ("start").
  void hung_add(uint64_t generation, uint64_t id, std::string call) {
    std::lock_guard<std::mutex> lock(mutex_);
    hung_.push_back({generation, id, std::move(call)});
  }

  /// A call out past its deadline.
  struct hung_call {
    uint64_t generation, id;
    std::string call;     ///< the operation, "start"
    bool discard = false; ///< a destroy completed after it was given up: facts stale
  };

  /// A call came back: the record of it when it was marked hung, else nullopt.
  std::optional<hung_call> hung_remove(uint64_t generation, uint64_t id) {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto it = hung_.begin(); it != hung_.end(); ++it)
      if (it->generation == generation && it->id == id) {
        hung_call h = std::move(*it);
        hung_.erase(it);
        return h;
      }
    return std::nullopt;
  }

  /// A destroy completed: what the calls still hung report is older than it.
  void hung_discard_all() {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto& h : hung_)
      h.discard = true;
  }

  /// Whether a call named `call` ("start") is out past its deadline.
  bool hung_has(const std::string& call) const {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto& h : hung_)
      if (h.call == call)
        return true;
    return false;
  }

  /// The oldest call still out past its deadline, "" when the domain is responsive.
  std::string hung() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return hung_.empty() ? std::string() : hung_.front().call;
  }

  /// Driver calls out that are not hung: what a restarted actor waits for.
  int in_flight_in_time() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return in_flight_ - static_cast<int>(hung_.size());
  }

  /// The actor announces its domain's summary (state, id, definitions, ...). The name
  /// and UUID are not kept: they never change, and the instance actor has them.
  void publish(const domain_summary& s) {
    std::lock_guard<std::mutex> lock(mutex_);
    copy_all_but_names(s, summary_);
    published_ = true;
  }

  /// Copies what a list shows of the last summary (id, state, reason, persistent,
  /// autostart) into `s`; false, leaving `s` alone, before the first.
  bool read_facts(domain_summary& s) const {
    std::lock_guard<std::mutex> lock(mutex_);
    if (published_)
      copy_facts(summary_, s);
    return published_;
  }

  /// Copies the whole last summary but the name and UUID into `s` (to seed a restarted
  /// actor); false, leaving `s` alone, before the first.
  bool read(domain_summary& s) const {
    std::lock_guard<std::mutex> lock(mutex_);
    if (published_)
      copy_all_but_names(summary_, s);
    return published_;
  }

private:
  // What a list shows.
  static void copy_facts(const domain_summary& from, domain_summary& to) {
    to.id = from.id;
    to.state = from.state;
    to.reason = from.reason;
    to.persistent = from.persistent;
    to.autostart = from.autostart;
  }

  // Everything but the name and UUID, which never change (the instance actor has them).
  static void copy_all_but_names(const domain_summary& from, domain_summary& to) {
    copy_facts(from, to);
    to.dom = from.dom;
    to.persistent_def = from.persistent_def;
    to.live_def = from.live_def;
    to.private_data = from.private_data;
  }

  mutable std::mutex mutex_;
  caf::actor current_;
  uint64_t generation_ = 0;
  int in_flight_ = 0;
  std::vector<hung_call> hung_; // calls out past their deadline, oldest first
  domain_summary summary_;
  bool published_ = false;
};

} // namespace domus::runtime
