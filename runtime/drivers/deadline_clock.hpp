// Deadlines of driver calls: one thread that fires what was armed when its time comes.
// Arming and disarming cost a lock and a tree insert or erase (no allocation of a timer,
// no message, no wake-up unless the new deadline is the earliest); almost every call
// completes in time and is disarmed, so the thread mostly sleeps. No CAF here.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <thread>
#include <utility>

namespace domus::runtime {

class deadline_clock {
public:
  using clock = std::chrono::steady_clock;

  /// What arm returns, to disarm with; a default one is not armed.
  struct armed {
    clock::time_point when{};
    uint64_t id = 0;
  };

  deadline_clock();
  /// Stops the thread; what is still armed never fires.
  ~deadline_clock();
  deadline_clock(const deadline_clock&) = delete;
  deadline_clock& operator=(const deadline_clock&) = delete;

  /// Calls `fire` on the clock's thread at `when` (at once when it has passed), unless
  /// disarmed first. `fire` must not block, nor arm or disarm (it runs under no lock, but
  /// it delays every later deadline).
  armed arm(clock::time_point when, std::function<void()> fire);

  /// Disarms; true when it had not fired (it never will), false when it had or was not
  /// armed.
  bool disarm(const armed& a);

  /// Deadlines armed and not fired or disarmed (for tests).
  size_t size() const;

private:
  void run();

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::map<std::pair<clock::time_point, uint64_t>, std::function<void()>> armed_;
  uint64_t next_id_ = 1;
  bool stopping_ = false;
  std::thread thread_;
};

} // namespace domus::runtime
