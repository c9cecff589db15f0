// The daemon's log: one line per message on stderr, with a UTC timestamp and a level.
#pragma once

#include <chrono>
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

/// Writes one line atomically (a single write(2)), from any thread. Control characters
/// are escaped (log_escaped), so a value a client sent can never forge a line; repeated
/// lines of one shape (the same but for digits) are rate-limited: the first few of each
/// in a 10 s window are written, the rest counted and summarized in one line when the
/// window ends (at the next message or log_tick()).
void log(log_level level, std::string_view message);

/// `message` with control characters written as \n, \r, \t or \xNN.
std::string log_escaped(std::string_view message);

/// Writes the summaries of a rate-limit window that has ended (called once a second).
void log_tick();

/// The rate limit: lines of one shape, and of all shapes, written per window (defaults:
/// 5 and 500 per 10 s). For tests.
void set_log_rate_limit(std::chrono::milliseconds window, size_t per_shape,
                        size_t per_window);

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
