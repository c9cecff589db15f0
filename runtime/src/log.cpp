#include "log.hpp"

#include <domus/protocol/codec.hpp>

#include <atomic>
#include <unistd.h>

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

} // namespace

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
  std::string line = protocol::format_utc_ms(std::chrono::system_clock::now());
  line += " domusd[" + std::to_string(::getpid()) + "] ";
  line += name_of(level);
  line += ": ";
  line += message;
  line += '\n';
  size_t off = 0;
  while (off < line.size()) {
    ssize_t n = ::write(STDERR_FILENO, line.data() + off, line.size() - off);
    if (n <= 0)
      break;
    off += static_cast<size_t>(n);
  }
}

} // namespace domus::runtime
