#include "drivers/host_services.hpp"
#include "drivers/stream_services.hpp"

#include "actors/messages.hpp"
#include "daemon/log.hpp"
#include "drivers/abi_fields.hpp"
#include "drivers/child_spawn.hpp"
#include "drivers/driver_call.hpp"
#include "drivers/process_watch.hpp"
#include "drivers/work_pool.hpp"

#include <domus/protocol/errors.hpp>
#include <domus/protocol/topics.hpp>

#include <caf/send.hpp>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <mutex>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <unordered_map>
#include <vector>

namespace domus::runtime {

struct pidfd_watch;

struct host_services::impl {
  event_loop& loop;
  std::string uri;
  domus_host_v1 table{};
  // Where reports go: each domain's slot, so that they reach the domain's actor directly
  // (in order with the completions of its calls, which take the same way).
  std::mutex slots_mutex;
  std::unordered_map<domus_dom*, std::weak_ptr<domain_slot>> slots;
  std::atomic<const domus_driver_v1*> driver{nullptr};
  std::atomic<domus_instance*> opened{nullptr};
  std::atomic<uint64_t> next_handle{1};
  // Loop thread only:
  std::unordered_map<uint64_t, uv_timer_t*> timers;
  std::unordered_map<uint64_t, uv_poll_t*> watches;
  // The processes watched through their pidfds, children (spawn) and others
  // (watch_pid), for kill(), signal_pid() and unwatch_pid() from any thread.
  std::mutex pids_mutex;
  std::unordered_map<uint64_t, pidfd_watch*> watched;
  // Blocking work; `work_stuck` once stop_work gave up on an item (the instance is then
  // never closed: its close would race the work still running in it).
  work_pool work;
  std::atomic<bool> work_stuck{false};
  // resolve_volume's way to the pools (set before the driver opens, then only read).
  host_services::volume_lookup volumes;
  // users_of's way to the domains (set before the driver opens, then only read).
  host_services::users_lookup users;
  // Loop thread only: the instance is closed, and no callback reaches the driver any
  // more (a child it killed in its close exits after it freed what its callback uses).
  bool closed = false;

  impl(event_loop& l, std::string u)
      : loop(l), uri(u), work(l, std::move(u), DOMUS_WORK_THREADS, DOMUS_WORK_MAX_ITEMS) {
  }

  // The actor a domain's reports and events go to; none when the daemon does not know
  // the domain (any more).
  caf::actor actor_of(domus_dom* dom) {
    std::shared_ptr<domain_slot> slot;
    {
      std::lock_guard<std::mutex> lock(slots_mutex);
      auto it = slots.find(dom);
      if (it != slots.end())
        slot = it->second.lock();
    }
    return slot ? slot->current() : caf::actor{};
  }

  // Runs fn on the loop thread: at once when already there.
  template <class F> void on_loop(F&& fn) {
    if (loop.in_loop_thread())
      fn();
    else
      loop.post(std::forward<F>(fn));
  }
};

// A process watched through its pidfd on the loop thread: a child the driver spawned
// (`child`: reaped when it exits, signalled by kill) or a process watched by pid
// (watch_pid: never reaped here, signalled by signal_pid).
struct pidfd_watch {
  host_services::impl* host;
  uint64_t handle;
  domus_child_fn fn;
  void* arg;
  pid_t pid;
  int pidfd;
  uv_poll_t* poll;
  bool child;
};

namespace {

using impl = host_services::impl;

// The longest string a driver event's field may hold (docs/plugins.md, `emit`).
constexpr size_t max_event_string = 1024;
// The longest last error a report may give a domain (docs/plugins.md, `report`).
constexpr size_t max_last_error = 4096;

impl& self(void* ctx) {
  return *static_cast<impl*>(ctx);
}

void host_log(void* ctx, int32_t level, const char* message) {
  auto l = level >= DOMUS_LOG_ERROR && level <= DOMUS_LOG_DEBUG
               ? static_cast<log_level>(level)
               : log_level::info;
  log(l, self(ctx).uri + ": " + (message ? message : ""));
}

void host_report(void* ctx, domus_dom* dom, const domus_report_v1* r) {
  if (!dom || !DOMUS_HAS_FIELD(r, domus_report_v1, private_data)) {
    log_error(self(ctx).uri + ": the driver sent a malformed report; ignored");
    return;
  }
  report_data d;
  d.state = r->state;
  if (r->events && r->n_events)
    d.events.assign(r->events, r->events + r->n_events);
  if (r->private_data.data)
    d.private_data =
        std::string(static_cast<const char*>(r->private_data.data), r->private_data.len);
  if (DOMUS_HAS_FIELD(r, domus_report_v1, live_xml) && r->live_xml)
    d.live_xml = std::string(r->live_xml);
  // A domain's last error is for people to read: bounded as a driver event's strings.
  if (DOMUS_HAS_FIELD(r, domus_report_v1, error) && r->error)
    d.error = std::string(r->error).substr(0, max_last_error);
  impl& h = self(ctx);
  caf::actor to = h.actor_of(dom);
  if (!to) {
    log_warning(h.uri + ": the driver reported a change of a domain the daemon does not "
                        "know (any more); ignored");
    return;
  }
  caf::anon_send(to, report_atom::value, std::move(d));
}

int32_t host_emit(void* ctx, domus_dom* dom, const char* topic, const char* body) {
  impl& h = self(ctx);
  auto* t = topic ? protocol::find_driver_topic(topic) : nullptr;
  if (!t) {
    log_warning(h.uri + ": the driver emitted an event of unknown topic '" +
                (topic ? topic : "(null)") + "'; not published");
    return DOMUS_E_INVALID_ARGUMENT;
  }
  driver_event ev{t, {}};
  try {
    ev.fields = protocol::check_driver_event(*t, body ? body : "", max_event_string);
  } catch (const protocol::error& e) {
    log_warning(h.uri + ": the driver emitted a malformed " + e.what() +
                "; not published");
    return DOMUS_E_INVALID_ARGUMENT;
  }
  caf::actor to = dom ? h.actor_of(dom) : caf::actor{};
  if (!to)
    return DOMUS_E_NO_DOMAIN;
  caf::anon_send(to, emit_atom::value, std::move(ev));
  return 0;
}

// A long-running job's progress goes where its completion will: the actor in charge of
// its domain (or the actor that made the call), in order with that completion.
int32_t host_job_progress(void* ctx, domus_job* job, const domus_job_progress_v1* p) {
  impl& h = self(ctx);
  if (!job || !p || !DOMUS_REACHES(p, domus_job_progress_v1, total) ||
      (p->total != 0 && p->processed > p->total)) {
    log_warning(h.uri + ": the driver reported a long-running job's progress without a "
                        "job, or past its total; ignored");
    return DOMUS_E_INVALID_ARGUMENT;
  }
  caf::actor to = job->slot ? job->slot->current() : job->target;
  caf::anon_send(to, progress_atom::value, job->generation, job->call_id, p->processed,
                 p->total);
  return 0;
}

int32_t host_resolve_volume(void* ctx, const char* pool, const char* volume,
                            void (*take)(void*, const domus_volume_v1*), void* arg) {
  impl& h = self(ctx);
  if (!pool || !volume || !take)
    return DOMUS_E_INVALID_ARGUMENT;
  if (!h.volumes)
    return DOMUS_E_NO_POOL;
  driver_volume v;
  if (int32_t rc = h.volumes(pool, volume, v))
    return rc;
  domus_volume_v1 e{};
  e.struct_size = sizeof e;
  e.vol = nullptr; // the pool driver's handle is never another driver's
  e.name = v.name.c_str();
  e.key = v.key.c_str();
  e.path = v.path.c_str();
  e.type = v.type;
  e.format = v.format.c_str();
  e.capacity = v.capacity;
  e.allocation = v.allocation;
  e.backing_path = v.backing_path.empty() ? nullptr : v.backing_path.c_str();
  e.backing_format = v.backing_format.empty() ? nullptr : v.backing_format.c_str();
  take(arg, &e);
  return 0;
}

int32_t host_users_of(void* ctx, int32_t kind, const char* name, const char* volume,
                      uint32_t flags, void (*take)(void*, const char*), void* arg) {
  impl& h = self(ctx);
  bool known_kind =
      kind == DOMUS_OBJECT_POOL || (kind == DOMUS_OBJECT_NETWORK && !volume);
  if (!known_kind || !name || !take || (flags & ~uint32_t{DOMUS_USERS_RUNNING}))
    return DOMUS_E_INVALID_ARGUMENT;
  if (!h.users)
    return 0; // an instance without domains (a host-wide storage driver's)
  std::string v = volume ? volume : "";
  std::vector<std::string> names =
      h.users(kind, name, volume ? &v : nullptr, (flags & DOMUS_USERS_RUNNING) != 0);
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  for (const auto& n : names)
    take(arg, n.c_str());
  return 0;
}

int32_t host_post(void* ctx, domus_task_fn fn, void* arg) {
  if (!fn)
    return -EINVAL;
  impl* h = &self(ctx);
  return h->loop.post([h, fn, arg] {
    if (!h->closed)
      fn(arg);
  })
             ? 0
             : -ESHUTDOWN;
}

struct timer_data {
  impl* host;
  uint64_t handle;
  domus_task_fn fn;
  void* arg;
  bool repeat;
};

uint64_t host_timer_start(void* ctx, uint64_t delay_ms, uint64_t repeat_ms,
                          domus_task_fn fn, void* arg) {
  if (!fn)
    return 0;
  impl& h = self(ctx);
  uint64_t handle = h.next_handle++;
  h.on_loop([&h, handle, delay_ms, repeat_ms, fn, arg] {
    auto* t = new uv_timer_t;
    uv_timer_init(h.loop.uv(), t);
    t->data = new timer_data{&h, handle, fn, arg, repeat_ms != 0};
    h.timers[handle] = t;
    uv_timer_start(
        t,
        [](uv_timer_t* t) {
          auto* d = static_cast<timer_data*>(t->data);
          auto fn = d->fn;
          auto arg = d->arg;
          impl* host = d->host;
          if (!d->repeat) {
            d->host->timers.erase(d->handle);
            delete d;
            event_loop::close_and_delete(t);
          }
          if (!host->closed)
            fn(arg);
        },
        delay_ms, repeat_ms);
  });
  return handle;
}

void host_timer_stop(void* ctx, uint64_t handle) {
  impl& h = self(ctx);
  h.on_loop([&h, handle] {
    auto it = h.timers.find(handle);
    if (it == h.timers.end())
      return;
    uv_timer_stop(it->second);
    delete static_cast<timer_data*>(it->second->data);
    event_loop::close_and_delete(it->second);
    h.timers.erase(it);
  });
}

struct watch_data {
  impl* host;
  domus_fd_fn fn;
  void* arg;
  int fd;
};

uint64_t host_watch_fd(void* ctx, int fd, uint32_t events, domus_fd_fn fn, void* arg) {
  if (!fn || fd < 0)
    return 0;
  impl& h = self(ctx);
  uint64_t handle = h.next_handle++;
  h.on_loop([&h, handle, fd, events, fn, arg] {
    auto* p = new uv_poll_t;
    if (uv_poll_init(h.loop.uv(), p, fd) != 0) {
      log_error(h.uri + ": cannot watch fd " + std::to_string(fd));
      delete p;
      return;
    }
    p->data = new watch_data{&h, fn, arg, fd};
    int uv_events = ((events & DOMUS_FD_READABLE) ? UV_READABLE : 0) |
                    ((events & DOMUS_FD_WRITABLE) ? UV_WRITABLE : 0);
    h.watches[handle] = p;
    uv_poll_start(p, uv_events, [](uv_poll_t* p, int status, int ev) {
      auto* d = static_cast<watch_data*>(p->data);
      uint32_t revents = ((ev & UV_READABLE) ? DOMUS_FD_READABLE : 0) |
                         ((ev & UV_WRITABLE) ? DOMUS_FD_WRITABLE : 0);
      if (status < 0)
        revents = DOMUS_FD_READABLE; // an error: let the driver read it
      if (!d->host->closed)
        d->fn(d->arg, d->fd, revents);
    });
  });
  return handle;
}

void host_unwatch_fd(void* ctx, uint64_t handle) {
  impl& h = self(ctx);
  h.on_loop([&h, handle] {
    auto it = h.watches.find(handle);
    if (it == h.watches.end())
      return;
    uv_poll_stop(it->second);
    delete static_cast<watch_data*>(it->second->data);
    event_loop::close_and_delete(it->second);
    h.watches.erase(it);
  });
}

void child_event(domus_child_fn fn, void* arg, int32_t kind, int64_t pid, int64_t status,
                 int32_t sig) {
  domus_child_event_v1 ev{};
  ev.struct_size = sizeof ev;
  ev.kind = kind;
  ev.pid = pid;
  ev.status = status;
  ev.signal = sig;
  fn(arg, &ev);
}

// Stops watching and forgets it (on the loop thread).
void end_watch(pidfd_watch* w) {
  {
    std::lock_guard<std::mutex> lock(w->host->pids_mutex);
    w->host->watched.erase(w->handle);
  }
  if (w->poll) {
    uv_poll_stop(w->poll);
    event_loop::close_and_delete(w->poll);
  }
  ::close(w->pidfd);
  delete w;
}

// Watches `w`'s pidfd on the loop thread; `on_exit` runs when it becomes readable.
// False (logged, `w` left without a poll) when libuv cannot watch it: the exit then
// goes unheard.
bool start_watch(impl& h, pidfd_watch* w, uv_poll_cb on_exit) {
  w->poll = new uv_poll_t;
  w->poll->data = w;
  int rc = uv_poll_init(h.loop.uv(), w->poll, w->pidfd);
  if (rc == 0 && (rc = uv_poll_start(w->poll, UV_READABLE, on_exit)) != 0)
    event_loop::close_and_delete(w->poll); // initialized: closed through the loop
  else if (rc != 0)
    delete w->poll;
  if (rc == 0)
    return true;
  w->poll = nullptr;
  log_error(h.uri + ": cannot watch process " + std::to_string(w->pid) + " (" +
            uv_strerror(rc) + "); its exit will not be reported");
  return false;
}

// The child's pidfd is readable: it exited. Reaped here (its own pid only, never
// waitpid(-1)), reported, forgotten.
void on_child_exit(uv_poll_t* poll, int, int) {
  auto* w = static_cast<pidfd_watch*>(poll->data);
  int status = 0;
  pid_t got;
  do
    got = ::waitpid(w->pid, &status, WNOHANG);
  while (got < 0 && errno == EINTR);
  if (got == 0)
    return; // not yet (a spurious wake-up)
  disown_child(w->pid);
  auto fn = w->fn;
  void* arg = w->arg;
  pid_t pid = w->pid;
  bool closed = w->host->closed;
  end_watch(w);
  // Orphans that exited behind this child were left for now (reap_orphans stops at an
  // owned child): their turn.
  if (is_subreaper())
    reap_orphans();
  int64_t code = WIFEXITED(status) ? WEXITSTATUS(status) : 0;
  int sig = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
  if (!closed) // reaped all the same
    child_event(fn, arg, DOMUS_CHILD_EXITED, pid, code, sig);
}

// Copies of a spawn spec's descriptors, closed once the spawn has run (or never will):
// the driver may close its own as soon as spawn returns.
struct spec_fds {
  std::vector<int> fds;
  spec_fds() = default;
  spec_fds(const spec_fds&) = delete;
  spec_fds& operator=(const spec_fds&) = delete;
  ~spec_fds() {
    for (int fd : fds)
      ::close(fd);
  }
  // A copy of fd (numbered 3 or more, close-on-exec), or -1 when fd is not open.
  int copy(int fd) {
    int d = ::fcntl(fd, F_DUPFD_CLOEXEC, 3);
    if (d >= 0)
      fds.push_back(d);
    return d;
  }
};

uint64_t host_spawn(void* ctx, const domus_spawn_v1* spec, domus_child_fn fn, void* arg) {
  if (!spec || !fn || !spec->file || !spec->argv)
    return 0;
  impl& h = self(ctx);
  // Copy everything the spec points to: the spawn runs later, on the loop thread.
  spawn_request r;
  auto copies = std::make_shared<spec_fds>();
  std::string refused;
  int given[3] = {spec->stdin_fd, spec->stdout_fd, spec->stderr_fd};
  for (int i = 0; i < 3; ++i)
    if (given[i] >= 0 && (r.stdio[i] = copies->copy(given[i])) < 0)
      refused = "descriptor " + std::to_string(given[i]) + " (for " + std::to_string(i) +
                ") is not open";
  if (reaches(spec, DOMUS_FIELD_END(domus_spawn_v1, gid))) {
    if (spec->n_pass_fds > max_pass_fds)
      refused = std::to_string(spec->n_pass_fds) + " descriptors to pass, more than " +
                std::to_string(max_pass_fds);
    for (size_t i = 0; refused.empty() && spec->pass_fds && i < spec->n_pass_fds; ++i) {
      int fd = spec->pass_fds[i];
      int source = fd >= 3 ? copies->copy(fd) : -1;
      if (source < 0)
        refused = "descriptor " + std::to_string(fd) + " to pass is " +
                  (fd < 3 ? "below 3" : "not open");
      r.pass_fds.push_back(passed_fd{source, fd});
    }
    if (spec->uid >= 0)
      r.uid = static_cast<uid_t>(spec->uid);
    if (spec->gid >= 0)
      r.gid = static_cast<gid_t>(spec->gid);
  }
  if (!refused.empty()) {
    log_warning(h.uri + ": cannot spawn " + spec->file + ": " + refused);
    return 0;
  }
  uint64_t handle = h.next_handle++;
  r.file = spec->file;
  for (auto a = spec->argv; *a; ++a)
    r.argv.emplace_back(*a);
  if (spec->envp) {
    r.envp.emplace();
    for (auto e = spec->envp; *e; ++e)
      r.envp->emplace_back(*e);
  }
  r.cwd = spec->cwd ? spec->cwd : "";
  h.on_loop([&h, handle, fn, arg, r, copies] {
    if (h.closed)
      return; // asked for by a driver's thread while its instance closed
    spawned_child c;
    int rc = spawn_child(r, c);
    if (rc != 0) {
      log_warning(h.uri + ": cannot spawn " + r.file + ": " + std::strerror(-rc));
      child_event(fn, arg, DOMUS_CHILD_FAILED, 0, rc, 0);
      return;
    }
    own_child(c.pid); // reaped by on_child_exit, never by the orphan reaper
    auto* w = new pidfd_watch{&h, handle, fn, arg, c.pid, c.pidfd, nullptr, true};
    {
      std::lock_guard<std::mutex> lock(h.pids_mutex);
      h.watched[handle] = w;
    }
    // Unwatched, the child is left to the orphan reaper, which would otherwise stop
    // at it for good (reap_orphans).
    if (!start_watch(h, w, on_child_exit))
      disown_child(c.pid);
    child_event(fn, arg, DOMUS_CHILD_SPAWNED, c.pid, 0, 0);
  });
  return handle;
}

uint64_t host_watch_pid(void* ctx, int64_t pid, uint64_t start_time, domus_child_fn fn,
                        void* arg) {
  if (!fn || pid <= 0)
    return 0;
  impl& h = self(ctx);
  int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, static_cast<pid_t>(pid), 0));
  if (pidfd < 0)
    return 0;
  // Checked after the pidfd is held: the process it names cannot change from here on.
  if (!process_alive(static_cast<pid_t>(pid), start_time)) {
    ::close(pidfd);
    return 0;
  }
  uint64_t handle = h.next_handle++;
  auto* w = new pidfd_watch{&h,    handle,  fn,   arg, static_cast<pid_t>(pid),
                            pidfd, nullptr, false};
  {
    std::lock_guard<std::mutex> lock(h.pids_mutex);
    h.watched[handle] = w;
  }
  h.on_loop([&h, w] {
    start_watch(h, w, [](uv_poll_t* p, int, int) {
      auto* w = static_cast<pidfd_watch*>(p->data);
      auto fn = w->fn;
      auto arg = w->arg;
      pid_t pid = w->pid;
      bool closed = w->host->closed;
      end_watch(w);
      if (!closed)
        child_event(fn, arg, DOMUS_CHILD_EXITED, pid, -1, 0);
    });
  });
  return handle;
}

void host_unwatch_pid(void* ctx, uint64_t handle) {
  impl& h = self(ctx);
  h.on_loop([&h, handle] {
    pidfd_watch* w = nullptr;
    {
      std::lock_guard<std::mutex> lock(h.pids_mutex);
      auto it = h.watched.find(handle);
      if (it == h.watched.end() || it->second->child) // a child's is kept to reap it
        return;
      w = it->second;
    }
    end_watch(w);
  });
}

// A signal through the pidfd of the watch a handle names (a child's for kill, another
// process's for signal_pid), under the lock the exit handlers take before they close
// it: it reaches the process watched or no one, never a process that reused its pid.
int32_t signal_through(void* ctx, uint64_t handle, int32_t sig, bool child) {
  impl& h = self(ctx);
  std::lock_guard<std::mutex> lock(h.pids_mutex);
  auto it = h.watched.find(handle);
  if (it == h.watched.end() || it->second->child != child)
    return -ESRCH;
  return ::syscall(SYS_pidfd_send_signal, it->second->pidfd, sig, nullptr, 0) == 0
             ? 0
             : -errno;
}

int32_t host_signal_pid(void* ctx, uint64_t handle, int32_t sig) {
  return signal_through(ctx, handle, sig, false);
}

int32_t host_kill(void* ctx, uint64_t handle, int32_t sig) {
  return signal_through(ctx, handle, sig, true);
}

uint64_t host_queue_work(void* ctx, domus_task_fn work, domus_work_done_fn done,
                         void* arg) {
  return self(ctx).work.queue(work, done, arg);
}

int32_t host_cancel_work(void* ctx, uint64_t handle) {
  return self(ctx).work.cancel(handle);
}

} // namespace

host_services::host_services(event_loop& loop, std::string uri)
    : impl_(std::make_unique<impl>(loop, std::move(uri))) {
  auto& t = impl_->table;
  t.struct_size = sizeof(domus_host_v1);
  t.ctx = impl_.get();
  t.log = host_log;
  t.report = host_report;
  t.post = host_post;
  t.timer_start = host_timer_start;
  t.timer_stop = host_timer_stop;
  t.watch_fd = host_watch_fd;
  t.unwatch_fd = host_unwatch_fd;
  t.spawn = host_spawn;
  t.kill = host_kill;
  t.watch_pid = host_watch_pid;
  t.unwatch_pid = host_unwatch_pid;
  t.signal_pid = host_signal_pid;
  t.queue_work = host_queue_work;
  t.cancel_work = host_cancel_work;
  t.emit = host_emit;
  t.stream_attach = host_stream_attach;
  t.stream_send = host_stream_send;
  t.stream_pause = host_stream_pause;
  t.stream_finish = host_stream_finish;
  t.job_progress = host_job_progress;
  t.stream_send_hole = host_stream_send_hole;
  t.resolve_volume = host_resolve_volume;
  t.users_of = host_users_of;
}

host_services::~host_services() = default;

const domus_host_v1* host_services::table() const {
  return &impl_->table;
}

void host_services::bind(domus_dom* dom, std::weak_ptr<domain_slot> slot) {
  std::lock_guard<std::mutex> lock(impl_->slots_mutex);
  impl_->slots[dom] = std::move(slot);
}

void host_services::unbind(domus_dom* dom) {
  std::lock_guard<std::mutex> lock(impl_->slots_mutex);
  impl_->slots.erase(dom);
}

void host_services::set_volume_lookup(volume_lookup fn) {
  impl_->volumes = std::move(fn);
}

void host_services::set_users_lookup(users_lookup fn) {
  impl_->users = std::move(fn);
}

void host_services::set_opened(const domus_driver_v1* driver, domus_instance* inst) {
  impl_->driver = driver;
  impl_->opened = inst;
}

bool host_services::stop_work(std::chrono::milliseconds grace) {
  bool ended = impl_->work.stop(grace);
  impl_->work_stuck = !ended;
  return ended;
}

void host_services::close_instance() {
  if (impl_->work_stuck) {
    log_warning(impl_->uri + ": not closed: its blocking work still runs");
    return;
  }
  domus_instance* inst = impl_->opened.exchange(nullptr);
  const domus_driver_v1* d = impl_->driver.load();
  if (inst && d && d->close)
    d->close(inst);
  impl_->closed = true;
}

} // namespace domus::runtime
