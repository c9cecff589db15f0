// The store: every file the runtime writes goes through one thread that commits
// concurrent writes in groups. A durable write is a temporary file in the same directory,
// a flush (fdatasync of the file when the group holds one or two, one syncfs for the
// whole group when it holds more), rename, and one fsync per directory touched: what is
// acknowledged survives a power loss, and a group of N definitions costs one flush, not
// N. A volatile write (status of active domains) is the same without the flushes: it
// survives SIGKILL, not a power loss. No CAF here.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace domus::runtime {

class store {
public:
  /// Runs on the store's thread when the operation is done: "" or what failed.
  using done_fn = std::function<void(const std::string& error)>;

  store();
  /// Finishes what was submitted, then stops the thread.
  ~store();
  store(const store&) = delete;
  store& operator=(const store&) = delete;

  /// One change of a file: write replaces `path` with `content` atomically, remove
  /// removes it (absent is fine), link makes it a symbolic link to `content` (autostart
  /// links).
  struct change {
    enum kind { write, remove, link } k;
    std::string path;
    std::string content; ///< what to write; the target for links
    bool durable = true; ///< links are always durable
  };
  /// Submits one change; `done` runs on the store's thread with "" or what failed.
  void apply(change c, done_fn done);
  /// Submits `changes` at once: they commit in one group, never split (one flush per
  /// file system, one fsync per directory, whatever their number). `done` runs once on
  /// the store's thread, when all are done: "" or the first failure (at once, on the
  /// caller's thread, for an empty batch).
  void submit_all(std::vector<change> changes, done_fn done);
  /// submit_all and wait for it; throws protocol::error(operation_failed) naming what
  /// failed. For an instance's first open, which writes what it starts with before
  /// anyone can see it.
  void commit_all(std::vector<change> changes);

  /// A write, now, on the caller's thread; throws protocol::error(operation_failed).
  /// For start-up, before the instance serves anything.
  static void write_now(const std::string& path, const std::string& content,
                        bool durable);

  /// How many groups were committed and how many operations they held (for tests and
  /// benchmarks: grouping is visible).
  struct counters {
    uint64_t groups = 0;
    uint64_t operations = 0;
  };
  counters stats();

  /// The temporary name of a file being written: "DIR/.NAME.tmp". Start-up removes
  /// leftovers.
  static std::string temp_path(const std::string& path);

private:
  using kind = change::kind;
  struct op {
    kind k;
    std::string path, content; ///< content: the link target for links
    bool durable;
    done_fn done;
    std::string error;
  };
  static op make_op(change c, done_fn done);
  void submit(op o);
  void submit(std::vector<op> ops);
  void run();
  void commit(std::deque<op>& batch);

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<op> queue_;
  bool stopping_ = false;
  counters stats_;
  std::thread thread_;
};

} // namespace domus::runtime
