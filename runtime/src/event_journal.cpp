#include "event_journal.hpp"

#include "instance_restore.hpp"
#include "log.hpp"
#include "store.hpp"

#include <domus/protocol/errors.hpp>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <sstream>
#include <unistd.h>

namespace domus::runtime {

using protocol::errc;

namespace {

uint64_t fnv1a(std::string_view s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

std::string hex64(uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

std::string line_of(uint64_t seq, const std::string& topic, const std::string& frame) {
  std::string head = std::to_string(seq) + "\t" + topic;
  return head + "\t" + hex64(fnv1a(head + "\t" + frame)) + "\t" + frame + "\n";
}

// One record from a line (without its newline); false when it is damaged.
bool parse_line(std::string_view line, uint64_t& seq, std::string& topic,
                std::string& frame) {
  size_t a = line.find('\t');
  size_t b = a == std::string_view::npos ? a : line.find('\t', a + 1);
  size_t c = b == std::string_view::npos ? b : line.find('\t', b + 1);
  if (c == std::string_view::npos || c - b != 17)
    return false;
  std::string_view seq_text = line.substr(0, a);
  if (seq_text.empty() || seq_text.size() > 19 ||
      !std::all_of(seq_text.begin(), seq_text.end(),
                   [](char ch) { return ch >= '0' && ch <= '9'; }))
    return false;
  std::string head(line.substr(0, b));
  std::string body(line.substr(c + 1));
  if (hex64(fnv1a(head + "\t" + body)) != line.substr(b + 1, 16))
    return false;
  seq = std::stoull(std::string(seq_text));
  topic = std::string(line.substr(a + 1, b - a - 1));
  frame = std::move(body);
  return true;
}

[[noreturn]] void fail(const std::string& what, const std::string& path) {
  throw protocol::error(errc::operation_failed,
                        what + " " + path + ": " + std::strerror(errno));
}

} // namespace

event_journal::event_journal(options o) : opts_(std::move(o)) {
  if (opts_.boot_id.empty())
    opts_.boot_id = current_boot_id();
  path_ = opts_.dir + "/events.journal";
  ceiling_path_ = opts_.dir + "/events.ceiling";
  load();
  flusher_ = std::thread([this] {
    std::unique_lock<std::mutex> lock(flush_mutex_);
    while (true) {
      flush_wake_.wait(lock, [this] { return flush_wanted_ || flush_stop_; });
      if (flush_stop_)
        return;
      flush_wanted_ = false;
      int fd = fd_;
      lock.unlock();
      if (::fdatasync(fd) != 0)
        log_warning("event journal " + path_ +
                    ": fdatasync failed: " + std::strerror(errno));
      lock.lock();
    }
  });
}

event_journal::~event_journal() {
  {
    std::lock_guard<std::mutex> lock(flush_mutex_);
    flush_stop_ = true;
  }
  flush_wake_.notify_one();
  if (flusher_.joinable())
    flusher_.join();
  if (fd_ < 0)
    return;
  ::fdatasync(fd_);
  // A clean stop: the next daemon continues right after the last event.
  try {
    store::write_now(ceiling_path_,
                     std::to_string(next_ - 1) + " " + opts_.boot_id + "\n", true);
  } catch (const protocol::error& e) {
    log_warning(std::string("event journal: ") + e.what());
  }
  ::close(fd_);
}

void event_journal::load() {
  std::ifstream in(path_, std::ios::binary);
  std::string text((std::istreambuf_iterator<char>(in)),
                   std::istreambuf_iterator<char>());
  size_t good_end = 0;
  uint64_t last = 0;
  size_t at = 0;
  while (at < text.size()) {
    size_t nl = text.find('\n', at);
    record r;
    if (nl == std::string::npos ||
        !parse_line(std::string_view(text).substr(at, nl - at), r.seq, r.topic,
                    r.frame) ||
        r.seq <= last) {
      torn_ = true;
      break;
    }
    last = r.seq;
    held_.push_back(std::move(r));
    if (held_.size() > opts_.capacity)
      held_.pop_front();
    ++in_file_;
    good_end = nl + 1;
    at = nl + 1;
  }
  loaded_ = in_file_;
  fd_ =
      ::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd_ < 0 && errno == ELOOP)
    throw protocol::error(errc::config_error,
                          "the event journal " + path_ +
                              " is a symbolic link; refusing to write through it "
                              "(remove the link)");
  if (fd_ < 0)
    fail("cannot open the event journal", path_);
  if (torn_) {
    log_warning("event journal " + path_ + ": dropped a damaged tail after seq " +
                std::to_string(last) + " (" + std::to_string(text.size() - good_end) +
                " bytes), as after a crash");
    if (::ftruncate(fd_, static_cast<off_t>(good_end)) != 0)
      fail("cannot truncate the event journal", path_);
  }
  // Where seq continues: after the last journaled event when this boot wrote it (a
  // daemon crash loses nothing the kernel had), above the ceiling after a host crash.
  std::istringstream ceiling(read_small_file(ceiling_path_));
  uint64_t reserved = 0;
  std::string boot;
  ceiling >> reserved >> boot;
  next_ = last + 1;
  if (boot != opts_.boot_id && reserved >= next_)
    next_ = reserved + 1;
  ceiling_ = next_ - 1;
  reserve(next_);
}

// Durably raises the ceiling past `seq` before an event with it can leave.
void event_journal::reserve(uint64_t seq) {
  if (seq <= ceiling_)
    return;
  uint64_t c = seq + opts_.ceiling_step;
  store::write_now(ceiling_path_, std::to_string(c) + " " + opts_.boot_id + "\n", true);
  ceiling_ = c;
}

void event_journal::append(const std::string& topic, const std::string& frame) {
  reserve(next_);
  std::string line = line_of(next_, topic, frame);
  size_t done = 0;
  while (done < line.size()) {
    ssize_t n = ::write(fd_, line.data() + done, line.size() - done);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      fail("cannot append to the event journal", path_);
    done += static_cast<size_t>(n);
  }
  held_.push_back({next_, topic, frame});
  if (held_.size() > opts_.capacity)
    held_.pop_front();
  ++next_;
  ++in_file_;
  if (++unflushed_ >= opts_.flush_every)
    flush();
  if (in_file_ > 2 * opts_.capacity)
    compact();
}

void event_journal::flush() {
  if (unflushed_ == 0 || fd_ < 0)
    return;
  {
    std::lock_guard<std::mutex> lock(flush_mutex_);
    flush_wanted_ = true;
  }
  flush_wake_.notify_one();
  unflushed_ = 0;
}

// The file keeps at most twice the capacity: rewritten with what is held.
void event_journal::compact() {
  std::string text;
  for (auto& r : held_)
    text += line_of(r.seq, r.topic, r.frame);
  store::write_now(path_, text, true);
  std::lock_guard<std::mutex> lock(flush_mutex_); // the flusher uses fd_
  ::close(fd_);
  fd_ = ::open(path_.c_str(), O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC);
  if (fd_ < 0)
    fail("cannot reopen the event journal", path_);
  in_file_ = held_.size();
  unflushed_ = 0;
}

uint64_t event_journal::oldest() const {
  return held_.empty() ? next_ : held_.front().seq;
}

std::optional<event_journal::page> event_journal::since(uint64_t after,
                                                        std::string_view topic,
                                                        size_t limit,
                                                        uint64_t max_bytes) const {
  page p;
  p.last = next_ - 1;
  p.next = std::max(after, p.last);
  if (after + 1 < oldest())
    return std::nullopt;
  // The first held event after `after`: seqs are increasing.
  auto it = std::upper_bound(held_.begin(), held_.end(), after,
                             [](uint64_t s, const record& r) { return s < r.seq; });
  uint64_t bytes = 0;
  for (; it != held_.end(); ++it) {
    if (it->topic.compare(0, topic.size(), topic) != 0)
      continue;
    bytes += it->frame.size() + 1;
    if (p.frames.size() == limit || (!p.frames.empty() && bytes > max_bytes)) {
      p.next = std::prev(it)->seq;
      break;
    }
    p.frames.push_back(&it->frame);
  }
  return p;
}

} // namespace domus::runtime
