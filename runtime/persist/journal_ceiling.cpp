#include "persist/journal_ceiling.hpp"

#include "persist/record_hash.hpp"
#include "persist/store.hpp"

#include <domus/protocol/errors.hpp>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <sstream>
#include <sys/stat.h>
#include <unistd.h>

namespace domus::runtime {

namespace {

// "C GEN SEQ BOOT HOLE HASH", spaces to the slot's size, a newline last. GEN counts
// writes: the slot written last wins (a clean stop lowers the seq to the last one
// handed out).
std::string slot_text(uint64_t gen, const journal_ceiling::value& v) {
  std::string body = "C " + std::to_string(gen) + " " + std::to_string(v.seq) + " " +
                     (v.boot.empty() ? std::string("-") : v.boot) + " " +
                     std::to_string(v.hole_from);
  body += " " + record_hash(body);
  body.resize(journal_ceiling::slot_bytes - 1, ' ');
  return body + "\n";
}

bool parse_slot(const std::string& text, uint64_t& gen, journal_ceiling::value& v) {
  std::istringstream in(text);
  std::string tag, boot, hash;
  uint64_t seq = 0, hole = 0;
  if (!(in >> tag >> gen >> seq >> boot >> hole >> hash) || tag != "C")
    return false;
  std::string body = "C " + std::to_string(gen) + " " + std::to_string(seq) + " " + boot +
                     " " + std::to_string(hole);
  if (hash != record_hash(body))
    return false;
  v.seq = seq;
  v.boot = boot == "-" ? "" : boot;
  v.hole_from = hole;
  return true;
}

} // namespace

journal_ceiling::journal_ceiling(std::string path) : path_(std::move(path)) {
  fd_ = ::open(path_.c_str(), O_RDWR | O_NOFOLLOW | O_CLOEXEC);
  if (fd_ < 0 && errno == ELOOP)
    throw protocol::error(protocol::errc::config_error,
                          "the journal's ceiling " + path_ +
                              " is a symbolic link; refusing to write through it (remove "
                              "the link)");
  std::string text;
  if (fd_ >= 0) {
    char buf[2 * slot_bytes];
    ssize_t n = ::pread(fd_, buf, sizeof buf, 0);
    text.assign(buf, n > 0 ? static_cast<size_t>(n) : 0);
  }
  bool slotted = text.size() == 2 * slot_bytes;
  if (slotted) {
    value a, b;
    uint64_t gen_a = 0, gen_b = 0;
    bool ok_a = parse_slot(text.substr(0, slot_bytes), gen_a, a);
    bool ok_b = parse_slot(text.substr(slot_bytes), gen_b, b);
    if (ok_a && (!ok_b || gen_a >= gen_b)) {
      last_ = a;
      gen_ = gen_a;
      next_slot_ = 1;
    } else if (ok_b) {
      last_ = b;
      gen_ = gen_b;
      next_slot_ = 0;
    }
    return;
  }
  // Absent, or the one-line format of earlier versions ("SEQ BOOT"): read what it says,
  // and make the slotted file (one allocation now, none later).
  std::istringstream legacy(text);
  legacy >> last_.seq >> last_.boot;
  if (fd_ >= 0)
    ::close(fd_);
  store::write_now(path_, slot_text(1, last_) + slot_text(0, last_), true);
  gen_ = 1;
  next_slot_ = 1;
  fd_ = ::open(path_.c_str(), O_RDWR | O_NOFOLLOW | O_CLOEXEC);
  if (fd_ < 0)
    throw protocol::error(protocol::errc::operation_failed,
                          "cannot open " + path_ + ": " + std::strerror(errno));
}

journal_ceiling::~journal_ceiling() {
  if (fd_ >= 0)
    ::close(fd_);
}

std::string journal_ceiling::write(const value& v) {
  std::string text = slot_text(gen_ + 1, v);
  off_t at = static_cast<off_t>(next_slot_ * slot_bytes);
  if (::pwrite(fd_, text.data(), text.size(), at) != static_cast<ssize_t>(text.size()))
    return "cannot write " + path_ + ": " + std::strerror(errno);
  if (::fdatasync(fd_) != 0)
    return "cannot flush " + path_ + ": " + std::strerror(errno);
  next_slot_ = 1 - next_slot_;
  ++gen_;
  last_ = v;
  return "";
}

} // namespace domus::runtime
