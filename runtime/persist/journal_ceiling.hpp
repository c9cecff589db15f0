// The journal's ceiling (var/lib/domus/events.ceiling): a seq no event has passed,
// reserved ahead durably, with the boot it was written in and the first seq of a hole
// the journal could not record yet. The file has two fixed slots, written alternately in
// place and flushed: raising the ceiling never needs disk space (a full disk cannot stop
// it), and a write torn by a crash leaves the other slot. Loop thread only; no CAF.
#pragma once

#include <cstdint>
#include <string>

namespace domus::runtime {

class journal_ceiling {
public:
  /// What the file holds.
  struct value {
    uint64_t seq = 0;       ///< no seq above this was handed out
    std::string boot;       ///< the kernel boot id when it was written
    uint64_t hole_from = 0; ///< 0, or the first seq of a hole not in the journal yet
  };

  /// Opens (never through a link: protocol::error(config_error)) or creates the file;
  /// one in the earlier one-line format ("SEQ BOOT") is read, then rewritten in slots.
  /// Throws protocol::error(operation_failed) when it cannot be created.
  explicit journal_ceiling(std::string path);
  ~journal_ceiling();
  journal_ceiling(const journal_ceiling&) = delete;
  journal_ceiling& operator=(const journal_ceiling&) = delete;

  /// What was read at open (the newest valid slot).
  const value& read() const { return last_; }
  /// Writes `v` in the older slot and flushes it; "" or what failed.
  std::string write(const value& v);

  static constexpr size_t slot_bytes = 128;

private:
  std::string path_;
  int fd_ = -1;
  int next_slot_ = 0;
  uint64_t gen_ = 0; ///< of the slot written last
  value last_;
};

} // namespace domus::runtime
