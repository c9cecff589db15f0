// The event-loop thread: one libuv loop that owns the ZeroMQ sockets (polled through
// their file descriptors), the drivers' timers, fd watches and child processes, and the
// hand-off queue from actors.
#pragma once

#include <uv.h>

#include <atomic>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace domus::runtime {

/// A libuv loop running on its own thread.
class event_loop {
public:
  event_loop();
  ~event_loop();
  event_loop(const event_loop&) = delete;
  event_loop& operator=(const event_loop&) = delete;

  /// Starts the thread. `on_start` runs first, on the loop thread.
  void start(std::function<void()> on_start = {});

  /// Runs fn on the loop thread, after everything posted before it. From any thread;
  /// dropped (returns false) once the loop has stopped.
  bool post(std::function<void()> fn);

  /// Stops: runs `on_stop` on the loop thread (it must close what it opened), closes the
  /// loop's own handles and joins the thread. From any thread but the loop's.
  void stop(std::function<void()> on_stop = {});

  /// Holds the calling thread's posts to a loop until the outermost hold on that thread
  /// ends, then hands them over at once: one lock and one wake-up for everything an
  /// actor's message produced (a reply, its event, its route change) instead of one
  /// each. Order is kept. Never wait for the loop while holding: nothing held has been
  /// posted yet.
  class hold {
  public:
    explicit hold(event_loop& loop);
    ~hold();
    hold(const hold&) = delete;
    hold& operator=(const hold&) = delete;

  private:
    bool active_ = false; // false: nested in a hold of another loop, which wins
  };

  /// The uv loop; use it on the loop thread only.
  uv_loop_t* uv() { return &loop_; }

  /// Whether the caller runs on the loop thread.
  bool in_loop_thread() const { return std::this_thread::get_id() == thread_id_; }

  /// Closes a handle and deletes it (allocated with new) once libuv is done with it.
  template <class Handle> static void close_and_delete(Handle* h) {
    uv_close(reinterpret_cast<uv_handle_t*>(h),
             [](uv_handle_t* p) { delete reinterpret_cast<Handle*>(p); });
  }

private:
  void drain();
  void hand_over(std::vector<std::function<void()>>& fns);

  uv_loop_t loop_{};
  uv_async_t wakeup_{};
  std::thread thread_;
  std::thread::id thread_id_;
  std::mutex mutex_;
  std::vector<std::function<void()>> queue_;
  bool stopping_ = false; // guarded by mutex_
  bool stop_now_ = false; // loop thread only
  std::function<void()> on_stop_;
};

} // namespace domus::runtime
