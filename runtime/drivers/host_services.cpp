#include "drivers/host_services.hpp"

#include "actors/messages.hpp"
#include "daemon/log.hpp"
#include "drivers/abi_fields.hpp"

#include <caf/send.hpp>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace domus::runtime {

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
  std::unordered_map<uint64_t, uv_process_t*> children;
  // Pids of live children, for kill() from any thread.
  std::mutex pids_mutex;
  std::unordered_map<uint64_t, int> pids;

  impl(event_loop& l, std::string u) : loop(l), uri(std::move(u)) {}

  // Runs fn on the loop thread: at once when already there.
  template <class F> void on_loop(F&& fn) {
    if (loop.in_loop_thread())
      fn();
    else
      loop.post(std::forward<F>(fn));
  }
};

namespace {

using impl = host_services::impl;

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
  impl& h = self(ctx);
  std::shared_ptr<domain_slot> slot;
  {
    std::lock_guard<std::mutex> lock(h.slots_mutex);
    auto it = h.slots.find(dom);
    if (it != h.slots.end())
      slot = it->second.lock();
  }
  caf::actor to = slot ? slot->current() : caf::actor{};
  if (!to) {
    log_warning(h.uri + ": the driver reported a change of a domain the daemon does not "
                        "know (any more); ignored");
    return;
  }
  caf::anon_send(to, report_atom::value, std::move(d));
}

int32_t host_post(void* ctx, domus_task_fn fn, void* arg) {
  if (!fn)
    return -EINVAL;
  return self(ctx).loop.post([fn, arg] { fn(arg); }) ? 0 : -ESHUTDOWN;
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
          if (!d->repeat) {
            d->host->timers.erase(d->handle);
            delete d;
            event_loop::close_and_delete(t);
          }
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
    p->data = new watch_data{fn, arg, fd};
    int uv_events = ((events & DOMUS_FD_READABLE) ? UV_READABLE : 0) |
                    ((events & DOMUS_FD_WRITABLE) ? UV_WRITABLE : 0);
    h.watches[handle] = p;
    uv_poll_start(p, uv_events, [](uv_poll_t* p, int status, int ev) {
      auto* d = static_cast<watch_data*>(p->data);
      uint32_t revents = ((ev & UV_READABLE) ? DOMUS_FD_READABLE : 0) |
                         ((ev & UV_WRITABLE) ? DOMUS_FD_WRITABLE : 0);
      if (status < 0)
        revents = DOMUS_FD_READABLE; // an error: let the driver read it
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

struct child_data {
  impl* host;
  uint64_t handle;
  domus_child_fn fn;
  void* arg;
};

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

uint64_t host_spawn(void* ctx, const domus_spawn_v1* spec, domus_child_fn fn, void* arg) {
  if (!spec || !fn || !spec->file || !spec->argv)
    return 0;
  impl& h = self(ctx);
  uint64_t handle = h.next_handle++;
  // Copy everything the spec points to: the spawn runs later, on the loop thread.
  std::vector<std::string> argv, envp;
  for (auto a = spec->argv; *a; ++a)
    argv.emplace_back(*a);
  bool has_env = spec->envp != nullptr;
  for (auto e = spec->envp; e && *e; ++e)
    envp.emplace_back(*e);
  std::string file = spec->file, cwd = spec->cwd ? spec->cwd : "";
  int fds[3] = {spec->stdin_fd, spec->stdout_fd, spec->stderr_fd};
  h.on_loop([&h, handle, fn, arg, argv, envp, has_env, file, cwd, fds] {
    std::vector<char*> av, ev;
    for (auto& a : argv)
      av.push_back(const_cast<char*>(a.c_str()));
    av.push_back(nullptr);
    for (auto& e : envp)
      ev.push_back(const_cast<char*>(e.c_str()));
    ev.push_back(nullptr);
    uv_stdio_container_t stdio[3];
    for (int i = 0; i < 3; ++i) {
      if (fds[i] >= 0) {
        stdio[i].flags = UV_INHERIT_FD;
        stdio[i].data.fd = fds[i];
      } else {
        stdio[i].flags = UV_IGNORE;
      }
    }
    uv_process_options_t opts{};
    opts.file = file.c_str();
    opts.args = av.data();
    opts.env = has_env ? ev.data() : nullptr;
    opts.cwd = cwd.empty() ? nullptr : cwd.c_str();
    opts.stdio_count = 3;
    opts.stdio = stdio;
    opts.exit_cb = [](uv_process_t* p, int64_t status, int sig) {
      auto* d = static_cast<child_data*>(p->data);
      {
        std::lock_guard<std::mutex> lock(d->host->pids_mutex);
        d->host->pids.erase(d->handle);
      }
      d->host->children.erase(d->handle);
      child_event(d->fn, d->arg, DOMUS_CHILD_EXITED, p->pid, status, sig);
      delete d;
      event_loop::close_and_delete(p);
    };
    auto* p = new uv_process_t;
    p->data = new child_data{&h, handle, fn, arg};
    int rc = uv_spawn(h.loop.uv(), p, &opts);
    if (rc != 0) {
      delete static_cast<child_data*>(p->data);
      event_loop::close_and_delete(p);
      log_warning(h.uri + ": cannot spawn " + file + ": " + uv_strerror(rc));
      child_event(fn, arg, DOMUS_CHILD_FAILED, 0, rc, 0);
      return;
    }
    h.children[handle] = p;
    {
      std::lock_guard<std::mutex> lock(h.pids_mutex);
      h.pids[handle] = p->pid;
    }
    child_event(fn, arg, DOMUS_CHILD_SPAWNED, p->pid, 0, 0);
  });
  return handle;
}

int32_t host_kill(void* ctx, uint64_t handle, int32_t sig) {
  impl& h = self(ctx);
  int pid;
  {
    std::lock_guard<std::mutex> lock(h.pids_mutex);
    auto it = h.pids.find(handle);
    if (it == h.pids.end())
      return -ESRCH;
    pid = it->second;
  }
  // libuv reaps the child and drops its pid on the loop thread in one step, so a pid
  // found here belongs to our child (short of a reuse in that instant).
  return ::kill(pid, sig) == 0 ? 0 : -errno;
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

void host_services::set_opened(const domus_driver_v1* driver, domus_instance* inst) {
  impl_->driver = driver;
  impl_->opened = inst;
}

void host_services::close_instance() {
  domus_instance* inst = impl_->opened.exchange(nullptr);
  const domus_driver_v1* d = impl_->driver.load();
  if (inst && d && d->close)
    d->close(inst);
}

} // namespace domus::runtime
