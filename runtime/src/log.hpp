// The daemon's log: one line per message on stderr, with a UTC timestamp and a level.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace domus::runtime {

/// Severity, most severe first. Zero is not a level.
enum class log_level : int { error = 1, warning = 2, info = 3, debug = 4 };

/// Messages above this level are dropped (default info).
void set_log_level(log_level level);
log_level current_log_level();

/// "error", "warning", "info", "debug".
std::optional<log_level> parse_log_level(std::string_view text);

/// Writes one line atomically (a single write(2)), from any thread.
void log(log_level level, std::string_view message);

inline void log_error(std::string_view m) {
  log(log_level::error, m);
}
inline void log_warning(std::string_view m) {
  log(log_level::warning, m);
}
inline void log_info(std::string_view m) {
  log(log_level::info, m);
}
inline void log_debug(std::string_view m) {
  log(log_level::debug, m);
}
inline bool log_enabled(log_level level) {
  return level <= current_log_level();
}

} // namespace domus::runtime
