// Blocking work of one driver instance (domus_host_v1.queue_work): threads of its own,
// a bounded queue, cancel before it begins, completions on the event loop. No CAF here.
#pragma once

#include "gateway/event_loop.hpp"

#include <domus/driver_v1.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

namespace domus::runtime {

/// Worker threads for one driver instance, started on first use. Each instance has its
/// own (not libuv's pool, which the whole process shares): one driver's stuck work holds
/// only its own threads, and the loop never waits for a request that does not return.
class work_pool {
public:
  /// `threads` items run at once; at most `max_items` wait or run.
  work_pool(event_loop& loop, std::string owner, unsigned threads, size_t max_items);
  ~work_pool();
  work_pool(const work_pool&) = delete;
  work_pool& operator=(const work_pool&) = delete;

  /// From any thread. Returns the item's handle, or 0 when max_items are queued or
  /// running, or the pool has stopped.
  uint64_t queue(domus_task_fn work, domus_work_done_fn done, void* arg);

  /// From any thread. 0: the item had not begun and never will (done gets -ECANCELED,
  /// on the loop); -EBUSY: it runs; -ENOENT: it completed, or no such item.
  int32_t cancel(uint64_t handle);

  /// Cancels every waiting item and waits up to `grace` for the running ones. Returns
  /// whether none runs any more (false: a thread is stuck in a driver's work; it is
  /// left behind, detached). Call from any thread but the loop's, once.
  bool stop(std::chrono::milliseconds grace);

  /// Items waiting or running, for tests and the log.
  size_t items() const;

  struct state;

private:
  std::shared_ptr<state> state_; // shared with the threads: one left behind outlives us
};

} // namespace domus::runtime
