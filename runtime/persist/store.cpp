#include "persist/store.hpp"

#include <domus/protocol/errors.hpp>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <future>
#include <map>
#include <memory>
#include <set>
#include <sys/stat.h>
#include <unistd.h>

namespace domus::runtime {

namespace {

std::string dir_of(const std::string& path) {
  auto slash = path.rfind('/');
  return slash == std::string::npos ? "." : path.substr(0, slash);
}

std::string sys_error(const std::string& what, const std::string& path) {
  return what + " " + path + ": " + std::strerror(errno);
}

// Creates a temporary file that did not exist: a name left by a crash, or a link
// planted in its place, is removed first and never followed or written through.
int create_temp(const std::string& tmp) {
  const int flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
  int fd = ::open(tmp.c_str(), flags, 0600);
  if (fd < 0 && errno == EEXIST && ::unlink(tmp.c_str()) == 0)
    fd = ::open(tmp.c_str(), flags, 0600);
  return fd;
}

// Writes the temporary file; "" or what failed (the temporary file is removed then).
std::string write_temp(const std::string& tmp, const std::string& content,
                       bool sync_file = false) {
  int fd = create_temp(tmp);
  if (fd < 0)
    return sys_error("cannot create", tmp);
  size_t done = 0;
  while (done < content.size()) {
    ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      std::string why = sys_error("cannot write", tmp);
      ::close(fd);
      ::unlink(tmp.c_str());
      return why;
    }
    done += static_cast<size_t>(n);
  }
  if (sync_file && ::fdatasync(fd) != 0) {
    std::string why = sys_error("cannot sync", tmp);
    ::close(fd);
    ::unlink(tmp.c_str());
    return why;
  }
  if (::close(fd) != 0) {
    std::string why = sys_error("cannot write", tmp);
    ::unlink(tmp.c_str());
    return why;
  }
  return "";
}

// Moves the temporary file over `path` atomically: at every moment `path` holds the old
// content or the new. With `exchange` (a file written without a flush, such as a status
// file: current, not durable) it goes by exchange when `path` is a file, and the old
// content, now under the temporary name, is removed: a rename that replaces a file makes
// ext4 write the new file's data out at once (auto_da_alloc), a device write on every
// state change that such a file does not need (docs/benchmarks.md, the profile).
bool move_into_place(const std::string& tmp, const std::string& path, bool exchange) {
  struct stat target {};
  if (exchange && ::lstat(path.c_str(), &target) == 0 && S_ISREG(target.st_mode)) {
    if (::renameat2(AT_FDCWD, tmp.c_str(), AT_FDCWD, path.c_str(), RENAME_EXCHANGE) ==
        0) {
      ::unlink(tmp.c_str());
      return true;
    }
    if (errno != ENOENT && errno != EINVAL && errno != ENOSYS)
      return false; // (ENOENT: gone meanwhile; EINVAL: a file system without exchange)
  }
  return ::rename(tmp.c_str(), path.c_str()) == 0;
}

// Flushes what is on the file system of `dir` (syncfs), or the directory itself.
std::string flush(const std::string& dir, bool whole_fs) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return sys_error("cannot open", dir);
  int rc = whole_fs ? ::syncfs(fd) : ::fsync(fd);
  std::string why =
      rc == 0 ? "" : sys_error(whole_fs ? "cannot sync" : "cannot fsync", dir);
  ::close(fd);
  return why;
}

} // namespace

std::string store::temp_path(const std::string& path) {
  auto slash = path.rfind('/');
  if (slash == std::string::npos)
    return "." + path + ".tmp";
  return path.substr(0, slash + 1) + "." + path.substr(slash + 1) + ".tmp";
}

store::store() : thread_([this] { run(); }) {}

store::~store() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  thread_.join();
}

store::op store::make_op(change c, done_fn done) {
  return {c.k,
          std::move(c.path),
          std::move(c.content),
          c.k == kind::link || c.durable,
          std::move(done),
          ""};
}

void store::submit(op o) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    queue_.push_back(std::move(o));
  }
  wake_.notify_one();
}

// Queued under one lock: the store's thread takes the whole queue at once, so a batch
// is never split between two groups.
void store::submit(std::vector<op> ops) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto& o : ops)
      queue_.push_back(std::move(o));
  }
  wake_.notify_one();
}

void store::apply(change c, done_fn done) {
  submit(make_op(std::move(c), std::move(done)));
}

void store::submit_all(std::vector<change> changes, done_fn done) {
  if (changes.empty()) {
    if (done)
      done("");
    return;
  }
  // Each operation's completion runs on the store's thread, one after another: the
  // count needs no lock.
  struct pending {
    size_t left;
    std::string first_error;
    done_fn done;
  };
  auto p = std::make_shared<pending>(pending{changes.size(), "", std::move(done)});
  std::vector<op> ops;
  ops.reserve(changes.size());
  for (auto& c : changes)
    ops.push_back(make_op(std::move(c), [p](const std::string& e) {
      if (!e.empty() && p->first_error.empty())
        p->first_error = e;
      if (--p->left == 0 && p->done)
        p->done(p->first_error);
    }));
  submit(std::move(ops));
}

void store::commit_all(std::vector<change> changes) {
  std::promise<std::string> result;
  auto outcome = result.get_future();
  submit_all(std::move(changes),
             [&result](const std::string& e) { result.set_value(e); });
  if (std::string e = outcome.get(); !e.empty())
    throw protocol::error(protocol::errc::operation_failed, e);
}

store::counters store::stats() {
  std::lock_guard<std::mutex> lock(mutex_);
  return stats_;
}

void store::run() {
  while (true) {
    std::deque<op> batch;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty())
        return; // stopping, and everything submitted is done
      batch.swap(queue_);
      ++stats_.groups;
      stats_.operations += batch.size();
    }
    commit(batch);
    for (auto& o : batch)
      if (o.done)
        o.done(o.error);
  }
}

// One group: the last operation on each path wins (the earlier ones it supersedes
// report its outcome), temporary files first, one flush per file system, renames, one
// fsync per directory.
void store::commit(std::deque<op>& batch) {
  std::map<std::string, size_t> last; // path -> index of its last operation
  for (size_t i = 0; i < batch.size(); ++i)
    last[batch[i].path] = i;
  // A few files are cheaper to flush one by one; many, with one syncfs.
  size_t durable_writes = 0;
  for (auto& [path, i] : last)
    durable_writes += batch[i].k == kind::write && batch[i].durable;
  bool per_file = durable_writes <= 2;
  std::set<std::string> sync_fs, sync_dirs;
  for (auto& [path, i] : last) {
    op& o = batch[i];
    std::string tmp = temp_path(path);
    if (o.k == kind::write) {
      o.error = write_temp(tmp, o.content, per_file && o.durable);
    } else if (o.k == kind::link) {
      ::unlink(tmp.c_str());
      if (::symlink(o.content.c_str(), tmp.c_str()) != 0)
        o.error = sys_error("cannot create the link", tmp);
    }
    if (o.durable && o.error.empty()) {
      if (o.k == kind::write && !per_file)
        sync_fs.insert(dir_of(path));
      sync_dirs.insert(dir_of(path));
    }
  }
  std::map<std::string, std::string> fs_error;
  for (auto& dir : sync_fs)
    fs_error[dir] = flush(dir, true);
  for (auto& [path, i] : last) {
    op& o = batch[i];
    if (!o.error.empty())
      continue;
    if (auto it = fs_error.find(dir_of(path));
        it != fs_error.end() && !it->second.empty()) {
      o.error = it->second;
      ::unlink(temp_path(path).c_str());
      continue;
    }
    if (o.k == kind::remove) {
      if (::unlink(path.c_str()) != 0 && errno != ENOENT)
        o.error = sys_error("cannot remove", path);
    } else if (!move_into_place(temp_path(path), path,
                                o.k == kind::write && !o.durable)) {
      o.error = sys_error("cannot rename into", path);
      ::unlink(temp_path(path).c_str());
    }
  }
  std::map<std::string, std::string> dir_error;
  for (auto& dir : sync_dirs)
    dir_error[dir] = flush(dir, false);
  for (size_t i = 0; i < batch.size(); ++i) {
    op& o = batch[i];
    const op& final_op = batch[last[o.path]];
    o.error = final_op.error;
    if (o.error.empty() && final_op.durable)
      o.error = dir_error[dir_of(o.path)];
  }
}

void store::write_now(const std::string& path, const std::string& content, bool durable) {
  std::string tmp = temp_path(path);
  std::string why = write_temp(tmp, content, durable);
  if (why.empty() && ::rename(tmp.c_str(), path.c_str()) != 0)
    why = sys_error("cannot rename into", path);
  if (why.empty() && durable)
    why = flush(dir_of(path), false);
  if (!why.empty()) {
    ::unlink(tmp.c_str());
    throw protocol::error(protocol::errc::operation_failed, why);
  }
}

} // namespace domus::runtime
