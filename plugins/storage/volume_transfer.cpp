// Volume upload and download for `dir` pools (plugin ABI 1.3): the bytes travel on a
// stream between the client and the loop thread, and the file work runs as blocking
// work in batches, so that the loop never waits for the disk and neither side holds more
// than a bounded queue. An upload writes a file of its own beside the volume and renames
// it over the volume once complete and flushed: an upload that fails or is aborted
// leaves the volume as it was. A download notices a volume that changed under it.
//
// Each transfer is a small state machine on the loop thread (its `step`); the worker
// only runs `work` on what the loop handed it and leaves its outcome for `worked`.
#include "volume_transfer.hpp"

#include "pool_volumes.hpp"
#include "storage_state.hpp"

#include "pool_dir.hpp"
#include "volume_files.hpp"

#include <fcntl.h>
#include <linux/falloc.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <deque>
#include <mutex>
#include <string>
#include <vector>

namespace domus::storage_driver {

namespace {

// What the loop queues for the worker, or the worker for the loop: data, or a hole.
struct piece {
  std::string data;
  uint64_t hole = 0;
  uint64_t size() const { return data.empty() ? hole : data.size(); }
};

// The most a transfer holds in its queue before it stops taking (an upload pauses its
// stream) or reading (a download): 16 chunks, 4 MiB.
constexpr size_t queue_bound = 16 * DOMUS_STREAM_CHUNK_BYTES;

std::string vol_label(const domus_pool& p, const std::string& name) {
  return "volume '" + name + "' of " + pool_label(p);
}

// The call that starts a transfer.
struct transfer_call {
  domus_instance* inst;
  domus_pool* pool;
  domus_vol* vol;
  domus_stream* stream;
  domus_job* job;
  domus_complete_fn done;
  void* user;
  uint64_t offset, length; // length 0: unbounded
  uint32_t flags;
};

// What both directions share: the call, its stream and job, the batch in the worker.
struct transfer {
  explicit transfer(const transfer_call& c)
      : inst(c.inst), pool(c.pool), vol(c.vol), name(c.vol->name), stream(c.stream),
        job(c.job), done(c.done), user(c.user), offset(c.offset), length(c.length),
        sparse((c.flags & DOMUS_VOL_TRANSFER_SPARSE) != 0) {}
  transfer(const transfer&) = delete;
  transfer& operator=(const transfer&) = delete;

  domus_instance* inst;
  domus_pool* pool;
  domus_vol* vol;
  std::string name; // the volume's, for messages
  domus_stream* stream;
  domus_job* job;
  domus_complete_fn done;
  void* user;
  uint64_t offset, length; // length 0: unbounded
  bool sparse;

  int fd = -1;
  bool ready = false;       // the file is open (setup ran)
  bool working = false;     // a batch is in the worker
  bool stream_over = false; // no stream call may follow (on_end, or our finish)
  bool completed = false;
  bool has_error = false;
  errc code = errc::internal; // the first failure, with its message
  std::string message;
  uint64_t moved = 0; // bytes through the stream so far (holes included)

  std::deque<piece> queue;  // the loop's side
  size_t queued = 0;        // bytes of data in it
  std::vector<piece> batch; // the worker's side while `working`
  bool batch_failed = false;
  errc batch_code = errc::internal;
  std::string batch_message;

  const domus_host_v1& host() const { return *inst->host; }
  bool failed() const { return has_error; }
  void fail(errc c, const std::string& m) {
    if (!has_error) {
      has_error = true;
      code = c;
      message = m;
    }
  }
  void progress(uint64_t total) {
    domus_job_progress_v1 p{sizeof p, moved, std::max(total, moved)};
    if (total == 0)
      p.total = 0;
    host().job_progress(host().ctx, job, &p);
  }
  // The stream ended from the client's side, or the daemon's, before the transfer did.
  void stream_ended(int32_t status, const char* why) {
    stream_over = true;
    fail(status == DOMUS_OK ? errc::aborted
                            : errc_from_number(status).value_or(errc::aborted),
         title() + " ended before it completed" +
             (why && *why ? std::string(": ") + why : std::string()));
  }
  // "the upload to volume 'a' of storage pool 'b'"
  virtual std::string title() const = 0;
  // What to do next (loop thread).
  virtual void step() = 0;
  // The runtime aborted it (vol.jobabort, a deadline): loop thread.
  static void abort_requested(void* arg) {
    auto* t = static_cast<transfer*>(arg);
    t->fail(errc::aborted, t->title() + " was aborted");
    t->step();
  }
  virtual ~transfer() {
    if (fd >= 0)
      ::close(fd);
  }

  // Restarts the job's deadline from a worker, before file work that moves no byte of
  // the stream (a copy of the volume, a flush): nothing else of the job is read there.
  void still_working() {
    domus_job_progress_v1 p{sizeof p, 0, 0};
    host().job_progress(host().ctx, job, &p);
  }

  // Ends the stream from this side (once; loop thread).
  void finish_stream() {
    if (stream_over)
      return;
    stream_over = true;
    host().stream_finish(host().ctx, stream, failed() ? static_cast<int32_t>(code) : 0,
                         failed() ? message.c_str() : nullptr);
  }
};

// The stream's on_end, for either direction.
template <class T> void on_stream_end(void* arg, int32_t status, const char* message) {
  auto* t = static_cast<T*>(arg);
  t->stream_ended(status, message);
  t->step();
}

// Runs one batch of file work as blocking work; `worked` follows on the loop thread.
// False when it was refused (the failure is noted). Once it is queued, `t` belongs to
// the loop thread: the caller touches it no more.
template <class T> bool queue_batch(T* t) {
  t->working = true;
  auto work = [](void* arg) {
    auto* x = static_cast<T*>(arg);
    try {
      x->work();
    } catch (const error& e) {
      x->batch_failed = true;
      x->batch_code = e.code();
      x->batch_message = e.what();
    } catch (const std::exception& e) {
      x->batch_failed = true;
      x->batch_code = errc::operation_failed;
      x->batch_message = e.what();
    }
  };
  auto worked = [](void* arg, int32_t status) {
    auto* x = static_cast<T*>(arg);
    x->working = false;
    if (status != 0)
      x->fail(errc::shutting_down, "the transfer was cancelled: the daemon stops");
    else if (x->batch_failed)
      x->fail(x->batch_code, x->batch_message);
    x->batch_failed = false;
    x->worked();
    x->step();
  };
  if (t->host().queue_work(t->host().ctx, work, worked, t))
    return true;
  t->working = false;
  t->fail(errc::limit_exceeded, "the transfer's file work was refused: too much "
                                "blocking work of " +
                                    t->inst->uri + "'s storage waits");
  return false;
}

// Completes the call once nothing is out: no batch in the worker, the stream over.
template <class T> bool wind_up(T* t) {
  if (t->working || !t->stream_over)
    return false;
  if (!t->completed) {
    t->completed = true;
    unregister_job(t->inst, t->user); // before the completion
    t->complete();
  }
  delete t;
  return true;
}

// -- upload
// ------------------------------------------------------------------------------

struct upload : transfer {
  using transfer::transfer;
  std::string title() const override { return "the upload to " + vol_label(*pool, name); }
  std::string temp;      // the upload file's name in the pool directory
  uint64_t old_size = 0; // the volume's file's size before
  uint64_t at = 0;       // where the next byte goes in the upload file
  uint64_t end = 0;      // the upload file's size once complete
  bool whole = false;    // replaces all the content (offset 0, no length)
  bool eof = false;      // the client sent its end
  bool paused = false;
  bool committing = false, committed = false;

  // Worker: setup, a batch of writes, or the commit.
  void work() {
    if (!ready)
      return setup();
    if (committing)
      return commit();
    for (piece& p : batch) {
      if (p.hole) {
        // A hole in a copy of the volume must read as zeros: punched, not skipped.
        if (!whole && at < end) {
          uint64_t n = std::min(p.hole, end - at);
          if (::fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                          static_cast<off_t>(at), static_cast<off_t>(n)) != 0)
            write_zeros(at, n);
        }
        at += p.hole;
      } else {
        write_all(p.data.data(), p.data.size());
      }
      end = std::max(end, at);
    }
    batch.clear();
  }

  void setup() {
    fd = dir_backend::create_upload_file(pool->dirfd, name, temp);
    int in = dir_backend::open_beneath(pool->dirfd, name, O_RDONLY | O_NONBLOCK, false);
    if (in < 0)
      throw error(errc::operation_failed,
                  vol_label(*pool, name) + " cannot be opened: " + std::strerror(errno));
    dir_backend::fd_guard g{in};
    struct stat st {};
    if (::fstat(in, &st) != 0 || !S_ISREG(st.st_mode))
      throw error(errc::operation_failed, vol_label(*pool, name) + " is not a file");
    old_size = static_cast<uint64_t>(st.st_size);
    // A part of the content changes: the rest is the volume's, copied first (holes
    // kept), so that the volume changes all at once at the end.
    if (!whole) {
      still_working();
      dir_backend::copy_data(in, fd, old_size, old_size, name);
      end = old_size;
    }
    at = offset;
  }

  void write_all(const char* data, size_t n) {
    while (n > 0) {
      ssize_t w = ::pwrite(fd, data, n, static_cast<off_t>(at));
      if (w < 0 && errno == EINTR)
        continue;
      if (w <= 0)
        throw error(errc::operation_failed, "cannot write " + vol_label(*pool, name) +
                                                ": " +
                                                std::strerror(w < 0 ? errno : EIO));
      data += w;
      n -= static_cast<size_t>(w);
      at += static_cast<uint64_t>(w);
    }
  }

  void write_zeros(uint64_t from, uint64_t n) {
    static const std::string zeros(1 << 16, '\0');
    uint64_t keep = at;
    at = from;
    while (n > 0) {
      size_t k = static_cast<size_t>(std::min<uint64_t>(n, zeros.size()));
      write_all(zeros.data(), k);
      n -= k;
    }
    at = keep;
  }

  // The volume becomes the upload file: at least its old size (an image smaller than
  // the volume leaves zeros after it, never the old content), flushed, renamed over it.
  void commit() {
    uint64_t size = std::max(end, old_size);
    still_working();
    dir_backend::commit_upload(pool->dirfd, fd, temp, name, size);
    committed = true;
    read_volume(*pool, *vol);
  }

  void worked() {
    if (ready || failed())
      return;
    ready = true;
  }

  // Loop thread: what to do next.
  void step() override {
    if (failed() || (stream_over && !eof))
      return stop();
    if (!ready || working)
      return;
    if (!queue.empty()) {
      batch.assign(std::make_move_iterator(queue.begin()),
                   std::make_move_iterator(queue.end()));
      queue.clear();
      queued = 0;
      if (paused) {
        paused = false;
        host().stream_pause(host().ctx, stream, 0);
      }
      progress(length);
      if (!queue_batch(this))
        stop();
      return;
    }
    if (eof && !committing) {
      committing = true;
      if (!queue_batch(this))
        stop();
      return;
    }
    if (committed) {
      finish_stream(); // the client hears its end once the content is durable
      wind_up(this);
    }
  }

  // A failure or an abort: the stream ends, the upload file goes, the call completes.
  void stop() {
    if (working)
      return;
    finish_stream();
    if (!temp.empty() && !committed) {
      ::unlinkat(pool->dirfd, temp.c_str(), 0);
      temp.clear();
    }
    wind_up(this);
  }

  // Once renamed, the upload is the volume's content, whatever happened after (an
  // abort that came during the commit): it completes with the volume.
  void complete() {
    if (failed() && !committed)
      return storage_driver::fail(done, user, code, message);
    storage_driver::complete(pool, done, user, volumes::one, vol);
  }

  // Stream callbacks (loop thread).
  void take(piece p) {
    if (stream_over || failed())
      return;
    uint64_t n = p.size();
    // No file is larger than off_t can say: a client's holes never wrap the offset.
    constexpr uint64_t largest = static_cast<uint64_t>(INT64_MAX);
    if (offset > largest || moved > largest - offset || n > largest - offset - moved) {
      fail(errc::invalid_argument, title() + " goes past the largest file size");
      return step();
    }
    if (length && (moved > length || n > length - moved)) {
      fail(errc::invalid_argument, "the upload to " + vol_label(*pool, name) +
                                       " sent more than its length (" +
                                       std::to_string(length) + " bytes)");
      return step();
    }
    moved += n;
    queued += p.data.size();
    queue.push_back(std::move(p));
    if (queued >= queue_bound && !paused) {
      paused = true;
      host().stream_pause(host().ctx, stream, 1);
    }
    step();
  }
  static void on_data(void* arg, const void* data, size_t len) {
    static_cast<upload*>(arg)->take(
        {std::string(static_cast<const char*>(data), len), 0});
  }
  static void on_hole(void* arg, uint64_t bytes) {
    static_cast<upload*>(arg)->take({std::string(), bytes});
  }
  static void on_eof(void* arg) {
    auto* u = static_cast<upload*>(arg);
    u->eof = true;
    u->step();
  }
};

// -- download
// ----------------------------------------------------------------------------

struct download : transfer {
  using transfer::transfer;
  std::string title() const override {
    return "the download of " + vol_label(*pool, name);
  }
  uint64_t at = 0, end = 0; // the file's range still to read
  struct stat before {};
  bool read_all = false;
  bool waiting = false; // stream_send said -EAGAIN: on_writable follows
  // Chunks sent, kept for the next reads: no allocation (nor zero fill) per chunk, and
  // none that crosses from the worker to the loop and back. Both threads use it.
  std::mutex spare_mutex;
  std::vector<std::string> spare;
  std::string take_spare() {
    std::lock_guard<std::mutex> lock(spare_mutex);
    if (spare.empty())
      return {};
    std::string s = std::move(spare.back());
    spare.pop_back();
    return s;
  }
  void give_spare(std::string&& s) {
    std::lock_guard<std::mutex> lock(spare_mutex);
    if (spare.size() < 2 * queue_bound / DOMUS_STREAM_CHUNK_BYTES)
      spare.push_back(std::move(s));
  }

  void work() {
    if (!ready)
      return setup();
    size_t bytes = 0;
    while (at < end && bytes < queue_bound / 2) {
      piece p;
      uint64_t want = std::min<uint64_t>(end - at, DOMUS_STREAM_CHUNK_BYTES);
      if (sparse) {
        // ENXIO: nothing but a hole to the end. Any other failure: read it as data.
        off_t data = ::lseek(fd, static_cast<off_t>(at), SEEK_DATA);
        uint64_t next = data >= 0 ? std::min<uint64_t>(end, static_cast<uint64_t>(data))
                        : errno == ENXIO ? end
                                         : at;
        if (next > at) {
          p.hole = next - at;
          at = next;
          batch.push_back(std::move(p));
          continue;
        }
        // (A hole that appeared since, at `at` itself: read as data all the same.)
        off_t hole = ::lseek(fd, static_cast<off_t>(at), SEEK_HOLE);
        if (hole > 0 && static_cast<uint64_t>(hole) > at)
          want = std::min<uint64_t>(want, static_cast<uint64_t>(hole) - at);
      }
      p.data = take_spare();
      p.data.resize(static_cast<size_t>(want)); // (a spare one shrinks: nothing filled)
      size_t got = 0;
      while (got < want) {
        ssize_t n = ::pread(fd, &p.data[got], want - got, static_cast<off_t>(at + got));
        if (n < 0 && errno == EINTR)
          continue;
        if (n < 0)
          throw error(errc::operation_failed, "cannot read " + vol_label(*pool, name) +
                                                  ": " + std::strerror(errno));
        if (n == 0)
          throw error(errc::operation_failed, vol_label(*pool, name) +
                                                  " changed while it was downloaded: it "
                                                  "ended before its size");
        got += static_cast<size_t>(n);
      }
      at += want;
      bytes += want;
      batch.push_back(std::move(p));
    }
    if (at >= end) {
      read_all = true;
      struct stat now {};
      if (::fstat(fd, &now) != 0 || now.st_size != before.st_size ||
          now.st_mtim.tv_sec != before.st_mtim.tv_sec ||
          now.st_mtim.tv_nsec != before.st_mtim.tv_nsec)
        throw error(errc::operation_failed,
                    vol_label(*pool, name) + " changed while it was downloaded");
    }
  }

  void setup() {
    // A link is read only when its target lies inside the pool (EXDEV otherwise).
    fd = dir_backend::open_beneath(pool->dirfd, name, O_RDONLY | O_NONBLOCK, true);
    if (fd < 0)
      throw error(errc::operation_failed,
                  vol_label(*pool, name) + " cannot be read" +
                      (errno == EXDEV ? std::string(": it is a link out of its pool")
                                      : ": " + std::string(std::strerror(errno))));
    if (::fstat(fd, &before) != 0 || !S_ISREG(before.st_mode))
      throw error(errc::operation_failed, vol_label(*pool, name) + " is not a file");
    uint64_t size = static_cast<uint64_t>(before.st_size);
    if (offset > size)
      throw error(errc::invalid_argument,
                  vol_label(*pool, name) + ": offset " + std::to_string(offset) +
                      " lies past its end (" + std::to_string(size) + " bytes)");
    at = offset;
    end = length ? std::min(size, offset + std::min(length, size - offset)) : size;
  }

  void worked() {
    if (!ready && !failed()) {
      ready = true;
      return;
    }
    for (piece& p : batch) {
      queued += p.data.size() + (p.hole ? 1 : 0);
      queue.push_back(std::move(p));
    }
    batch.clear();
  }

  void step() override {
    if (failed())
      return stop();
    if (stream_over)
      return stop();
    if (!ready)
      return;
    uint64_t was = moved;
    while (!queue.empty() && !waiting) {
      piece& p = queue.front();
      int32_t rc =
          p.hole ? host().stream_send_hole(host().ctx, stream, p.hole)
                 : host().stream_send(host().ctx, stream, p.data.data(), p.data.size());
      if (rc == -EAGAIN) {
        waiting = true;
        break;
      }
      if (rc == -EPIPE) {
        stream_over = true; // the client went away: no on_end follows
        fail(errc::aborted, title() + " ended before it completed: the client went away");
        return stop();
      }
      if (rc != 0) {
        fail(errc::internal,
             title() + ": the stream refused a piece (" + std::to_string(rc) + ")");
        return stop();
      }
      moved += p.size();
      queued -= p.data.size() + (p.hole ? 1 : 0);
      if (!p.data.empty())
        give_spare(std::move(p.data));
      queue.pop_front();
    }
    if (moved != was)
      progress(end - offset);
    // (`read_all` is the worker's while a batch runs: `working` is tested first.)
    if (!working && !read_all && queued < queue_bound / 2) {
      if (!queue_batch(this))
        stop();
      return;
    }
    if (!working && read_all && queue.empty()) {
      finish_stream();
      wind_up(this);
    }
  }

  void stop() {
    if (working)
      return;
    finish_stream();
    wind_up(this);
  }

  void complete() {
    if (failed())
      return storage_driver::fail(done, user, code, message);
    storage_driver::complete(pool, done, user);
  }

  static void on_data(void* arg, const void*, size_t) {
    auto* d = static_cast<download*>(arg);
    d->fail(errc::bad_request, "a download's client sends no data");
    d->step();
  }
  static void on_writable(void* arg) {
    auto* d = static_cast<download*>(arg);
    d->waiting = false;
    d->step();
  }
};

// A volume an upload may write: a file of the pool's own.
void check_uploadable(const domus_pool& p, const domus_vol& v) {
  if (v.symlink)
    throw error(errc::invalid_operation,
                vol_label(p, v.name) +
                    " is a symbolic link, listed read-only: it cannot be uploaded to");
  if (v.type != DOMUS_VOL_FILE)
    throw error(errc::unsupported,
                vol_label(p, v.name) + " is a directory: it cannot be uploaded to");
}

template <class T> void begin(T* t, domus_stream_cbs_v1 cbs) {
  const domus_host_v1& h = t->host();
  if (h.stream_attach(h.ctx, t->stream, &cbs, t) != 0) {
    std::unique_ptr<T> gone(t);
    throw error(errc::internal, "cannot attach the stream of the transfer of " +
                                    vol_label(*t->pool, t->name));
  }
  // Attached: from here on the stream ends through the state machine only. Setup
  // runs first; its end (`worked`, then `step`) runs on the loop thread.
  register_job(t->inst, t->user, t, transfer::abort_requested);
  if (!queue_batch(t)) {
    unregister_job(t->inst, t->user);
    // Refused: finished now, before the stream is the client's (it never opens).
    h.stream_finish(h.ctx, t->stream, static_cast<int32_t>(t->code), t->message.c_str());
    errc code = t->code;
    std::string message = t->message;
    delete t;
    throw error(code, message);
  }
}

void vol_upload(domus_instance* inst, domus_pool* p, domus_vol* v, uint64_t offset,
                uint64_t length, uint32_t flags, domus_stream* stream, domus_job* job,
                domus_complete_fn done, void* user) {
  guarded(done, user, [&] {
    check_uploadable(*p, *v);
    if (flags & ~DOMUS_VOL_TRANSFER_SPARSE)
      throw error(errc::unsupported, "volume upload flags other than sparse");
    auto* u = new upload({inst, p, v, stream, job, done, user, offset, length, flags});
    u->whole = offset == 0 && length == 0;
    domus_stream_cbs_v1 cbs{};
    cbs.struct_size = sizeof cbs;
    cbs.on_data = upload::on_data;
    cbs.on_end = on_stream_end<upload>;
    cbs.on_hole = upload::on_hole;
    cbs.on_eof = upload::on_eof;
    begin(u, cbs);
  });
}

void vol_download(domus_instance* inst, domus_pool* p, domus_vol* v, uint64_t offset,
                  uint64_t length, uint32_t flags, domus_stream* stream, domus_job* job,
                  domus_complete_fn done, void* user) {
  guarded(done, user, [&] {
    if (v->type != DOMUS_VOL_FILE)
      throw error(errc::unsupported,
                  vol_label(*p, v->name) + " is a directory: it cannot be downloaded");
    if (flags & ~DOMUS_VOL_TRANSFER_SPARSE)
      throw error(errc::unsupported, "volume download flags other than sparse");
    auto* d = new download({inst, p, v, stream, job, done, user, offset, length, flags});
    domus_stream_cbs_v1 cbs{};
    cbs.struct_size = sizeof cbs;
    cbs.on_data = download::on_data;
    cbs.on_writable = download::on_writable;
    cbs.on_end = on_stream_end<download>;
    begin(d, cbs);
  });
}

} // namespace

const transfer_ops& transfers() {
  static const transfer_ops ops{vol_upload, vol_download};
  return ops;
}

} // namespace domus::storage_driver
