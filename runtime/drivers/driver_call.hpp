// Calling a driver operation from an actor: the completion comes back as a done_atom
// message, or is handed back at once when the driver completed before its call returned
// (the test driver always does), which saves a mailbox hop. Calls made for a domain go
// through its domain_slot, so their completions reach whichever actor is in charge of
// the domain when they arrive.
#pragma once

#include "actors/domain_slot.hpp"
#include "actors/messages.hpp"

#include <caf/actor.hpp>
#include <caf/send.hpp>

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <unordered_map>

namespace domus::runtime {

namespace detail {

struct call_context {
  // 0: the driver call is running; 1: completed while it ran; 2: the call returned first.
  std::atomic<int> phase{0};
  caf::actor target;                 // without a slot
  std::shared_ptr<domain_slot> slot; // for a domain
  uint64_t generation = 0;
  uint64_t call_id = 0;
  driver_result result;
};

inline void on_driver_complete(void* user, const domus_result_v1* r) {
  auto* c = static_cast<call_context*>(user);
  c->result = driver_result::copy(r);
  if (c->phase.exchange(1) == 2) {
    caf::actor to = c->slot ? c->slot->call_finished() : c->target;
    caf::anon_send(to, done_atom::value, c->generation, c->call_id, std::move(c->result));
    delete c;
  }
}

} // namespace detail

/// The driver calls of one actor that have not completed yet, with what to do next.
class pending_calls {
public:
  /// For an actor without a domain (the instance actor).
  explicit pending_calls(caf::actor self = {}) : self_(std::move(self)) {}

  /// For one incarnation of a domain actor.
  void attach(caf::actor self, std::shared_ptr<domain_slot> slot) {
    self_ = self;
    slot_ = std::move(slot);
    generation_ = slot_->attach(std::move(self));
  }
  void set_self(caf::actor self) { self_ = std::move(self); }

  uint64_t generation() const { return generation_; }
  const std::shared_ptr<domain_slot>& slot() const { return slot_; }

  /// Calls call(complete_fn, user); `then(result)` runs at once when the driver completed
  /// synchronously, else when the actor hands the done_atom message to done().
  template <class Call, class Then> void drive(Call&& call, Then&& then) {
    uint64_t id = next_++;
    auto* c = new detail::call_context;
    c->target = self_;
    c->slot = slot_;
    c->generation = generation_;
    c->call_id = id;
    if (slot_)
      slot_->call_started();
    call(&detail::on_driver_complete, static_cast<void*>(c));
    if (c->phase.exchange(2) == 1) {
      if (slot_)
        slot_->call_finished();
      driver_result r = std::move(c->result);
      delete c;
      then(r);
      return;
    }
    waiting_.emplace(id, std::forward<Then>(then));
  }

  /// Runs the continuation of a completed call of this incarnation; false when the call
  /// is not one of ours (a call made by an incarnation that died).
  bool done(uint64_t generation, uint64_t id, driver_result& r) {
    if (generation != generation_)
      return false;
    auto it = waiting_.find(id);
    if (it == waiting_.end())
      return false;
    auto k = std::move(it->second);
    waiting_.erase(it);
    k(r);
    return true;
  }

private:
  caf::actor self_;
  std::shared_ptr<domain_slot> slot_;
  uint64_t generation_ = 0;
  uint64_t next_ = 1;
  std::unordered_map<uint64_t, std::function<void(driver_result&)>> waiting_;
};

} // namespace domus::runtime
