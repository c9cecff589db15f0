// Calling a driver operation from an actor: the completion comes back to the actor as a
// done_atom message, or is handed back at once when the driver completed before its call
// returned (the test driver always does), which saves a mailbox hop.
#pragma once

#include "messages.hpp"

#include <caf/actor.hpp>
#include <caf/send.hpp>

#include <atomic>
#include <functional>
#include <optional>
#include <unordered_map>

namespace domus::runtime {

namespace detail {

struct call_context {
  // 0: the driver call is running; 1: completed while it ran; 2: the call returned first.
  std::atomic<int> phase{0};
  caf::actor target;
  uint64_t call_id = 0;
  driver_result result;
};

inline void on_driver_complete(void* user, const domus_result_v1* r) {
  auto* c = static_cast<call_context*>(user);
  c->result = driver_result::copy(r);
  if (c->phase.exchange(1) == 2) {
    caf::anon_send(c->target, done_atom::value, c->call_id, std::move(c->result));
    delete c;
  }
}

} // namespace detail

/// Runs call(complete_fn, user). Returns the result when the driver completed during the
/// call; otherwise nullopt, and `target` later receives (done_atom, call_id, result).
template <class Call>
std::optional<driver_result> call_driver(const caf::actor& target, uint64_t call_id,
                                         Call&& call) {
  auto* c = new detail::call_context;
  c->target = target;
  c->call_id = call_id;
  call(&detail::on_driver_complete, static_cast<void*>(c));
  if (c->phase.exchange(2) == 1) {
    driver_result r = std::move(c->result);
    delete c;
    return r;
  }
  return std::nullopt;
}

/// The driver calls of one actor that have not completed yet, with what to do next.
class pending_calls {
public:
  /// Calls the driver; `then(result)` runs at once when it completed synchronously, else
  /// when the actor hands the done_atom message to done().
  template <class Call, class Then>
  void drive(const caf::actor& self, Call&& call, Then&& then) {
    uint64_t id = next_++;
    auto r = call_driver(self, id, std::forward<Call>(call));
    if (r)
      then(*r);
    else
      waiting_.emplace(id, std::forward<Then>(then));
  }

  /// Runs the continuation of a completed call.
  void done(uint64_t id, driver_result& r) {
    auto it = waiting_.find(id);
    if (it == waiting_.end())
      return;
    auto k = std::move(it->second);
    waiting_.erase(it);
    k(r);
  }

private:
  uint64_t next_ = 1;
  std::unordered_map<uint64_t, std::function<void(driver_result&)>> waiting_;
};

} // namespace domus::runtime
