#include "qemu_img_run.hpp"

#include "pool_dir.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <csignal>
#include <cstring>
#include <memory>
#include <mutex>

namespace domus::storage_driver {

namespace {

// What the loop thread tells the waiting worker. Shared: the child's callbacks may come
// after the worker gave up waiting (it killed the child and went on).
struct child_state {
  std::mutex mutex;
  std::condition_variable changed;
  bool ended = false;
  bool failed = false; // never spawned
  int64_t status = 0;
  int32_t signal = 0;
};

void on_child(void* arg, const domus_child_event_v1* e) {
  auto* holder = static_cast<std::shared_ptr<child_state>*>(arg);
  std::shared_ptr<child_state> s = *holder;
  if (e->kind == DOMUS_CHILD_SPAWNED)
    return;
  {
    std::lock_guard<std::mutex> lock(s->mutex);
    s->ended = true;
    s->failed = e->kind == DOMUS_CHILD_FAILED;
    s->status = e->status;
    s->signal = e->signal;
  }
  s->changed.notify_all();
  delete holder; // FAILED and EXITED are the last callbacks
}

// What qemu-img wrote to stderr: its last line (its error), printable bytes only,
// at most 1,000 of them, from the last 16 KiB it wrote.
std::string said(int fd) {
  char buf[16384];
  off_t size = ::lseek(fd, 0, SEEK_END);
  off_t from = size > static_cast<off_t>(sizeof buf) ? size - sizeof buf : 0;
  ssize_t n = ::pread(fd, buf, sizeof buf, from);
  if (n <= 0)
    return "";
  std::string text(buf, static_cast<size_t>(n));
  while (!text.empty() && (text.back() == '\n' || text.back() == ' '))
    text.pop_back();
  size_t nl = text.rfind('\n');
  if (nl != std::string::npos)
    text = text.substr(nl + 1);
  std::string out;
  for (unsigned char c : text)
    out += (c < 0x20 || c == 0x7f) ? '?' : static_cast<char>(c);
  return out.size() > 1000 ? out.substr(0, 1000) + "..." : out;
}

} // namespace

run_outcome run_qemu_img(const domus_host_v1* host, const std::vector<std::string>& argv,
                         const std::vector<int>& pass_fds, const std::string& what,
                         std::chrono::milliseconds bound,
                         const std::atomic<bool>* cancelled) {
  run_outcome out;
  int err = ::memfd_create("qemu-img-stderr", MFD_CLOEXEC);
  if (err < 0) {
    out.message = what + " could not start: memfd_create: " + std::strerror(errno);
    return out;
  }
  dir_backend::fd_guard close_err{err};
  std::vector<const char*> args;
  for (auto& a : argv)
    args.push_back(a.c_str());
  args.push_back(nullptr);
  // The C locale: qemu-img's messages in English, whatever the daemon's environment.
  static const char* const env[] = {"LC_ALL=C", "PATH=/usr/sbin:/usr/bin:/sbin:/bin",
                                    nullptr};
  std::vector<int32_t> fds(pass_fds.begin(), pass_fds.end());
  domus_spawn_v1 spec{};
  spec.struct_size = sizeof spec;
  spec.file = args[0];
  spec.argv = args.data();
  spec.envp = env;
  spec.stdin_fd = -1;
  spec.stdout_fd = -1;
  spec.stderr_fd = err;
  spec.pass_fds = fds.data();
  spec.n_pass_fds = fds.size();
  spec.uid = -1;
  spec.gid = -1;
  auto state = std::make_shared<child_state>();
  auto* holder = new std::shared_ptr<child_state>(state);
  uint64_t child = host->spawn(host->ctx, &spec, on_child, holder);
  if (!child) {
    delete holder;
    out.message = what + " could not start: the host refused to spawn " + argv[0];
    return out;
  }
  std::unique_lock<std::mutex> lock(state->mutex);
  // Waited for in slices when it may be aborted: the abort sets a flag, nothing wakes us.
  auto until = std::chrono::steady_clock::now() + bound;
  while (cancelled && !state->ended && std::chrono::steady_clock::now() < until) {
    state->changed.wait_for(lock, std::chrono::milliseconds(100),
                            [&] { return state->ended; });
    if (!state->ended && cancelled->load()) {
      host->kill(host->ctx, child, SIGKILL);
      state->changed.wait_for(lock, std::chrono::seconds(5),
                              [&] { return state->ended; });
      out.message = what + " was aborted";
      out.aborted = true;
      return out;
    }
  }
  if (!state->changed.wait_until(lock, until, [&] { return state->ended; })) {
    // Hung: killed, and waited for (bounded too: a closing host reports no exit), so
    // that it never writes into the file later.
    host->kill(host->ctx, child, SIGKILL);
    state->changed.wait_for(lock, std::chrono::seconds(5), [&] { return state->ended; });
    out.message = what + " did not finish within " +
                  std::to_string(bound.count() / 1000) + " s and was killed";
    return out;
  }
  std::string words = said(err);
  if (state->failed)
    out.message = what + " could not start " + argv[0] + ": " +
                  std::strerror(static_cast<int>(-state->status));
  else if (state->signal)
    out.message = what + " was killed by signal " + std::to_string(state->signal) +
                  (words.empty() ? "" : ": " + words);
  else if (state->status != 0)
    out.message = what + " failed (exit status " + std::to_string(state->status) + ")" +
                  (words.empty() ? "" : ": " + words);
  else
    out.ok = true;
  return out;
}

} // namespace domus::storage_driver
