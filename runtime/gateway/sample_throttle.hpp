// Samples (driver events that are not journaled: a balloon's size, a job's progress):
// published at most once per interval per key (a domain and topic), the latest body
// winning, so that a busy guest cannot flood subscribers or evict anything. Loop thread
// only.
#pragma once

#include <uv.h>

#include <cstdint>
#include <functional>
#include <string>
#include <unordered_map>

namespace domus::runtime {

/// Coalesces samples per key on the loop.
class sample_throttle {
public:
  using send_fn = std::function<void(const std::string& topic, const std::string& body)>;

  sample_throttle(uv_loop_t* loop, uint64_t interval_ms, send_fn send);
  ~sample_throttle();
  sample_throttle(const sample_throttle&) = delete;
  sample_throttle& operator=(const sample_throttle&) = delete;

  /// Sends now when `key` sent nothing in the last interval; else keeps the body (in
  /// place of one kept before) and sends it when the interval has passed.
  void offer(const std::string& key, std::string topic, std::string body);

  /// Keys tracked: those that sent within the interval or hold a body.
  size_t keys() const { return slots_.size(); }

  /// Closes the timer; nothing more is sent. Before the loop stops.
  void close();

private:
  struct slot {
    uint64_t last_sent_ms = 0;
    bool pending = false;
    std::string topic, body;
  };
  void on_timer();
  void arm();

  uv_loop_t* loop_;
  uint64_t interval_ms_;
  send_fn send_;
  uv_timer_t* timer_ = nullptr; // created on first use
  std::unordered_map<std::string, slot> slots_;
};

} // namespace domus::runtime
