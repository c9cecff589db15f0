// vol-upload and vol-download, as virsh has them: a volume's bytes to or from a local
// file over a stream (docs/protocol.md, "Volume transfers"), holes kept as holes with
// --sparse, a progress line on a terminal; and Domus's vol-jobinfo and vol-jobabort for
// the long-running jobs on a volume (transfers, creates and copies, wipes).
#include "command_table.hpp"
#include "progress_bar.hpp"
#include "shell.hpp"

#include <domus/driver_v1.h>
#include <domus/protocol/byte_stream.hpp>
#include <domus/protocol/flags.hpp>

#include <fcntl.h>
#include <malloc.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <iostream>
#include <stdexcept>

namespace domus::cli {

using protocol::json;
using protocol::proc;

namespace {

// How long one chunk may wait for the daemon's credit: the daemon's side waits for
// its disk, never for long; a daemon gone silent this long is given up on.
constexpr std::chrono::seconds chunk_wait{120};

struct fd_closer {
  int fd;
  ~fd_closer() {
    if (fd >= 0)
      ::close(fd);
  }
};

uint64_t byte_option(const parsed_command& pc, const char* name) {
  auto v = pc.value(name);
  if (!v)
    return 0;
  errno = 0;
  char* end = nullptr;
  unsigned long long n = std::strtoull(v->c_str(), &end, 10);
  if (v->empty() || (*v)[0] == '-' || *end != '\0' || errno == ERANGE)
    throw std::runtime_error("Numeric value '" + *v + "' for <" + name +
                             "> option is malformed or out of range");
  return n;
}

json transfer_args(const parsed_command& pc) {
  json args = {{"vol", *pc.value("vol")}};
  if (auto pool = pc.value("pool"))
    args["pool"] = *pool;
  if (uint64_t offset = byte_option(pc, "offset"))
    args["offset"] = offset;
  if (uint64_t length = byte_option(pc, "length"))
    args["length"] = length;
  if (pc.flag("sparse"))
    args["flags"] = DOMUS_VOL_TRANSFER_SPARSE;
  return args;
}

// Opens the stream; a refusal is printed as virsh prints it, the operation first.
json open_transfer(shell& sh, const char* proc_name, const json& args,
                   const std::string& what) {
  try {
    return sh.call(proc_name, args);
  } catch (const protocol::error&) {
    shell::error(what);
    throw;
  }
}

// Sends the file from `fd`: data as data, and with `sparse` its holes as holes.
void send_file(protocol::byte_stream& bs, int fd, uint64_t size, bool sparse,
               progress_bar& bar) {
  std::string buf(bs.chunk_bytes(), '\0');
  uint64_t at = 0;
  while (at < size) {
    if (sparse) {
      // ENXIO: a hole to the end; any other failure: read it as data.
      off_t data = ::lseek(fd, static_cast<off_t>(at), SEEK_DATA);
      uint64_t next = data >= 0        ? std::min<uint64_t>(size, data)
                      : errno == ENXIO ? size
                                       : at;
      if (next > at) {
        bs.write_hole(next - at, chunk_wait);
        at = next;
        bar.update(at);
        continue;
      }
    }
    uint64_t want = std::min<uint64_t>(buf.size(), size - at);
    if (sparse) {
      off_t hole = ::lseek(fd, static_cast<off_t>(at), SEEK_HOLE);
      if (hole > 0 && static_cast<uint64_t>(hole) > at)
        want = std::min<uint64_t>(want, static_cast<uint64_t>(hole) - at);
    }
    ssize_t n = ::pread(fd, &buf[0], want, static_cast<off_t>(at));
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      throw std::runtime_error(n == 0
                                   ? "the file ended before its size: it changed"
                                   : std::string("cannot read: ") + std::strerror(errno));
    bs.write(std::string_view(buf.data(), static_cast<size_t>(n)), chunk_wait);
    at += static_cast<uint64_t>(n);
    bar.update(at);
  }
}

// Writes `n` bytes at `at` (a file), or next (`at` ignored: a pipe or a device).
void write_out(int fd, bool seekable, const char* d, size_t n, uint64_t at) {
  while (n > 0) {
    ssize_t w = seekable ? ::pwrite(fd, d, n, static_cast<off_t>(at)) : ::write(fd, d, n);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0)
      throw std::runtime_error(std::string("cannot write: ") + std::strerror(errno));
    d += w;
    n -= static_cast<size_t>(w);
    at += static_cast<uint64_t>(w);
  }
}

// Writes what arrives into `fd` until the daemon's end; in a regular file holes are
// skipped (the file grows over them at the end), elsewhere (a pipe, /dev/null) they
// are written as zeros. Returns the bytes received.
uint64_t receive_file(protocol::byte_stream& bs, int fd, bool regular,
                      progress_bar& bar) {
  uint64_t at = 0;
  static const std::string zeros(1 << 16, '\0');
  for (;;) {
    std::optional<protocol::stream_piece> p;
    try {
      p = bs.read_piece(chunk_wait);
    } catch (const protocol::error&) {
      if (bs.ended())
        break;
      throw;
    }
    if (!p) {
      if (bs.ended())
        break;
      throw protocol::error(protocol::errc::timeout,
                            "the daemon sent nothing for " +
                                std::to_string(chunk_wait.count()) + " s");
    }
    if (p->hole && regular) {
      at += p->hole;
    } else if (p->hole) {
      for (uint64_t left = p->hole; left > 0;) {
        size_t n = static_cast<size_t>(std::min<uint64_t>(left, zeros.size()));
        write_out(fd, false, zeros.data(), n, 0);
        left -= n;
      }
      at += p->hole;
    } else {
      write_out(fd, regular, p->data.data(), p->data.size(), at);
      at += p->data.size();
    }
    bar.update(at);
  }
  return at;
}

// A transfer moves gigabytes in 256 KiB messages that ZeroMQ allocates on its I/O
// thread and domsh frees on its own: glibc's default thresholds would hand that memory
// back to the kernel and fault it in again chunk after chunk, halving the rate
// (docs/protocol.md, "Throughput"). domsh holds its allocator still for it.
void hold_allocator_still() {
  mallopt(M_MMAP_THRESHOLD, 4 << 20);
  mallopt(M_TRIM_THRESHOLD, 64 << 20);
}

} // namespace

bool cmd_vol_jobinfo(shell& sh, const parsed_command& pc) {
  json jobs =
      sh.call("vol.jobinfo", {{"pool", *pc.value("pool")}, {"vol", *pc.value("vol")}})
          .value("jobs", json::array());
  if (jobs.empty()) {
    std::cout << "Job type:         None\n";
    return true;
  }
  for (const auto& j : jobs) {
    uint64_t done = j.value("processed", uint64_t{0}),
             total = j.value("total", uint64_t{0});
    std::cout << "Job:              " << j.value("proc", "") << "\n"
              << "Time elapsed:     " << j.value("elapsed_ms", uint64_t{0}) << " ms\n"
              << "Data processed:   " << done << " bytes\n";
    if (total)
      std::cout << "Data total:       " << total << " bytes\n"
                << "Data remaining:   " << (total > done ? total - done : 0)
                << " bytes\n";
  }
  return true;
}

bool cmd_vol_jobabort(shell& sh, const parsed_command& pc) {
  sh.call("vol.jobabort", {{"pool", *pc.value("pool")}, {"vol", *pc.value("vol")}});
  return true;
}

bool cmd_vol_upload(shell& sh, const parsed_command& pc) {
  std::string file = *pc.value("file");
  std::string vol = *pc.value("vol");
  json args = transfer_args(pc);
  int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    throw std::runtime_error("cannot read " + file + ": " + std::strerror(errno));
  fd_closer g{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
    throw std::runtime_error("cannot read " + file + ": not a regular file");
  uint64_t size = static_cast<uint64_t>(st.st_size);
  if (uint64_t length = byte_option(pc, "length"))
    size = std::min(size, length);
  hold_allocator_still();
  json opened = open_transfer(sh, "vol.upload", args, "cannot upload to volume " + vol);
  protocol::byte_stream bs(sh.connection(), opened);
  progress_bar bar("Uploading", size);
  try {
    send_file(bs, fd, size, pc.flag("sparse") && opened.value("holes", false), bar);
    bs.finish(std::chrono::duration_cast<std::chrono::milliseconds>(request_timeout));
  } catch (const protocol::error& e) {
    bs.abort(e.what()); // (nothing when the daemon ended it)
    bar.finish();
    shell::error("cannot upload to volume " + vol);
    throw;
  } catch (const std::exception& e) {
    bs.abort(e.what());
    bar.finish();
    throw std::runtime_error("cannot upload to volume " + vol + " from " + file + ": " +
                             e.what());
  }
  bar.finish();
  return true;
}

bool cmd_vol_download(shell& sh, const parsed_command& pc) {
  std::string file = *pc.value("file");
  std::string vol = *pc.value("vol");
  json args = transfer_args(pc);
  // virsh's way: a new file, else an existing one truncated; a file this command made
  // is removed again when the download fails.
  bool created = true;
  int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
  if (fd < 0 && errno == EEXIST) {
    created = false;
    fd = ::open(file.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC);
  }
  if (fd < 0)
    throw std::runtime_error("cannot create " + file + ": " + std::strerror(errno));
  fd_closer g{fd};
  auto undo = [&] {
    if (created)
      ::unlink(file.c_str());
  };
  json info;
  uint64_t total = 0;
  try {
    json which = {{"vol", vol}};
    if (args.contains("pool"))
      which["pool"] = args["pool"];
    info = sh.call("vol.info", which);
  } catch (const protocol::error&) {
  }
  // The bytes to come: a raw volume's capacity (another format's file is smaller than
  // what it holds: not known then).
  if (info.is_object() && info.value("format", "raw") == "raw") {
    uint64_t cap = info.value("capacity", uint64_t{0});
    uint64_t offset = args.value("offset", uint64_t{0});
    total = cap > offset ? cap - offset : 0;
    if (uint64_t length = args.value("length", uint64_t{0}))
      total = std::min(total, length);
  }
  hold_allocator_still();
  json opened;
  try {
    opened =
        open_transfer(sh, "vol.download", args, "cannot download from volume " + vol);
  } catch (...) {
    undo();
    throw;
  }
  protocol::byte_stream bs(sh.connection(), opened);
  progress_bar bar("Downloading", total);
  try {
    struct stat st {};
    bool regular = ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
    uint64_t got = receive_file(bs, fd, regular, bar);
    if (regular && (::ftruncate(fd, static_cast<off_t>(got)) != 0 || ::fsync(fd) != 0))
      throw std::runtime_error(std::string("cannot write: ") + std::strerror(errno));
  } catch (const protocol::error& e) {
    bs.abort(e.what()); // (nothing when the daemon ended it)
    bar.finish();
    undo();
    shell::error("cannot download from volume " + vol);
    throw;
  } catch (const std::exception& e) {
    bs.abort(e.what());
    bar.finish();
    undo();
    throw std::runtime_error("cannot download from volume " + vol + " into " + file +
                             ": " + e.what());
  }
  bar.finish();
  return true;
}

} // namespace domus::cli
