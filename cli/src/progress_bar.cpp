#include "progress_bar.hpp"

#include <sys/ioctl.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>

namespace domus::cli {

namespace {

using clock_type = std::chrono::steady_clock;

std::string bytes_text(double b) {
  static const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  int u = 0;
  while (b >= 1024 && u < 5) {
    b /= 1024;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", b, units[u]);
  return buf;
}

std::string duration_text(double s) {
  char buf[32];
  if (s < 60)
    std::snprintf(buf, sizeof buf, "%.0fs", s);
  else if (s < 3600)
    std::snprintf(buf, sizeof buf, "%dm%02ds", static_cast<int>(s) / 60,
                  static_cast<int>(s) % 60);
  else
    std::snprintf(buf, sizeof buf, "%dh%02dm", static_cast<int>(s) / 3600,
                  static_cast<int>(s) % 3600 / 60);
  return buf;
}

size_t terminal_width() {
  winsize w{};
  if (::ioctl(STDERR_FILENO, TIOCGWINSZ, &w) == 0 && w.ws_col >= 40)
    return w.ws_col;
  return 80;
}

} // namespace

progress_bar::progress_bar(std::string label, uint64_t total)
    : label_(std::move(label)), total_(total), on_(::isatty(STDERR_FILENO) == 1),
      start_(clock_type::now()), last_(start_) {}

progress_bar::~progress_bar() {
  finish();
}

std::string progress_bar::line(const std::string& label, uint64_t done, uint64_t total,
                               std::chrono::milliseconds elapsed, size_t width) {
  double secs = std::max<double>(elapsed.count(), 1) / 1000.0;
  double rate = done / secs;
  std::string tail = "  " + bytes_text(static_cast<double>(done));
  if (total)
    tail += " of " + bytes_text(static_cast<double>(total));
  tail += "  " + bytes_text(rate) + "/s";
  if (total && done < total && rate > 0)
    tail += "  " + duration_text((total - done) / rate) + " left";
  else if (total && done >= total)
    tail += "  " + duration_text(secs);
  std::string head = label + " ";
  if (!total)
    return head + tail.substr(2);
  int pct = static_cast<int>(done >= total ? 100 : done * 100 / total);
  char p[8];
  std::snprintf(p, sizeof p, "%3d%%", pct);
  // [=====>    ] fills what the text leaves, at least 10 columns.
  size_t text = head.size() + 2 + 1 + 4 + tail.size();
  size_t bar = width > text + 10 ? width - text - 1 : 10;
  size_t filled = static_cast<size_t>(bar * std::min<uint64_t>(done, total) / total);
  std::string b = "[" + std::string(filled, '=');
  if (filled < bar)
    b += '>' + std::string(bar - filled - 1, ' ');
  b += "]";
  return head + b + " " + p + tail;
}

void progress_bar::update(uint64_t done) {
  done_ = done;
  if (!on_)
    return;
  auto now = clock_type::now();
  if (drawn_ && now - last_ < std::chrono::milliseconds(200))
    return;
  last_ = now;
  draw();
}

void progress_bar::draw() {
  auto elapsed =
      std::chrono::duration_cast<std::chrono::milliseconds>(clock_type::now() - start_);
  std::cerr << '\r' << line(label_, done_, total_, elapsed, terminal_width()) << "\033[K"
            << std::flush;
  drawn_ = true;
}

void progress_bar::finish() {
  if (!on_ || !drawn_)
    return;
  draw();
  std::cerr << '\n' << std::flush;
  on_ = false;
}

} // namespace domus::cli
