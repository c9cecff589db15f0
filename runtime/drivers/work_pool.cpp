#include "drivers/work_pool.hpp"

#include "daemon/log.hpp"

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

namespace domus::runtime {

struct work_pool::state {
  struct item {
    uint64_t handle;
    domus_task_fn work;
    domus_work_done_fn done;
    void* arg;
  };

  event_loop& loop;
  std::string owner;
  unsigned max_threads;
  size_t max_items;
  std::mutex mutex;
  std::condition_variable wake;     // an item waits, or stopping
  std::condition_variable finished; // an item finished
  std::deque<item> waiting;
  std::vector<uint64_t> running;
  std::vector<std::thread> threads;
  uint64_t next_handle = 1;
  unsigned idle = 0;
  bool stopping = false;
  // stop gave up waiting: a thread that comes back from a driver's work later must not
  // post to a loop that may be gone.
  bool abandoned = false;

  state(event_loop& l, std::string o, unsigned t, size_t m)
      : loop(l), owner(std::move(o)), max_threads(std::max(1u, t)),
        max_items(std::max<size_t>(1, m)) {}

  // Under the mutex (the lock order is pool, then loop; the loop never calls back).
  void complete(const item& it, int32_t status) {
    if (!it.done || abandoned)
      return;
    auto done = it.done;
    auto arg = it.arg;
    loop.post([done, arg, status] { done(arg, status); });
  }

  static void run(const std::shared_ptr<state>& self) {
    state& s = *self;
    std::unique_lock<std::mutex> lock(s.mutex);
    for (;;) {
      ++s.idle;
      s.wake.wait(lock, [&s] { return s.stopping || !s.waiting.empty(); });
      --s.idle;
      if (s.waiting.empty())
        return; // stopping
      item it = s.waiting.front();
      s.waiting.pop_front();
      s.running.push_back(it.handle);
      lock.unlock();
      it.work(it.arg);
      lock.lock();
      s.running.erase(std::find(s.running.begin(), s.running.end(), it.handle));
      s.complete(it, 0);
      s.finished.notify_all();
    }
  }
};

work_pool::work_pool(event_loop& loop, std::string owner, unsigned threads,
                     size_t max_items)
    : state_(std::make_shared<state>(loop, std::move(owner), threads, max_items)) {}

work_pool::~work_pool() {
  bool stopped;
  {
    std::lock_guard<std::mutex> lock(state_->mutex);
    stopped = state_->stopping;
  }
  if (!stopped)
    stop(std::chrono::seconds(10));
}

uint64_t work_pool::queue(domus_task_fn work, domus_work_done_fn done, void* arg) {
  if (!work)
    return 0;
  state& s = *state_;
  std::lock_guard<std::mutex> lock(s.mutex);
  if (s.stopping || s.waiting.size() + s.running.size() >= s.max_items)
    return 0;
  uint64_t handle = s.next_handle++;
  s.waiting.push_back(state::item{handle, work, done, arg});
  // A thread more only when every idle one already has an item to take.
  if (s.waiting.size() > s.idle && s.threads.size() < s.max_threads)
    s.threads.emplace_back([self = state_] { state::run(self); });
  else
    s.wake.notify_one();
  return handle;
}

int32_t work_pool::cancel(uint64_t handle) {
  state& s = *state_;
  std::lock_guard<std::mutex> lock(s.mutex);
  auto w = std::find_if(s.waiting.begin(), s.waiting.end(),
                        [handle](const state::item& it) { return it.handle == handle; });
  if (w == s.waiting.end())
    return std::count(s.running.begin(), s.running.end(), handle) ? -EBUSY : -ENOENT;
  s.complete(*w, -ECANCELED);
  s.waiting.erase(w);
  return 0;
}

bool work_pool::stop(std::chrono::milliseconds grace) {
  state& s = *state_;
  std::vector<std::thread> threads;
  bool finished;
  {
    std::unique_lock<std::mutex> lock(s.mutex);
    s.stopping = true;
    for (auto& it : s.waiting)
      s.complete(it, -ECANCELED);
    s.waiting.clear();
    s.wake.notify_all();
    finished = s.finished.wait_for(lock, grace, [&s] { return s.running.empty(); });
    s.abandoned = !finished;
    threads.swap(s.threads);
  }
  for (auto& t : threads) {
    // A thread still in a driver's work cannot be joined without waiting for it: it is
    // left to finish (or not) on its own, holding the state. The others return at once.
    if (finished)
      t.join();
    else
      t.detach();
  }
  if (!finished)
    log_warning(s.owner + ": blocking work still runs after " +
                std::to_string(grace.count()) + " ms; left behind");
  return finished;
}

size_t work_pool::items() const {
  std::lock_guard<std::mutex> lock(state_->mutex);
  return state_->waiting.size() + state_->running.size();
}

} // namespace domus::runtime
