// An actor's writes through the store (persist/store.hpp), each with what to do next:
// the store completes them on its own thread, this brings each completion back to the
// actor as a stored_atom message (token, error) and runs its continuation there.
// Internal to the runtime: include only from .cpp files.
#pragma once

#include "actors/messages.hpp"
#include "persist/store.hpp"

#include <caf/actor.hpp>
#include <caf/send.hpp>

#include <functional>
#include <optional>
#include <string>
#include <unordered_map>

namespace domus::runtime {

class store_calls {
public:
  using then_fn = std::function<void(const std::string& error)>;

  /// Submits `c` to `files`; `then` (may be empty) runs in the actor `me` once the
  /// actor hands the stored_atom message to done().
  void apply(store& files, store::change c, const caf::actor& me, then_fn then) {
    uint64_t token = ++next_;
    if (then)
      waiting_[token] = std::move(then);
    files.apply(std::move(c), [me, token](const std::string& error) {
      caf::anon_send(me, stored_atom::value, token, error);
    });
  }

  /// A write completed: runs its continuation, true; false for one submitted without.
  bool done(uint64_t token, const std::string& error) {
    auto it = waiting_.find(token);
    if (it == waiting_.end())
      return false;
    auto then = std::move(it->second);
    waiting_.erase(it);
    then(error);
    return true;
  }

private:
  uint64_t next_ = 0;
  std::unordered_map<uint64_t, then_fn> waiting_;
};

} // namespace domus::runtime
