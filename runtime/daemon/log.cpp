#include "daemon/log.hpp"

#include <domus/protocol/codec.hpp>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <unistd.h>
#include <unordered_map>
#include <vector>

namespace domus::runtime {
namespace {

std::atomic<int> threshold{static_cast<int>(log_level::info)};

std::string_view name_of(log_level l) {
  switch (l) {
  case log_level::error:
    return "error";
  case log_level::warning:
    return "warning";
  case log_level::info:
    return "info";
  case log_level::debug:
    return "debug";
  }
  return "info";
}

using clock_type = std::chrono::steady_clock;

// Repeated lines: the first `per_key` lines of one shape (the message with its digits
// left out) in a window are written, the rest counted and summarized when the window
// ends; beyond `per_window` lines of any shape in a window the same happens to all. So
// a client that makes the daemon log on every message costs a line per window, never a
// line per message.
struct limiter {
  std::chrono::milliseconds window{10000};
  size_t per_key = 5;
  size_t per_window = 500;
  static constexpr size_t max_keys = 4096;

  struct shape {
    size_t written = 0, suppressed = 0;
    log_level level = log_level::info;
    std::string last; // the last suppressed message, as an example
  };

  std::mutex mutex;
  clock_type::time_point start = clock_type::now();
  size_t written = 0, suppressed_overall = 0;
  std::unordered_map<std::string, shape> shapes;
  shape overflow; // beyond max_keys shapes in one window

  static std::string key_of(log_level level, std::string_view message) {
    std::string key(1, static_cast<char>('0' + static_cast<int>(level)));
    bool digits = false;
    for (char c : message.substr(0, 160)) {
      bool d = c >= '0' && c <= '9';
      if (!d)
        key += c;
      else if (!digits)
        key += '#';
      digits = d;
    }
    return key;
  }

  // Whether to write the message now; the summaries of a window that ended go to `out`.
  bool admit(log_level level, std::string_view message, std::vector<std::string>& out) {
    std::lock_guard<std::mutex> lock(mutex);
    roll(clock_type::now(), out);
    auto& s = shapes.size() < max_keys ? shapes[key_of(level, message)] : overflow;
    s.level = level;
    if (s.written < per_key && written < per_window) {
      ++s.written;
      ++written;
      return true;
    }
    ++s.suppressed;
    ++suppressed_overall;
    s.last.assign(message.substr(0, 400));
    return false;
  }

  // Ends the window when it is over: a summary line per shape that was held back.
  void roll(clock_type::time_point now, std::vector<std::string>& out) {
    if (now - start < window)
      return;
    for (auto& [key, s] : shapes)
      if (s.suppressed)
        out.push_back(std::string(name_of(s.level)) + ": " +
                      std::to_string(s.suppressed) +
                      " more similar message(s) in the last " +
                      std::to_string(window.count() / 1000.0).substr(0, 4) +
                      " s were not written; the last: " + s.last);
    if (overflow.suppressed)
      out.push_back("warning: " + std::to_string(overflow.suppressed) +
                    " message(s) of other kinds were not written (rate limit)");
    shapes.clear();
    overflow = {};
    written = suppressed_overall = 0;
    start = now;
  }
};

limiter& the_limiter() {
  static limiter l;
  return l;
}

void write_line(std::string_view level_and_message) {
  std::string line = protocol::format_utc_ms(std::chrono::system_clock::now());
  line += " domusd[" + std::to_string(::getpid()) + "] ";
  line += level_and_message;
  line += '\n';
  size_t off = 0;
  while (off < line.size()) {
    ssize_t n = ::write(STDERR_FILENO, line.data() + off, line.size() - off);
    if (n <= 0)
      break;
    off += static_cast<size_t>(n);
  }
}

} // namespace

std::string log_escaped(std::string_view message) {
  std::string out;
  out.reserve(message.size());
  for (unsigned char c : message) {
    if (c >= 0x20 && c != 0x7f) {
      out += static_cast<char>(c);
      continue;
    }
    switch (c) {
    case '\n':
      out += "\\n";
      break;
    case '\r':
      out += "\\r";
      break;
    case '\t':
      out += "\\t";
      break;
    default: {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    }
    }
  }
  return out;
}

void set_log_level(log_level level) {
  threshold = static_cast<int>(level);
}

log_level current_log_level() {
  return static_cast<log_level>(threshold.load());
}

std::optional<log_level> parse_log_level(std::string_view text) {
  for (auto l : {log_level::error, log_level::warning, log_level::info, log_level::debug})
    if (name_of(l) == text)
      return l;
  return std::nullopt;
}

void log(log_level level, std::string_view message) {
  if (static_cast<int>(level) > threshold.load(std::memory_order_relaxed))
    return;
  std::string text = log_escaped(message);
  std::vector<std::string> summaries;
  bool admitted = the_limiter().admit(level, text, summaries);
  for (auto& s : summaries)
    write_line(s);
  if (admitted)
    write_line(std::string(name_of(level)) + ": " + text);
}

void set_log_rate_limit(std::chrono::milliseconds window, size_t per_shape,
                        size_t per_window) {
  auto& l = the_limiter();
  std::lock_guard<std::mutex> lock(l.mutex);
  l.window = window;
  l.per_key = per_shape;
  l.per_window = per_window;
  l.start = clock_type::now();
}

void log_tick() {
  std::vector<std::string> summaries;
  {
    auto& l = the_limiter();
    std::lock_guard<std::mutex> lock(l.mutex);
    l.roll(clock_type::now(), summaries);
  }
  for (auto& s : summaries)
    write_line(s);
}

} // namespace domus::runtime
