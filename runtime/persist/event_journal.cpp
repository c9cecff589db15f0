#include "persist/event_journal.hpp"

#include "daemon/log.hpp"
#include "persist/instance_restore.hpp"
#include "persist/record_hash.hpp"
#include "persist/store.hpp"

#include <domus/protocol/errors.hpp>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace domus::runtime {

using protocol::errc;

namespace {

constexpr std::string_view hole_topic = "journal.hole";

std::string line_of(uint64_t seq, std::string_view topic, const std::string& frame) {
  std::string head = std::to_string(seq) + "\t" + std::string(topic);
  return head + "\t" + record_hash(head + "\t" + frame) + "\t" + frame + "\n";
}

bool all_digits(std::string_view s) {
  return !s.empty() && s.size() <= 19 &&
         std::all_of(s.begin(), s.end(), [](char ch) { return ch >= '0' && ch <= '9'; });
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
  if (!all_digits(seq_text))
    return false;
  std::string head(line.substr(0, b));
  std::string body(line.substr(c + 1));
  if (record_hash(head + "\t" + body) != line.substr(b + 1, 16))
    return false;
  seq = std::stoull(std::string(seq_text));
  topic = std::string(line.substr(a + 1, b - a - 1));
  frame = std::move(body);
  return true;
}

std::string read_journal(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0 && errno == ELOOP)
    throw protocol::error(errc::config_error,
                          "the event journal " + path +
                              " is a symbolic link; refusing to write through it "
                              "(remove the link)");
  if (fd < 0) {
    if (errno == ENOENT)
      return "";
    throw protocol::error(errc::operation_failed, "cannot read the event journal " +
                                                      path + ": " + std::strerror(errno));
  }
  std::string text;
  char buf[1 << 16];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR))
    if (n > 0)
      text.append(buf, static_cast<size_t>(n));
  ::close(fd);
  return text;
}

} // namespace

event_journal::event_journal(options o) : opts_(std::move(o)) {
  if (opts_.boot_id.empty())
    opts_.boot_id = current_boot_id();
  path_ = opts_.dir + "/events.journal";
  ceiling_ = std::make_unique<journal_ceiling>(opts_.dir + "/events.ceiling");
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
  // A clean stop: the next daemon continues right after the last seq handed out (and
  // learns of a hole the journal could not record).
  if (std::string e = ceiling_->write({next_ - 1, opts_.boot_id, open_hole_from_});
      !e.empty())
    log_warning("event journal: " + e);
  ::close(fd_);
}

void event_journal::load() {
  std::string text = read_journal(path_);
  uint64_t last = 0;
  size_t good_end = 0, at = 0;
  size_t damaged_at = std::string::npos; // the first damaged line since the last good one
  bool rewrite = false;
  auto report = [&](uint64_t next_good) {
    log_error("event journal " + path_ + ": damaged record(s) at offset " +
              std::to_string(damaged_at) + ", after seq " + std::to_string(last) +
              (next_good ? ", before seq " + std::to_string(next_good) : std::string()) +
              ": what follows is kept; the seqs between are lost (a hole)");
  };
  while (at < text.size()) {
    size_t nl = text.find('\n', at);
    if (nl == std::string::npos) {
      torn_ = true; // a write a crash cut: it was never published
      break;
    }
    record r;
    bool ok =
        parse_line(std::string_view(text).substr(at, nl - at), r.seq, r.topic, r.frame) &&
        r.seq > last;
    uint64_t from = r.seq;
    if (ok && r.topic == hole_topic) {
      ok = all_digits(r.frame) && std::stoull(r.frame) > last &&
           std::stoull(r.frame) <= r.seq;
      if (ok)
        from = std::stoull(r.frame);
    }
    if (!ok) {
      if (damaged_at == std::string::npos)
        damaged_at = at;
      at = nl + 1;
      continue;
    }
    if (damaged_at != std::string::npos) {
      report(r.seq);
      if (from > last + 1)
        add_hole(last + 1, from - 1);
      damaged_at = std::string::npos;
      rewrite = true;
    }
    last = r.seq;
    if (r.topic == hole_topic)
      add_hole(from, r.seq);
    else
      held_.push_back(std::move(r));
    ++in_file_;
    good_end = nl + 1;
    at = nl + 1;
  }
  loaded_ = held_.size();
  // Where seq continues: above every seq ever handed out, which the ceiling bounds
  // (it is raised durably before a seq above it leaves).
  journal_ceiling::value c = ceiling_->read();
  next_ = std::max(last, c.seq) + 1;
  ceiling_seq_ = c.seq;
  if (damaged_at != std::string::npos) {
    report(0);
    if (next_ - 1 > last)
      add_hole(last + 1, next_ - 1);
    rewrite = true;
  } else if (!c.boot.empty() && c.boot != opts_.boot_id && c.seq > last) {
    // A host crash: the page cache may have lost the journal's tail, published.
    add_hole(last + 1, c.seq);
    rewrite = true;
  }
  if (c.hole_from) {
    // Events the journal could not write (a full disk) before the daemon stopped.
    if (next_ - 1 >= std::max(c.hole_from, last + 1))
      add_hole(std::max(c.hole_from, last + 1), next_ - 1);
    rewrite = true;
  }
  if (torn_)
    log_warning("event journal " + path_ + ": dropped a torn tail after seq " +
                std::to_string(last) + " (" + std::to_string(text.size() - good_end) +
                " bytes), as after a crash");
  trim();
  fd_ =
      ::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd_ < 0 && errno == ELOOP)
    throw protocol::error(errc::config_error,
                          "the event journal " + path_ +
                              " is a symbolic link; refusing to write through it "
                              "(remove the link)");
  if (fd_ < 0)
    throw protocol::error(errc::operation_failed, "cannot open the event journal " +
                                                      path_ + ": " +
                                                      std::strerror(errno));
  if (::ftruncate(fd_, static_cast<off_t>(good_end)) != 0)
    throw protocol::error(errc::operation_failed, "cannot truncate the event journal " +
                                                      path_ + ": " +
                                                      std::strerror(errno));
  size_ = good_end;
  reserved_end_ = size_;
  // Holes found now are written down: the file rewritten with them (a damaged record
  // gone), or, if that cannot be done now, at the next append.
  if (rewrite && !compact() && !holes_.empty() && holes_.back().from > last)
    open_hole_from_ = holes_.back().from;
  if (std::string e = ceiling_->write({next_ - 1, opts_.boot_id, open_hole_from_});
      !e.empty())
    throw protocol::error(errc::operation_failed, "event journal: " + e);
  ceiling_seq_ = next_ - 1;
  reserve_ceiling(next_);
  renew_reserve();
}

void event_journal::add_hole(uint64_t from, uint64_t to) {
  if (from > to)
    return;
  if (!holes_.empty() && holes_.back().to + 1 >= from) {
    holes_.back().to = std::max(holes_.back().to, to);
    return;
  }
  holes_.push_back({from, to});
}

// The held events are at most the capacity; a hole older than every held event goes.
void event_journal::trim() {
  while (held_.size() > opts_.capacity)
    held_.pop_front();
  uint64_t first = held_.empty() ? next_ : held_.front().seq;
  while (!holes_.empty() && holes_.front().to < first && held_.size() == opts_.capacity)
    holes_.pop_front();
}

// Durably raises the ceiling past `seq` before an event with it can leave.
bool event_journal::reserve_ceiling(uint64_t seq) {
  if (seq <= ceiling_seq_)
    return true;
  uint64_t c = seq + opts_.ceiling_step;
  if (std::string e = ceiling_->write({c, opts_.boot_id, open_hole_from_}); !e.empty()) {
    log_error("event journal: " + e);
    accepting_ = false;
    refusal_ = "the event journal's ceiling cannot be raised (" + e +
               "): changes are refused until it can";
    return false;
  }
  ceiling_seq_ = c;
  return true;
}

// Keeps reserve_bytes allocated past the end of the file, so that the events of
// changes in flight can be written when the disk fills; when that fails, changes are
// refused until it succeeds again.
bool event_journal::renew_reserve() {
  if (!can_reserve_)
    return true;
  if (::fallocate(fd_, FALLOC_FL_KEEP_SIZE, static_cast<off_t>(size_),
                  static_cast<off_t>(opts_.reserve_bytes)) == 0) {
    reserved_end_ = size_ + opts_.reserve_bytes;
    if (!accepting_)
      log_info("event journal " + path_ + " has its reserve again: changes are accepted");
    accepting_ = true;
    refusal_.clear();
    return true;
  }
  if (errno == EOPNOTSUPP) {
    can_reserve_ = false;
    log_warning("event journal " + path_ +
                ": its file system cannot allocate ahead (fallocate); changes are not "
                "refused when the disk fills, and their events may be lost then");
    return true;
  }
  std::string why = std::strerror(errno);
  if (accepting_)
    log_error("event journal " + path_ + ": cannot reserve " +
              std::to_string(opts_.reserve_bytes) + " bytes ahead (" + why +
              "); changes are refused until it can");
  accepting_ = false;
  refusal_ = "the event journal " + path_ + " cannot reserve " +
             std::to_string(opts_.reserve_bytes) + " bytes of disk ahead (" + why +
             "): changes are refused until it can";
  return false;
}

bool event_journal::accepting_changes() {
  if (!accepting_)
    renew_reserve();
  return accepting_;
}

// Writes whole records; a failed write is cut back to the last whole record, so that a
// torn record can never glue onto the next one.
bool event_journal::write_all(const std::string& bytes) {
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::write(fd_, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      int err = n < 0 ? errno : ENOSPC;
      if (::ftruncate(fd_, static_cast<off_t>(size_)) != 0)
        log_error("event journal " + path_ +
                  ": cannot cut a failed write back: " + std::strerror(errno));
      errno = err;
      return false;
    }
    done += static_cast<size_t>(n);
  }
  size_ += bytes.size();
  return true;
}

bool event_journal::append(const std::string& topic, const std::string& frame) {
  uint64_t seq = next_++;
  auto lose = [&](const std::string& why) {
    bool first = open_hole_from_ == 0;
    if (first) {
      open_hole_from_ = seq;
      // Known durably at once, whatever the journal file can do.
      if (std::string e = ceiling_->write({ceiling_seq_, opts_.boot_id, seq}); !e.empty())
        log_error("event journal: " + e);
    }
    add_hole(seq, seq);
    if (first || accepting_)
      log_error("event journal " + path_ + ": an event (seq " + std::to_string(seq) +
                ") cannot be written (" + why +
                "); it is not published, and events.since answers resync across it");
    accepting_ = false;
    refusal_ = "the event journal " + path_ + " cannot be written (" + why +
               "): changes are refused until it can";
    return false;
  };
  if (!reserve_ceiling(seq))
    return lose("its ceiling cannot be raised");
  std::string bytes;
  if (open_hole_from_)
    bytes = line_of(seq - 1, hole_topic, std::to_string(open_hole_from_));
  bytes += line_of(seq, topic, frame);
  if (size_ + bytes.size() + opts_.reserve_bytes / 2 > reserved_end_)
    renew_reserve();
  if (!write_all(bytes))
    return lose(std::strerror(errno));
  if (open_hole_from_) {
    ++in_file_;
    open_hole_from_ = 0;
    if (std::string e = ceiling_->write({ceiling_seq_, opts_.boot_id, 0}); !e.empty())
      log_error("event journal: " + e);
  }
  held_.push_back({seq, topic, frame});
  trim();
  ++in_file_;
  if (++unflushed_ >= opts_.flush_every)
    flush();
  if (in_file_ > 2 * opts_.capacity)
    compact();
  return true;
}

void event_journal::flush() {
  if (!accepting_)
    renew_reserve();
  if (unflushed_ == 0 || fd_ < 0)
    return;
  {
    std::lock_guard<std::mutex> lock(flush_mutex_);
    flush_wanted_ = true;
  }
  flush_wake_.notify_one();
  unflushed_ = 0;
}

// The file rewritten with what is held (events and holes, in seq order): it keeps at
// most twice the capacity, and loses a damaged record found at start. A rewrite that
// fails (a full disk) leaves the file as it was (false).
bool event_journal::compact() {
  std::string text;
  auto h = holes_.begin();
  for (auto& r : held_) {
    for (; h != holes_.end() && h->to < r.seq; ++h)
      text += line_of(h->to, hole_topic, std::to_string(h->from));
    text += line_of(r.seq, r.topic, r.frame);
  }
  for (; h != holes_.end(); ++h)
    text += line_of(h->to, hole_topic, std::to_string(h->from));
  try {
    store::write_now(path_, text, true);
  } catch (const protocol::error& e) {
    log_warning(std::string("event journal: cannot rewrite it: ") + e.what());
    return false;
  }
  std::lock_guard<std::mutex> lock(flush_mutex_); // the flusher uses fd_
  int fd = ::open(path_.c_str(), O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    log_error("event journal: cannot reopen " + path_ + ": " + std::strerror(errno));
    return false;
  }
  if (fd_ >= 0)
    ::close(fd_);
  fd_ = fd;
  size_ = text.size();
  reserved_end_ = size_;
  in_file_ = held_.size() + holes_.size();
  unflushed_ = 0;
  open_hole_from_ = 0; // every hole is in the file now
  renew_reserve();
  return true;
}

uint64_t event_journal::oldest() const {
  uint64_t o = held_.empty() ? next_ : held_.front().seq;
  if (!holes_.empty())
    o = std::min(o, holes_.front().from);
  return o;
}

event_journal::page event_journal::since(uint64_t after, std::string_view topic,
                                         size_t limit, uint64_t max_bytes) const {
  page p;
  p.last = next_ - 1;
  uint64_t first = oldest();
  if (after + 1 < first) {
    p.resync_from = first;
    return p;
  }
  // The first hole not wholly at or before `after`.
  auto h = std::find_if(holes_.begin(), holes_.end(),
                        [&](const hole& x) { return x.to > after; });
  if (h != holes_.end() && h->from <= after + 1) {
    p.resync_from = h->to + 1;
    p.lost = *h;
    return p;
  }
  uint64_t upper = h == holes_.end() ? UINT64_MAX : h->from;
  p.next = h == holes_.end() ? std::max(after, p.last) : upper - 1;
  // The first held event after `after`: seqs are increasing.
  auto it = std::upper_bound(held_.begin(), held_.end(), after,
                             [](uint64_t s, const record& r) { return s < r.seq; });
  uint64_t bytes = 0;
  for (; it != held_.end() && it->seq < upper; ++it) {
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
