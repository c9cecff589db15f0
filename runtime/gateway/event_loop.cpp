#include "gateway/event_loop.hpp"

#include "daemon/log.hpp"

namespace domus::runtime {

namespace {

// This thread's held posts (event_loop::hold).
struct held_posts {
  event_loop* loop = nullptr;
  int depth = 0;
  std::vector<std::function<void()>> fns;
};
thread_local held_posts held;

} // namespace

event_loop::hold::hold(event_loop& loop) {
  if (held.depth > 0 && held.loop != &loop)
    return;
  held.loop = &loop;
  ++held.depth;
  active_ = true;
}

event_loop::hold::~hold() {
  if (!active_ || --held.depth > 0)
    return;
  std::vector<std::function<void()>> fns;
  fns.swap(held.fns);
  if (!fns.empty())
    held.loop->hand_over(fns);
}

void event_loop::hand_over(std::vector<std::function<void()>>& fns) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_)
      return;
    for (auto& fn : fns)
      queue_.push_back(std::move(fn));
  }
  uv_async_send(&wakeup_);
}

event_loop::event_loop() {
  uv_loop_init(&loop_);
  wakeup_.data = this;
  uv_async_init(&loop_, &wakeup_,
                [](uv_async_t* a) { static_cast<event_loop*>(a->data)->drain(); });
}

event_loop::~event_loop() {
  if (thread_.joinable())
    stop();
  uv_loop_close(&loop_);
}

void event_loop::start(std::function<void()> on_start) {
  if (on_start)
    post(std::move(on_start));
  thread_ = std::thread([this] {
    thread_id_ = std::this_thread::get_id();
    uv_run(&loop_, UV_RUN_DEFAULT);
  });
}

bool event_loop::post(std::function<void()> fn) {
  if (held.depth > 0 && held.loop == this) {
    held.fns.push_back(std::move(fn));
    return true; // (dropped at hand-over if the loop stops meanwhile)
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_)
      return false;
    queue_.push_back(std::move(fn));
  }
  // Wakeups coalesce: one callback may drain many posts.
  uv_async_send(&wakeup_);
  return true;
}

void event_loop::drain() {
  std::vector<std::function<void()>> batch;
  bool stop = false;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    batch.swap(queue_);
    stop = stopping_;
  }
  for (auto& fn : batch) {
    try {
      fn();
    } catch (const std::exception& e) {
      log_error(std::string("event loop task failed: ") + e.what());
    }
  }
  if (stop && !stop_now_) {
    stop_now_ = true;
    if (on_stop_)
      on_stop_();
    uv_close(reinterpret_cast<uv_handle_t*>(&wakeup_), nullptr);
    // Handles the owners did not close must not keep the thread alive.
    uv_walk(
        &loop_,
        [](uv_handle_t* h, void*) {
          if (!uv_is_closing(h))
            uv_close(h, nullptr);
        },
        nullptr);
  }
}

void event_loop::stop(std::function<void()> on_stop) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_)
      return;
    on_stop_ = std::move(on_stop);
    stopping_ = true;
  }
  uv_async_send(&wakeup_);
  if (thread_.joinable())
    thread_.join();
}

} // namespace domus::runtime
