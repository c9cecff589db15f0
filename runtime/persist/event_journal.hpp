// The event journal: every lifecycle event is appended here before it is published, so
// that a subscriber that was away can ask for what it missed (events.since), and so that
// seq is never reused, across restarts, crashes, a full disk and a damaged file.
//
// Files (var/lib/domus):
//  - `events.journal`, one record per line "SEQ<TAB>TOPIC<TAB>HASH<TAB>FRAME" (HASH:
//    FNV-1a 64 of the rest). A record of topic "journal.hole" says that the seqs from
//    FRAME to SEQ were handed out but their events are not held (they were not written,
//    and not published). The file is kept allocated `reserve_bytes` ahead of its end, so
//    that what changes in flight publish can be written when the disk fills; when the
//    reserve cannot be renewed, changes are refused (accepting_changes()).
//  - `events.ceiling` (journal_ceiling.hpp): a seq no event has passed, reserved ahead
//    durably; seq continues above it at every start, whatever the journal holds.
//
// At start a torn tail (a last line without its newline: a write a crash cut) is
// dropped; a damaged record anywhere else is a hole, and every valid record after it is
// kept. Loop thread only; no CAF.
#pragma once

#include "persist/journal_ceiling.hpp"

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
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
    std::string dir;                  ///< var/lib/domus
    size_t capacity = 100000;         ///< events held (and answered by since())
    uint64_t ceiling_step = 1000;     ///< seqs reserved per durable ceiling write
    uint64_t flush_every = 1000;      ///< appends between flushes (a timer flushes too)
    uint64_t reserve_bytes = 1 << 20; ///< disk space kept allocated past the end
    std::string boot_id;              ///< this boot's id ("" reads the kernel's)
  };

  /// Opens the journal and reads what it holds. Throws protocol::error: config_error
  /// for a file that is a symbolic link, operation_failed when it cannot be opened.
  explicit event_journal(options o);
  ~event_journal();
  event_journal(const event_journal&) = delete;
  event_journal& operator=(const event_journal&) = delete;

  /// The seq the next event gets.
  uint64_t next_seq() const { return next_; }
  /// Records the event numbered next_seq() (its frame as published); seq advances
  /// either way. False when it could not be written: it must not be published, and its
  /// seq is part of a hole (since() answers resync across it).
  bool append(const std::string& topic, const std::string& frame);

  /// Whether changes may start: the journal holds its reserve. When it does not (the
  /// disk is full), this tries to renew it, and refusal() says why not.
  bool accepting_changes();
  const std::string& refusal() const { return refusal_; }

  /// Seqs handed out whose events are not held.
  struct hole {
    uint64_t from = 0, to = 0;
  };

  /// What events.since answers: a page, or a resync.
  struct page {
    std::vector<const std::string*> frames; ///< as published, oldest first
    uint64_t next = 0;                      ///< pass as `after` to continue
    uint64_t last = 0;                      ///< the newest seq handed out
    /// Set instead of frames when the event after `after` is not held: follow from
    /// here (the oldest held, or the first seq after a hole).
    std::optional<uint64_t> resync_from;
    std::optional<hole> lost; ///< the hole, when that is why
  };
  /// The events after `after` whose topic starts with `topic`, at most `limit` and at
  /// most `max_bytes` of frames (at least one event). A page stops before a hole.
  page since(uint64_t after, std::string_view topic, size_t limit,
             uint64_t max_bytes = UINT64_MAX) const;
  /// The oldest seq held or known lost (next_seq() when empty).
  uint64_t oldest() const;
  /// The holes known, oldest first.
  const std::deque<hole>& holes() const { return holes_; }
  /// What start-up found: records read, whether a torn tail was dropped.
  size_t loaded() const { return loaded_; }
  bool dropped_torn_tail() const { return torn_; }

  /// Makes what was appended durable (fdatasync on the journal's own thread), and, when
  /// changes are refused, tries to renew the reserve. Called once a second.
  void flush();

private:
  struct record {
    uint64_t seq;
    std::string topic, frame;
  };
  void load();
  void add_hole(uint64_t from, uint64_t to);
  bool renew_reserve();
  bool write_all(const std::string& bytes);
  bool reserve_ceiling(uint64_t seq);
  bool compact();
  void trim();

  options opts_;
  std::string path_;
  std::unique_ptr<journal_ceiling> ceiling_;
  int fd_ = -1;
  uint64_t size_ = 0;         ///< bytes of whole records in the file
  uint64_t reserved_end_ = 0; ///< allocated up to here
  bool can_reserve_ = true;   ///< the file system allocates ahead (fallocate)
  std::deque<record> held_;
  std::deque<hole> holes_;
  uint64_t next_ = 1;
  uint64_t ceiling_seq_ = 0;
  uint64_t open_hole_from_ = 0; ///< a hole not yet recorded in the file
  bool accepting_ = true;
  std::string refusal_;
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
