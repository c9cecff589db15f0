#include "gateway/sample_throttle.hpp"

#include "gateway/event_loop.hpp"

#include <algorithm>
#include <limits>

namespace domus::runtime {

sample_throttle::sample_throttle(uv_loop_t* loop, uint64_t interval_ms, send_fn send)
    : loop_(loop), interval_ms_(interval_ms), send_(std::move(send)) {}

sample_throttle::~sample_throttle() {
  close();
}

void sample_throttle::close() {
  if (timer_) {
    uv_timer_stop(timer_);
    event_loop::close_and_delete(timer_);
    timer_ = nullptr;
  }
  slots_.clear();
  send_ = nullptr;
}

void sample_throttle::offer(const std::string& key, std::string topic, std::string body) {
  if (!send_)
    return;
  uint64_t now = uv_now(loop_);
  auto [it, fresh] = slots_.try_emplace(key);
  slot& s = it->second;
  if (fresh || (!s.pending && now - s.last_sent_ms >= interval_ms_)) {
    s.last_sent_ms = now;
    send_(topic, body);
  } else {
    s.pending = true;
    s.topic = std::move(topic);
    s.body = std::move(body);
  }
  arm();
}

// One timer for every key: it fires when the earliest kept body is due, or, with none
// kept, when the earliest quiet key can be forgotten.
void sample_throttle::arm() {
  if (!timer_) {
    timer_ = new uv_timer_t;
    uv_timer_init(loop_, timer_);
    timer_->data = this;
  }
  if (slots_.empty()) {
    uv_timer_stop(timer_);
    return;
  }
  uint64_t now = uv_now(loop_);
  uint64_t due = std::numeric_limits<uint64_t>::max();
  for (auto& [key, s] : slots_)
    due = std::min(due, s.last_sent_ms + interval_ms_);
  uv_timer_start(
      timer_, [](uv_timer_t* t) { static_cast<sample_throttle*>(t->data)->on_timer(); },
      due > now ? due - now : 0, 0);
}

void sample_throttle::on_timer() {
  uint64_t now = uv_now(loop_);
  for (auto it = slots_.begin(); it != slots_.end();) {
    slot& s = it->second;
    if (now - s.last_sent_ms < interval_ms_) {
      ++it;
    } else if (s.pending) {
      s.pending = false;
      s.last_sent_ms = now;
      send_(s.topic, s.body);
      ++it;
    } else {
      it = slots_.erase(it); // quiet for an interval: its next sample goes at once
    }
  }
  arm();
}

} // namespace domus::runtime
