// The event journal: every lifecycle event is appended here before it is published, so
// that a subscriber that was away can ask for what it missed (events.since), and so that
// seq continues across daemon restarts and is never reused.
//
// Files (var/lib/domus): `events.journal`, one record per line
// "SEQ<TAB>TOPIC<TAB>HASH<TAB>FRAME" (HASH: FNV-1a 64 of the rest, so a torn tail after a
// crash is recognized and dropped), and `events.ceiling`, "SEQ BOOT_ID": a seq no event
// has passed, reserved ahead durably. After a daemon crash (same boot) seq continues
// from the last journaled one; after a host crash, whose page cache may have lost the
// journal's tail, it continues above the ceiling. Loop thread only; no CAF.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace domus::runtime {

class event_journal {
public:
  struct options {
    std::string dir;              ///< var/lib/domus
    size_t capacity = 100000;     ///< events held (and answered by since())
    uint64_t ceiling_step = 1000; ///< seqs reserved per durable ceiling write
    uint64_t flush_every = 1000;  ///< appends between flushes (a timer flushes too)
    std::string boot_id;          ///< this boot's id ("" reads the kernel's)
  };

  /// Opens the journal, reads what it holds, drops a torn tail. Throws protocol::error.
  explicit event_journal(options o);
  ~event_journal();
  event_journal(const event_journal&) = delete;
  event_journal& operator=(const event_journal&) = delete;

  /// The seq the next event gets.
  uint64_t next_seq() const { return next_; }
  /// Records the event numbered next_seq() (its frame as published) and advances.
  /// Throws protocol::error when the journal cannot be written.
  void append(const std::string& topic, const std::string& frame);

  /// What events.since answers.
  struct page {
    std::vector<const std::string*> frames; ///< as published, oldest first
    uint64_t next = 0;                      ///< pass as `after` to continue
    uint64_t last = 0;                      ///< the newest seq held
  };
  /// The events after `after` whose topic starts with `topic`, at most `limit` and at
  /// most `max_bytes` of frames (separators counted; at least one event); nullopt when
  /// the journal no longer holds the event after `after` (the caller must resync).
  std::optional<page> since(uint64_t after, std::string_view topic, size_t limit,
                            uint64_t max_bytes = UINT64_MAX) const;
  /// The oldest seq held (next_seq() when empty).
  uint64_t oldest() const;
  /// What start-up found: records read and whether a torn tail was dropped.
  size_t loaded() const { return loaded_; }
  bool dropped_torn_tail() const { return torn_; }

  /// Makes what was appended durable (fdatasync on the journal's own thread, so that the
  /// event loop never waits for the disk), if anything is pending.
  void flush();

private:
  struct record {
    uint64_t seq;
    std::string topic, frame;
  };
  void load();
  void reserve(uint64_t seq);
  void compact();

  options opts_;
  std::string path_, ceiling_path_;
  int fd_ = -1;
  std::deque<record> held_;
  uint64_t next_ = 1, ceiling_ = 0;
  uint64_t in_file_ = 0, unflushed_ = 0;
  size_t loaded_ = 0;
  bool torn_ = false;
  // The flusher: fdatasync away from the loop thread.
  std::mutex flush_mutex_;
  std::condition_variable flush_wake_;
  bool flush_wanted_ = false, flush_stop_ = false;
  std::thread flusher_;
};

} // namespace domus::runtime
