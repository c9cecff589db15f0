// The progress line domsh shows on a terminal while it moves a volume's bytes: done and
// total, the rate and the time left, redrawn at most a few times a second on stderr.
// Nothing at all when stderr is not a terminal (output piped or logged stays clean).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace domus::cli {

class progress_bar {
public:
  /// `label` ("Uploading"), `total` bytes (0: not known).
  progress_bar(std::string label, uint64_t total);
  ~progress_bar();

  /// `done` bytes so far; redraws when due.
  void update(uint64_t done);
  /// The last line, finished (a newline), when a line was drawn.
  void finish();

  /// The line for `done` bytes after `elapsed`, `width` columns (public for tests).
  static std::string line(const std::string& label, uint64_t done, uint64_t total,
                          std::chrono::milliseconds elapsed, size_t width);

private:
  void draw();

  std::string label_;
  uint64_t total_, done_ = 0;
  bool on_ = false, drawn_ = false;
  std::chrono::steady_clock::time_point start_, last_;
};

} // namespace domus::cli
