// Calling a driver operation from an actor: the completion comes back as a done_atom
// message, or is handed back at once when the driver completed before its call returned
// (the test driver always does), which saves a mailbox hop. Calls made for a domain go
// through its domain_slot, so their completions reach whichever actor is in charge of
// the domain when they arrive.
//
// Every call that does not complete at once has a deadline (daemon/deadlines.hpp) on the
// deadline clock: when it passes, the actor gets a deadline_atom message and expire()
// hands it the call's continuation, which it runs with a `timeout` result; the call is
// then late: its real completion still comes (done() says `late`), and the runtime keeps
// the call's context alive until it does, so that `cancel` never names a call that
// completed (no other call can have its address).
#pragma once

#include "actors/domain_slot.hpp"
#include "actors/messages.hpp"
#include "daemon/deadlines.hpp"
#include "drivers/deadline_clock.hpp"

#include <caf/actor.hpp>
#include <caf/send.hpp>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <unordered_map>

/// The runtime's side of a long-running job's handle (domus_job in the plugin ABI):
/// where its progress reports go. Lives in the call's context, so it is valid until the
/// driver completes the call, whatever became of the actor that made it.
struct domus_job {
  caf::actor target;                                 // without a slot
  std::shared_ptr<domus::runtime::domain_slot> slot; // for a domain
  uint64_t generation = 0;
  uint64_t call_id = 0;
};

namespace domus::runtime {

namespace detail {

struct call_context {
  // 0: the driver call is running; 1: completed while it ran; 2: the call returned first.
  std::atomic<int> phase{0};
  // The driver's reference (until it completes) and the runtime's (until it has the
  // completion or gives the call up with its actor).
  std::atomic<int> refs{2};
  caf::actor target;                 // without a slot
  std::shared_ptr<domain_slot> slot; // for a domain
  uint64_t generation = 0;
  uint64_t call_id = 0;
  driver_result result;
  std::unique_ptr<domus_job> job; // a long-running job's handle
};

inline void release(call_context* c) {
  if (c->refs.fetch_sub(1) == 1)
    delete c;
}

inline void on_driver_complete(void* user, const domus_result_v1* r) {
  auto* c = static_cast<call_context*>(user);
  c->result = driver_result::copy(r);
  if (c->phase.exchange(1) == 2) {
    caf::actor to = c->slot ? c->slot->call_finished() : c->target;
    caf::anon_send(to, done_atom::value, c->generation, c->call_id, std::move(c->result));
  }
  release(c);
}

} // namespace detail

/// A call whose deadline passed: its continuation, to run with a timeout result, and
/// what to tell the driver's `cancel`.
struct expired_call {
  driver_op op;
  void* user = nullptr; ///< the call's `user`, for cancel
  uint32_t deadline_ms = 0;
  std::function<void(driver_result&)> then;
};

/// The driver calls of one actor that have not completed yet, with what to do next.
class pending_calls {
public:
  /// For an actor without a domain (the instance actor).
  explicit pending_calls(caf::actor self = {}) : self_(std::move(self)) {}
  ~pending_calls() {
    for (auto& [id, w] : waiting_) {
      if (clock_)
        clock_->disarm(w.armed);
      detail::release(w.ctx);
    }
    for (auto& [id, l] : late_)
      detail::release(l.ctx);
  }
  pending_calls(const pending_calls&) = delete;
  pending_calls& operator=(const pending_calls&) = delete;

  /// For one incarnation of a domain actor.
  void attach(caf::actor self, std::shared_ptr<domain_slot> slot) {
    self_ = self;
    slot_ = std::move(slot);
    generation_ = slot_->attach(std::move(self));
  }
  void set_self(caf::actor self) { self_ = std::move(self); }
  /// Where deadlines are armed, and how long each operation may take; both outlive
  /// the actor. Before the first call; without them, no call has a deadline.
  void set_deadlines(deadline_clock* clock, const call_deadlines* deadlines) {
    clock_ = clock;
    deadlines_ = deadlines;
  }

  uint64_t generation() const { return generation_; }
  /// The id the next call will have (a long-running job's record names its call before
  /// the call is made: it may complete before drive_job returns).
  uint64_t next_id() const { return next_; }
  /// The `user` call `id` was handed (for `cancel`), while it is still in time.
  void* user_of(uint64_t id) const {
    auto it = waiting_.find(id);
    return it == waiting_.end() ? nullptr : static_cast<void*>(it->second.ctx);
  }
  const std::shared_ptr<domain_slot>& slot() const { return slot_; }

  /// Calls call(complete_fn, user); `then(result)` runs at once when the driver completed
  /// synchronously, else when the actor hands the done_atom message to done(), or with
  /// a timeout result when the actor hands the deadline_atom message to expire().
  template <class Call, class Then> void drive(driver_op op, Call&& call, Then&& then) {
    start(op, false, std::forward<Call>(call), std::forward<Then>(then));
  }
  /// A long-running job: call(complete_fn, user, job) is handed its domus_job, whose
  /// progress reports the actor hands to progressed(); its deadline counts from the last.
  template <class Call, class Then>
  void drive_job(driver_op op, Call&& call, Then&& then) {
    start(op, true, std::forward<Call>(call), std::forward<Then>(then));
  }

  /// A long-running job reported progress: its deadline starts again. False when the
  /// call is not one of this incarnation's still in time.
  bool progressed(uint64_t generation, uint64_t id) {
    if (generation != generation_)
      return false;
    auto it = waiting_.find(id);
    if (it == waiting_.end())
      return false;
    if (clock_) {
      clock_->disarm(it->second.armed);
      it->second.armed = arm(it->second.op, id, deadline_clock::clock::now());
    }
    return true;
  }

private:
  template <class Call, class Then>
  void start(driver_op op, bool long_job, Call&& call, Then&& then) {
    uint64_t id = next_++;
    auto* c = new detail::call_context;
    c->target = self_;
    c->slot = slot_;
    c->generation = generation_;
    c->call_id = id;
    if (long_job)
      c->job.reset(new domus_job{self_, slot_, generation_, id});
    if (slot_)
      slot_->call_started();
    auto started = deadline_clock::clock::now();
    if constexpr (std::is_invocable_v<Call, domus_complete_fn, void*, domus_job*>)
      call(&detail::on_driver_complete, static_cast<void*>(c), c->job.get());
    else
      call(&detail::on_driver_complete, static_cast<void*>(c));
    if (c->phase.exchange(2) == 1) {
      if (slot_)
        slot_->call_finished();
      driver_result r = std::move(c->result);
      detail::release(c);
      then(r);
      return;
    }
    waiting w{op, c, arm(op, id, started), std::forward<Then>(then)};
    waiting_.emplace(id, std::move(w));
  }

  // The deadline of call `id`, `op`'s time after `from` (none without a clock, or for
  // an operation without a deadline).
  deadline_clock::armed arm(driver_op op, uint64_t id,
                            deadline_clock::clock::time_point from) {
    uint32_t ms = deadlines_ ? deadlines_->of(op) : 0;
    if (!clock_ || ms == 0)
      return {};
    return clock_->arm(from + std::chrono::milliseconds(ms),
                       [target = self_, slot = slot_, g = generation_, id] {
                         caf::actor to = slot ? slot->current() : target;
                         caf::anon_send(to, deadline_atom::value, g, id);
                       });
  }

public:
  /// What done() did with a completion.
  enum class outcome {
    ran,     ///< the continuation of a call of this incarnation ran
    late,    ///< a call whose deadline had passed completed: `late_op` says which
    not_ours ///< a call made by an incarnation that died
  };

  /// Runs the continuation of a completed call of this incarnation.
  outcome done(uint64_t generation, uint64_t id, driver_result& r,
               driver_op* late_op = nullptr) {
    if (generation != generation_)
      return outcome::not_ours;
    if (auto l = late_.find(id); l != late_.end()) {
      if (late_op)
        *late_op = l->second.op;
      detail::release(l->second.ctx);
      late_.erase(l);
      return outcome::late;
    }
    auto it = waiting_.find(id);
    if (it == waiting_.end())
      return outcome::not_ours;
    auto w = std::move(it->second);
    waiting_.erase(it);
    if (clock_)
      clock_->disarm(w.armed);
    detail::release(w.ctx);
    w.then(r);
    return outcome::ran;
  }

  /// A deadline passed: the call, now late, when it is still out (its continuation is
  /// the caller's to run, with a timeout result).
  std::optional<expired_call> expire(uint64_t generation, uint64_t id) {
    if (generation != generation_)
      return std::nullopt;
    auto it = waiting_.find(id);
    if (it == waiting_.end())
      return std::nullopt;
    auto w = std::move(it->second);
    waiting_.erase(it);
    late_.emplace(id, late_call{w.op, w.ctx});
    return expired_call{w.op, w.ctx, deadlines_ ? deadlines_->of(w.op) : 0,
                        std::move(w.then)};
  }

  /// Calls out past their deadline.
  size_t late() const { return late_.size(); }
  /// Whether call `id` passed its deadline and has not completed yet.
  bool is_late(uint64_t id) const { return late_.count(id) != 0; }

  /// Calls of this incarnation whose completion it has not handled yet, in time or
  /// late. (The slot's in_flight drops when the driver completes, before the actor
  /// takes the done_atom message: an actor that went by it alone could stop with a
  /// completion still in its mailbox, and its caller unanswered.)
  size_t unhandled() const { return waiting_.size() + late_.size(); }

  /// The id of a call still in time that is not a query (`info`): the driver call of
  /// the change that runs, if it has one out.
  std::optional<uint64_t> change_call() const {
    for (auto& [id, w] : waiting_)
      if (w.op != driver_op::info)
        return id;
    return std::nullopt;
  }

private:
  struct waiting {
    driver_op op;
    detail::call_context* ctx;
    deadline_clock::armed armed;
    std::function<void(driver_result&)> then;
  };
  struct late_call {
    driver_op op;
    detail::call_context* ctx;
  };

  caf::actor self_;
  std::shared_ptr<domain_slot> slot_;
  uint64_t generation_ = 0;
  uint64_t next_ = 1;
  deadline_clock* clock_ = nullptr;
  const call_deadlines* deadlines_ = nullptr;
  std::unordered_map<uint64_t, waiting> waiting_;
  std::unordered_map<uint64_t, late_call> late_;
};

} // namespace domus::runtime
