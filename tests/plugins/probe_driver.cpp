// The probe driver: a test plugin that drives every host service through the table, so
// that none of them is a stub. Schemes: "probe" (works) and "broken" (open fails).
//
// Its domains run as real child processes spawned through the host:
//  - start spawns the guest (`sleep 120`), completing when the host reports SPAWNED;
//    a domain named "survivor-*" runs as others, but its guest is left running when the
//    instance closes (a real driver's are; the test stops it by its pid);
//    a domain named "selfstop-*" runs `sh -c 'exit 7'` instead: its exit becomes an
//    unsolicited report (stopped/shutdown) that the daemon publishes as an event;
//    a "selfcrash-*" one runs `sh -c 'exit 3'`: stopped/crashed, and (since 1.2) the
//    report's error names the status, the domain's last error;
//  - domxml-to-native (since 1.2) converts to format "probe-argv": `sleep SECONDS #
//    NAME`, the command a start runs;
//  - destroy kills the child through the host and completes when its exit is seen;
//  - suspend completes from a host timer, resume from an fd watch on a pipe;
//  - info completes through a task posted to the loop;
//  - a domain named "chatty-*" (since 1.1) emits driver events of every topic once it
//    runs, and a balloon sample every 2 ms until it stops (chatty_start);
//  - attach, detach and update device (since 1.1) take <disk> elements, found by their
//    target, in the definition and the running guest's (no two with one target);
//    domain capabilities echo the query;
//  - opening probe:///slow-open-MS (since 1.1) completes MS ms late, the first time
//    in the process; probe:///slow-fail-MS fails as late;
//  - define (since 1.1) writes the definition to state_dir/NAME.xml on a worker thread
//    (queue_work) and completes from the work's done;
//  - reboot of a domain named "crash-*" reports an internal error, which makes the
//    runtime restart (and resync) the domain's actor;
//  - destroy of a domain whose name contains "-crashdestroy" reports an internal error
//    (with a hung call out, this restarts the actor while the domain is unresponsive);
//  - calls that hang, by the domain's name: "hang-OP-*" (OP one of define, undefine,
//    start, shutdown, reboot, destroy, suspend, resume, info; "hang-*" alone: start)
//    never completes OP until it is cancelled, and then completes it with
//    DOMUS_E_TIMEOUT; "late-OP-*" hangs the same way and does OP for real when
//    cancelled (too late to stop); "stubborn-OP-*" ignores cancel and completes OP with
//    success right after the domain's next destroy completes (its facts then stale).
//
// Built twice: against today's header (schemes "probe" and "broken") and against the
// frozen ABI 1.0 header in tests/abi/1.0 (scheme "probe10", no cancel slot), which must
// load and work on the current daemon.
#include <domus/driver_v1.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <functional>
#include <mutex>
#include <string>
#include <unistd.h>
#include <vector>

// A call held back by a hang mode, until cancel (or a destroy, for stubborn ones).
struct parked_call {
  domus_dom* d;
  std::string op;
  int mode; // 1 hang, 2 late, 3 stubborn
  domus_complete_fn done;
  void* user;
  std::function<void()> real; // the operation itself, for a late one
};

struct domus_instance {
  const domus_host_v1* host = nullptr;
  std::mutex parked_mutex;
  std::vector<parked_call> parked;
  std::atomic<int32_t> next_id{1};
  std::string guest_seconds = "120"; // how long a guest's sleep runs (guest_seconds)
  std::string state_dir;
  std::vector<uint64_t> chatters; // timers of chatty guests (loop thread only)
  std::mutex dumps_mutex;
  std::vector<struct dumper*> dumps; // 1.1: dumps running (long-running jobs)
  std::mutex children_mutex;
  std::vector<uint64_t>
      children; // every guest spawned; a test plugin stops them on close
};

struct domus_dom {
  std::mutex mutex;
  std::string name;
  std::string xml;      // as defined (1.1: kept for the live definition a report carries)
  std::string live;     // 1.1: the running guest's definition once a device changed it
  uint64_t chatter = 0; // a chatty guest's sample timer (loop thread only)
  int64_t balloon_kib = 0; // its last sample
  domus_dom_state_v1 state{DOMUS_STATE_SHUTOFF, DOMUS_REASON_UNKNOWN, -1};
  uint64_t child = 0;
  bool destroying = false;
  bool start_paused = false; // the start running was asked for paused vCPUs
  domus_complete_fn pending_done = nullptr; // start or destroy waiting for the child
  void* pending_user = nullptr;
  domus_instance* inst = nullptr;
  struct echo* console = nullptr; // 1.1: the stream on its console (loop thread)
};

#if DOMUS_DRIVER_ABI_MINOR >= 1
// A dump running (1.1), a long-running job: on the loop thread, but for `cancelled`.
struct dumper {
  domus_instance* inst;
  domus_dom* d;
  std::string path;
  domus_job* job;
  domus_complete_fn done;
  void* user;
  int fd = -1;
  uint64_t total = 0, written = 0;
  uint64_t timer = 0;
  std::atomic<bool> cancelled{false};
};

// A console that echoes what the client sends (1.1). Loop thread only.
struct echo {
  domus_instance* inst;
  domus_dom* d;
  domus_stream* s;
  std::string pending; // a chunk the client had no credit for yet
};
#endif

namespace {

#if DOMUS_DRIVER_ABI_MINOR >= 4
const char* const schemes[] = {"probe", "broken", nullptr};
const char* const driver_name = "probe";
#elif DOMUS_DRIVER_ABI_MINOR == 3
// Built against the frozen 1.3 header (tests/abi/1.3).
const char* const schemes[] = {"probe13", nullptr};
const char* const driver_name = "probe13";
#elif DOMUS_DRIVER_ABI_MINOR == 2
// Built against the frozen 1.2 header (tests/abi/1.2).
const char* const schemes[] = {"probe12", nullptr};
const char* const driver_name = "probe12";
#elif DOMUS_DRIVER_ABI_MINOR == 1
// Built against the frozen 1.1 header (tests/abi/1.1).
const char* const schemes[] = {"probe11", nullptr};
const char* const driver_name = "probe11";
#else
const char* const schemes[] = {"probe10", nullptr};
const char* const driver_name = "probe10";
#endif

domus_result_v1 blank() {
  domus_result_v1 r{};
  r.struct_size = sizeof r;
  return r;
}

void fail(domus_complete_fn done, void* user, int32_t status, const std::string& msg) {
  domus_result_v1 r = blank();
  r.status = status;
  r.message = msg.c_str();
  done(user, &r);
}

void log(domus_instance* inst, const std::string& msg) {
  inst->host->log(inst->host->ctx, DOMUS_LOG_INFO, msg.c_str());
}

// Completes with the domain's state and events.
void complete_state(domus_complete_fn done, void* user, domus_dom_state_v1 st,
                    std::vector<domus_event_v1> events) {
  domus_result_v1 r = blank();
  r.state = &st;
  r.events = events.data();
  r.n_events = events.size();
  done(user, &r);
}

// The name from a definition: enough XML reading for a probe.
std::string name_of(const char* xml) {
  const char* b = std::strstr(xml, "<name>");
  const char* e = b ? std::strstr(b, "</name>") : nullptr;
  return b && e ? std::string(b + 6, e) : std::string("?");
}

// The hang mode of `op` for a domain named `name`: 0 none, 1 hang, 2 late, 3 stubborn.
int hang_mode(const std::string& name, const std::string& op) {
  static const char* const ops[] = {"define",  "undefine", "start",  "shutdown", "reboot",
                                    "destroy", "suspend",  "resume", "info",     "dump"};
  static const std::pair<const char*, int> modes[] = {
      {"hang-", 1}, {"late-", 2}, {"stubborn-", 3}};
  for (auto& [prefix, mode] : modes) {
    std::string p = prefix;
    if (name.rfind(p, 0) != 0)
      continue;
    for (const char* o : ops)
      if (name.rfind(p + o + "-", 0) == 0)
        return op == o ? mode : 0;
    return op == "start" ? mode : 0; // "hang-1": start
  }
  return 0;
}

// Holds the call back when the domain's name asks for it; true when held.
bool park(domus_instance* inst, domus_dom* d, const std::string& name, const char* op,
          domus_complete_fn done, void* user, std::function<void()> real) {
  int mode = hang_mode(name, op);
  if (mode == 0)
    return false;
  log(inst, "probe: '" + std::string(op) + "' of '" + name + "' hangs");
  std::lock_guard<std::mutex> lock(inst->parked_mutex);
  inst->parked.push_back({d, op, mode, done, user, std::move(real)});
  return true;
}

// A destroy of d completed: its stubborn calls complete now, with facts that are stale
// (running, started), which the runtime must discard.
void release_stubborn(domus_instance* inst, domus_dom* d) {
  std::vector<parked_call> out;
  {
    std::lock_guard<std::mutex> lock(inst->parked_mutex);
    auto keep = std::stable_partition(
        inst->parked.begin(), inst->parked.end(),
        [d](const parked_call& p) { return !(p.d == d && p.mode == 3); });
    out.assign(keep, inst->parked.end());
    inst->parked.erase(keep, inst->parked.end());
  }
  for (auto& p : out)
    complete_state(p.done, p.user, {DOMUS_STATE_RUNNING, DOMUS_REASON_BOOTED, 999},
                   {{DOMUS_EVENT_STARTED, DOMUS_DETAIL_BOOTED}});
}

#if DOMUS_DRIVER_ABI_MINOR >= 1
// A chatty guest (named "chatty-*") once it runs: driver events of every journaled
// topic, a report whose live definition gained a <description>, two events the host
// must refuse, and a balloon sample every 2 ms (which the runtime coalesces to one a
// second). On the loop thread.
void chatty_start(domus_instance* inst, domus_dom* d) {
  const domus_host_v1* h = inst->host;
  h->emit(h->ctx, d, "domain.rtc-change", R"({"offset_s": 3600})");
  h->emit(h->ctx, d, "domain.device-removed", R"({"device": "probe-disk1"})");
  h->emit(h->ctx, d, "domain.block-job",
          R"({"disk": "vda", "type": "copy", "status": "ready"})");
  h->emit(h->ctx, d, "domain.io-error",
          R"({"source": "/probe/disk.img", "device": "probe-disk1", "action": "pause",
              "reason": "enospc"})");
  int32_t unknown = h->emit(h->ctx, d, "domain.bogus", "{}");
  int32_t smuggled =
      h->emit(h->ctx, d, "domain.rtc-change", R"({"offset_s": 1, "xml": "<domain/>"})");
  log(inst, "probe: refused emits: " + std::to_string(unknown) + " " +
                std::to_string(smuggled));
  std::string live = d->xml;
  auto at = live.find("</name>");
  if (at != std::string::npos)
    live.insert(at + 7, "<description>live</description>");
  domus_report_v1 rep{};
  rep.struct_size = sizeof rep;
  rep.state = d->state;
  rep.live_xml = live.c_str();
  h->report(h->ctx, d, &rep);
  d->chatter = h->timer_start(
      h->ctx, 2, 2,
      [](void* arg) {
        auto* d = static_cast<domus_dom*>(arg);
        std::string body = R"({"actual_kib": )" + std::to_string(++d->balloon_kib) + "}";
        d->inst->host->emit(d->inst->host->ctx, d, "domain.balloon-change", body.c_str());
      },
      d);
  inst->chatters.push_back(d->chatter);
}

void chatty_stop(domus_instance* inst, domus_dom* d) {
  if (!d->chatter)
    return;
  inst->host->timer_stop(inst->host->ctx, d->chatter);
  inst->chatters.erase(
      std::find(inst->chatters.begin(), inst->chatters.end(), d->chatter));
  d->chatter = 0;
}
#endif

void on_child(void* arg, const domus_child_event_v1* ev) {
  auto* d = static_cast<domus_dom*>(arg);
  domus_instance* inst = d->inst;
  std::unique_lock<std::mutex> lock(d->mutex);
  if (ev->kind == DOMUS_CHILD_SPAWNED) {
    // Paused as libvirt reports it: paused (user), started/booted then suspended/paused.
    std::vector<domus_event_v1> events = {{DOMUS_EVENT_STARTED, DOMUS_DETAIL_BOOTED}};
    if (d->start_paused) {
      d->state = {DOMUS_STATE_PAUSED, DOMUS_REASON_USER, inst->next_id++};
      events.push_back({DOMUS_EVENT_SUSPENDED, DOMUS_DETAIL_PAUSED});
    } else {
      d->state = {DOMUS_STATE_RUNNING, DOMUS_REASON_BOOTED, inst->next_id++};
    }
    auto done = d->pending_done;
    auto user = d->pending_user;
    d->pending_done = nullptr;
    auto st = d->state;
    lock.unlock();
    log(inst, "probe: guest '" + d->name + "' spawned as pid " + std::to_string(ev->pid));
    complete_state(done, user, st, events);
#if DOMUS_DRIVER_ABI_MINOR >= 1
    if (d->name.rfind("chatty-", 0) == 0)
      chatty_start(inst, d);
#endif
    return;
  }
  if (ev->kind == DOMUS_CHILD_FAILED) {
    auto done = d->pending_done;
    auto user = d->pending_user;
    d->pending_done = nullptr;
    lock.unlock();
    fail(done, user, DOMUS_E_OPERATION_FAILED, "probe: cannot spawn the guest");
    return;
  }
  // EXITED
  d->child = 0;
#if DOMUS_DRIVER_ABI_MINOR >= 1
  chatty_stop(inst, d);
  if (echo* e = d->console) { // the guest's console closes with it
    inst->host->stream_finish(inst->host->ctx, e->s, DOMUS_OK, nullptr);
    d->console = nullptr;
    delete e;
  }
#endif
  log(inst, "probe: guest '" + d->name + "' exited (status " +
                std::to_string(ev->status) + ", signal " + std::to_string(ev->signal) +
                ")");
  if (d->destroying) {
    d->destroying = false;
    d->state = {DOMUS_STATE_SHUTOFF, DOMUS_REASON_DESTROYED, -1};
    auto done = d->pending_done;
    auto user = d->pending_user;
    d->pending_done = nullptr;
    auto st = d->state;
    lock.unlock();
    complete_state(done, user, st, {{DOMUS_EVENT_STOPPED, DOMUS_DETAIL_DESTROYED}});
    release_stubborn(inst, d);
    return;
  }
  // The guest stopped by itself: an unsolicited change, reported to the host.
  bool clean = ev->signal == 0 && ev->status == 7;
  d->state = {DOMUS_STATE_SHUTOFF, clean ? DOMUS_REASON_SHUTDOWN : DOMUS_REASON_CRASHED,
              -1};
  domus_event_v1 evs[] = {
      {DOMUS_EVENT_STOPPED, clean ? DOMUS_DETAIL_SHUTDOWN : DOMUS_DETAIL_CRASHED}};
  domus_report_v1 rep{};
  rep.struct_size = sizeof rep;
  rep.state = d->state;
  rep.events = evs;
  rep.n_events = 1;
#if DOMUS_DRIVER_ABI_MINOR >= 2
  std::string why = "probe: the guest of '" + d->name + "' exited with status " +
                    std::to_string(ev->status);
  if (!clean)
    rep.error = why.c_str();
#endif
  lock.unlock();
  inst->host->report(inst->host->ctx, d, &rep);
}

#if DOMUS_DRIVER_ABI_MINOR >= 1
// An open that completes late: its result, delivered by a host timer.
struct slow_open {
  domus_instance* inst; // nullptr: the open fails
  domus_complete_fn done;
  void* user;
};

void slow_open_due(void* arg) {
  auto* o = static_cast<slow_open*>(arg);
  if (o->inst) {
    log(o->inst, "probe: the slow open completes");
    domus_result_v1 r = blank();
    r.instance = o->inst;
    o->done(o->user, &r);
  } else {
    fail(o->done, o->user, DOMUS_E_OPERATION_FAILED, "probe: the slow open failed");
  }
  delete o;
}

// "/slow-open-MS" and "/slow-fail-MS": the first open of the URI in this process
// completes after MS milliseconds, with the instance or with an error; later ones at
// once. Whether the open is delayed, and the instance it would complete with.
bool delay_open(const domus_open_args_v1* args, domus_instance* inst,
                domus_complete_fn done, void* user) {
  std::string path = args->path;
  bool fails = path.rfind("/slow-fail-", 0) == 0;
  if (!fails && path.rfind("/slow-open-", 0) != 0)
    return false;
  static std::mutex mutex;
  static std::vector<std::string> delayed;
  {
    std::lock_guard<std::mutex> lock(mutex);
    if (std::find(delayed.begin(), delayed.end(), path) != delayed.end())
      return false;
    delayed.push_back(path);
  }
  uint64_t ms = std::strtoull(path.c_str() + 11, nullptr, 10);
  auto* o = new slow_open{fails ? nullptr : inst, done, user};
  if (fails)
    delete inst;
  args->host->timer_start(args->host->ctx, ms, 0, slow_open_due, o);
  return true;
}
#endif

void probe_open(const domus_open_args_v1* args, domus_complete_fn done, void* user) {
  if (std::string(args->scheme) == "broken")
    return fail(done, user, DOMUS_E_OPERATION_FAILED,
                "the broken driver cannot open anything (a test of open failures)");
  args->host->log(args->host->ctx, DOMUS_LOG_INFO,
                  (std::string("probe: opening ") + args->uri).c_str());
  auto* inst = new domus_instance;
  inst->host = args->host;
  inst->state_dir = args->state_dir;
  std::string opened =
      std::string("probe: open ") + args->uri + " state_dir=" + args->state_dir;
#if DOMUS_DRIVER_ABI_MINOR >= 1
  // One setting, guest_seconds (how long a guest runs, 1 to 86400): what a driver's
  // settings file is for, and how a bad line is reported.
  for (size_t i = 0; i < args->n_settings; ++i) {
    const domus_setting_v1& s = args->settings[i];
    std::string where = std::string(args->settings_file) + ":" + std::to_string(s.line) +
                        ": " + s.key + ": ";
    char* end = nullptr;
    long v = std::strtol(s.value, &end, 10);
    std::string why =
        std::string(s.key) != "guest_seconds" ? "unknown setting"
        : (*s.value == 0 || *end != 0 || v < 1 || v > 86400)
            ? "expected whole seconds from 1 to 86400, got '" + std::string(s.value) + "'"
            : "";
    if (!why.empty()) {
      delete inst;
      return fail(done, user, DOMUS_E_CONFIG_ERROR, where + why);
    }
    inst->guest_seconds = std::to_string(v);
  }
  opened += std::string(" log_dir=") + args->log_dir + " cache_dir=" + args->cache_dir +
            " guest_seconds=" + inst->guest_seconds;
#endif
  log(inst, opened);
#if DOMUS_DRIVER_ABI_MINOR >= 1
  if (delay_open(args, inst, done, user))
    return;
#endif
  domus_result_v1 r = blank();
  r.instance = inst;
  done(user, &r);
}

// A real driver leaves its guests running when the daemon stops; the probe's guests are
// test processes, so they stop with it.
#if DOMUS_DRIVER_ABI_MINOR >= 1
// -- dumps: a long-running job (1.1) ---------------------------------------------------
// A dump writes the guest's memory size (<memory>, KiB) of bytes in 50 steps, one every
// 20 ms on the loop thread (a second whatever the size), reporting progress after each;
// cancel makes the next step remove the file and complete with DOMUS_E_ABORTED.

uint64_t memory_bytes(const std::string& xml) {
  size_t at = xml.find("<memory");
  at = at == std::string::npos ? at : xml.find('>', at);
  return at == std::string::npos
             ? 0
             : std::strtoull(xml.c_str() + at + 1, nullptr, 10) * 1024;
}

// Stops its timer and closes its file (it completed, or the instance closes).
void stop_dump(dumper* j) {
  if (j->timer)
    j->inst->host->timer_stop(j->inst->host->ctx, j->timer);
  if (j->fd >= 0)
    ::close(j->fd);
  delete j;
}

void finish_dump(dumper* j, int32_t status, const std::string& message) {
  {
    std::lock_guard<std::mutex> lock(j->inst->dumps_mutex);
    auto& v = j->inst->dumps;
    v.erase(std::remove(v.begin(), v.end(), j), v.end());
  }
  auto done = j->done;
  void* user = j->user;
  domus_dom* d = j->d;
  if (status != DOMUS_OK)
    ::unlink(j->path.c_str());
  log(j->inst, "probe: dump of '" + d->name + "' " + (status ? message : "completed"));
  stop_dump(j);
  if (status != DOMUS_OK)
    return fail(done, user, status, message);
  domus_dom_state_v1 st;
  {
    std::lock_guard<std::mutex> lock(d->mutex);
    st = d->state;
  }
  complete_state(done, user, st, {});
}

void dump_step(void* arg) {
  auto* j = static_cast<dumper*>(arg);
  if (j->cancelled)
    return finish_dump(j, DOMUS_E_ABORTED, "probe: the dump was cancelled");
  static const std::string block(1 << 20, 'd');
  uint64_t step = std::max<uint64_t>(1, j->total / 50);
  uint64_t goal = std::min(j->total, j->written + step);
  while (j->written < goal) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(block.size(), goal - j->written));
    ssize_t w = ::write(j->fd, block.data(), n);
    if (w <= 0)
      return finish_dump(j, DOMUS_E_OPERATION_FAILED,
                         "probe: cannot write " + j->path + ": " + std::strerror(errno));
    j->written += static_cast<uint64_t>(w);
  }
  domus_job_progress_v1 p{sizeof p, j->written, j->total};
  j->inst->host->job_progress(j->inst->host->ctx, j->job, &p);
  if (j->written >= j->total)
    finish_dump(j, DOMUS_OK, "");
}

void start_dump(void* arg) {
  auto* j = static_cast<dumper*>(arg);
  j->fd = ::open(j->path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (j->fd < 0)
    return finish_dump(j, DOMUS_E_OPERATION_FAILED,
                       "probe: cannot open " + j->path + ": " + std::strerror(errno));
  j->timer = j->inst->host->timer_start(j->inst->host->ctx, 20, 20, dump_step, j);
}

void probe_dump(domus_instance* inst, domus_dom* d, const char* path, const char* format,
                uint32_t flags, domus_job* job, domus_complete_fn done, void* user) {
  if (flags & ~DOMUS_DUMP_MEMORY_ONLY) // its guests are processes it cannot crash
    return fail(done, user, DOMUS_E_UNSUPPORTED,
                "probe: dump takes no flag but memory-only");
  if (format && std::string(format) != "elf")
    return fail(done, user, DOMUS_E_UNSUPPORTED,
                "probe: no dump format '" + std::string(format) + "' (it writes elf)");
  std::string name, xml;
  {
    std::lock_guard<std::mutex> lock(d->mutex);
    name = d->name;
    xml = d->xml;
  }
  if (park(inst, d, name, "dump", done, user, nullptr))
    return;
  auto* j = new dumper{inst, d, path, job, done, user};
  j->total = memory_bytes(xml);
  {
    std::lock_guard<std::mutex> lock(inst->dumps_mutex);
    inst->dumps.push_back(j);
  }
  inst->host->post(inst->host->ctx, start_dump, j);
}

// Cancels a dump; false when `user` is no dump's.
bool cancel_dump(domus_instance* inst, void* user) {
  std::lock_guard<std::mutex> lock(inst->dumps_mutex);
  for (dumper* j : inst->dumps)
    if (j->user == user) {
      j->cancelled = true;
      return true;
    }
  return false;
}
#endif

void probe_close(domus_instance* inst) {
  // On the loop thread: no timer fires after this.
  for (uint64_t t : inst->chatters)
    inst->host->timer_stop(inst->host->ctx, t);
  {
    std::lock_guard<std::mutex> lock(inst->children_mutex);
    for (uint64_t c : inst->children)
      inst->host->kill(inst->host->ctx, c, SIGKILL);
  }
#if DOMUS_DRIVER_ABI_MINOR >= 1
  for (dumper* j : inst->dumps) { // never completed: what they wrote goes
    ::unlink(j->path.c_str());
    stop_dump(j);
  }
#endif
  delete inst;
}

void probe_node_info(domus_instance*, domus_complete_fn done, void* user) {
  domus_node_info_v1 n{};
  n.struct_size = sizeof n;
  n.cpu_model = "probe";
  n.memory_kib = 1024;
  n.cpus = n.mhz = n.numa_nodes = n.sockets_per_node = n.cores_per_socket =
      n.threads_per_core = 1;
  domus_result_v1 r = blank();
  r.node = &n;
  done(user, &r);
}

void do_define(domus_instance* inst, domus_dom* existing, const std::string& name,
               const std::string& xml, domus_complete_fn done, void* user) {
  domus_dom* d = existing ? existing : new domus_dom;
  d->name = name;
  d->xml = xml;
  d->inst = inst;
  domus_result_v1 r = blank();
  r.dom = d;
  done(user, &r);
}

#if DOMUS_DRIVER_ABI_MINOR >= 1
// Since 1.1, define first keeps a copy of the definition as state_dir/NAME.xml, written
// and fsynced on a worker thread (queue_work): blocking I/O never runs on the loop.
struct define_work {
  domus_instance* inst;
  domus_dom* existing;
  std::string name, xml;
  domus_complete_fn done;
  void* user;
  std::string error; // set by the worker
};

void write_definition(void* arg) {
  auto* w = static_cast<define_work*>(arg);
  std::string path = w->inst->state_dir + "/" + w->name + ".xml";
  std::string tmp = path + ".tmp";
  FILE* f = std::fopen(tmp.c_str(), "w");
  bool ok = f && std::fwrite(w->xml.data(), 1, w->xml.size(), f) == w->xml.size() &&
            std::fflush(f) == 0 && ::fsync(fileno(f)) == 0;
  if (f && std::fclose(f) != 0)
    ok = false;
  if (!ok || std::rename(tmp.c_str(), path.c_str()) != 0)
    w->error = "cannot write " + path + ": " + std::strerror(errno);
}

void definition_written(void* arg, int32_t status) {
  auto* w = static_cast<define_work*>(arg);
  if (status != 0)
    fail(w->done, w->user, DOMUS_E_OPERATION_FAILED, "define was cancelled");
  else if (!w->error.empty())
    fail(w->done, w->user, DOMUS_E_OPERATION_FAILED, w->error);
  else
    do_define(w->inst, w->existing, w->name, w->xml, w->done, w->user);
  delete w;
}
#endif

void define_now(domus_instance* inst, domus_dom* existing, const std::string& name,
                const std::string& xml, domus_complete_fn done, void* user) {
#if DOMUS_DRIVER_ABI_MINOR >= 1
  if (DOMUS_REACHES(inst->host, domus_host_v1, queue_work)) {
    auto* w = new define_work{inst, existing, name, xml, done, user, {}};
    if (inst->host->queue_work(inst->host->ctx, write_definition, definition_written, w))
      return;
    delete w;
    return fail(done, user, DOMUS_E_LIMIT_EXCEEDED, "too much blocking work queued");
  }
#endif
  do_define(inst, existing, name, xml, done, user);
}

void probe_define(domus_instance* inst, domus_dom* existing, const char* xml,
                  domus_complete_fn done, void* user) {
  std::string name = name_of(xml);
  std::string text = xml;
  if (!park(inst, existing, name, "define", done, user,
            [=] { define_now(inst, existing, name, text, done, user); }))
    define_now(inst, existing, name, text, done, user);
}

void probe_undefine(domus_instance* inst, domus_dom* d, domus_complete_fn done,
                    void* user) {
  auto real = [=] {
    domus_result_v1 r = blank();
    done(user, &r);
  };
  if (!park(inst, d, d->name, "undefine", done, user, real))
    real();
}

void do_start(domus_instance* inst, domus_dom* d, domus_complete_fn done, void* user) {
  {
    std::lock_guard<std::mutex> lock(d->mutex);
    d->live.clear(); // each start boots the definition
    d->pending_done = done;
    d->pending_user = user;
  }
  bool selfcrash = d->name.rfind("selfcrash-", 0) == 0;
  bool selfstop = selfcrash || d->name.rfind("selfstop-", 0) == 0;
  const char* const sleeper[] = {"sleep", inst->guest_seconds.c_str(), nullptr};
  static const char* const quitter[] = {"sh", "-c", "exit 7", nullptr};
  static const char* const crasher[] = {"sh", "-c", "exit 3", nullptr};
  domus_spawn_v1 spec{};
  spec.struct_size = sizeof spec;
  spec.file = selfstop ? "sh" : "sleep";
  spec.argv = selfcrash ? crasher : selfstop ? quitter : sleeper;
  spec.stdin_fd = spec.stdout_fd = spec.stderr_fd = -1;
  // The host calls on_child from its loop thread, which takes the lock: not held here.
  uint64_t child = inst->host->spawn(inst->host->ctx, &spec, on_child, d);
  // A "survivor-*" guest is left running when the instance closes, as a real driver's
  // guests are (the test that owns it stops it by its pid).
  if (d->name.rfind("survivor-", 0) != 0) {
    std::lock_guard<std::mutex> lock(inst->children_mutex);
    inst->children.push_back(child);
  }
  std::lock_guard<std::mutex> lock(d->mutex);
  if (d->state.state != DOMUS_STATE_SHUTOFF || !selfstop)
    d->child = child;
}

void probe_start(domus_instance* inst, domus_dom* d, uint32_t flags,
                 domus_complete_fn done, void* user) {
#if DOMUS_DRIVER_ABI_MINOR >= 1
  if (flags & ~DOMUS_START_PAUSED)
    return fail(done, user, DOMUS_E_UNSUPPORTED, "probe: start takes only paused");
  {
    std::lock_guard<std::mutex> lock(d->mutex);
    d->start_paused = (flags & DOMUS_START_PAUSED) != 0;
  }
#else
  (void)flags; // the runtime passes a 1.0 driver no flags
#endif
  if (!park(inst, d, d->name, "start", done, user,
            [=] { do_start(inst, d, done, user); }))
    do_start(inst, d, done, user);
}

void do_destroy(domus_instance* inst, domus_dom* d, domus_complete_fn done, void* user) {
  if (d->name.find("-crashdestroy") != std::string::npos)
    return fail(done, user, DOMUS_E_INTERNAL,
                "probe: the hypervisor lost track of '" + d->name +
                    "' while destroying it");
  std::unique_lock<std::mutex> lock(d->mutex);
  // No guest: a destroy beside a start that never spawned one. Nothing runs; the
  // start's stubborn call completes now, with stale facts the runtime must discard.
  if (!d->child) {
    d->state = {DOMUS_STATE_SHUTOFF, DOMUS_REASON_DESTROYED, -1};
    auto st = d->state;
    lock.unlock();
    complete_state(done, user, st, {});
    release_stubborn(inst, d);
    return;
  }
  d->destroying = true;
  d->pending_done = done;
  d->pending_user = user;
  int32_t rc = inst->host->kill(inst->host->ctx, d->child, SIGTERM);
  if (rc != 0) {
    d->destroying = false;
    d->pending_done = nullptr;
    fail(done, user, DOMUS_E_OPERATION_FAILED,
         "probe: kill failed: " + std::to_string(rc));
  }
}

void probe_destroy(domus_instance* inst, domus_dom* d, uint32_t, domus_complete_fn done,
                   void* user) {
  if (!park(inst, d, d->name, "destroy", done, user,
            [=] { do_destroy(inst, d, done, user); }))
    do_destroy(inst, d, done, user);
}

void probe_shutdown(domus_instance* inst, domus_dom* d, uint32_t, domus_complete_fn done,
                    void* user) {
  if (!park(inst, d, d->name, "shutdown", done, user,
            [=] { do_destroy(inst, d, done, user); }))
    do_destroy(inst, d, done, user);
}

#if DOMUS_DRIVER_ABI_MINOR >= 4
// A reboot of "users-of-KIND-NAME" fails with what host users_of says (1.4): KIND pool,
// running-pool (running domains only), vol (NAME is POOL.VOLUME) or net.
bool users_of(domus_instance* inst, const std::string& guest, domus_complete_fn done,
              void* user) {
  const std::string prefix = "users-of-";
  if (guest.rfind(prefix, 0) != 0)
    return false;
  std::string rest = guest.substr(prefix.size());
  auto dash = rest.find('-', rest.rfind("running-", 0) == 0 ? 8 : 0);
  std::string kind = rest.substr(0, dash), name = rest.substr(dash + 1), volume;
  if (kind == "vol") {
    volume = name.substr(name.find('.') + 1);
    name = name.substr(0, name.find('.'));
  }
  std::string found;
  auto take = [](void* arg, const char* domain) {
    *static_cast<std::string*>(arg) += std::string(" ") + domain;
  };
  int32_t rc = inst->host->users_of(
      inst->host->ctx, kind == "net" ? DOMUS_OBJECT_NETWORK : DOMUS_OBJECT_POOL,
      name.c_str(), kind == "vol" ? volume.c_str() : nullptr,
      kind == "running-pool" ? DOMUS_USERS_RUNNING : 0u, take, &found);
  fail(done, user, DOMUS_E_OPERATION_FAILED,
       "probe: users of " + kind + " " + rest.substr(dash + 1) + " (" +
           std::to_string(rc) + "):" + found);
  return true;
}
#endif

void probe_reboot(domus_instance* inst, domus_dom* d, uint32_t, domus_complete_fn done,
                  void* user) {
  if (d->name.rfind("crash-", 0) == 0)
    return fail(done, user, DOMUS_E_INTERNAL,
                "probe: the hypervisor lost track of '" + d->name +
                    "' (a test of supervision)");
#if DOMUS_DRIVER_ABI_MINOR >= 4
  if (users_of(inst, d->name, done, user))
    return;
#endif
  auto real = [=] { complete_state(done, user, d->state, {}); };
  if (!park(inst, d, d->name, "reboot", done, user, real))
    real();
}

// Sets a guest's state and completes with it and one event.
void settle(domus_dom* d, int32_t state, int32_t reason, domus_event_v1 event,
            domus_complete_fn done, void* user) {
  domus_dom_state_v1 st;
  {
    std::lock_guard<std::mutex> lock(d->mutex);
    d->state.state = state;
    d->state.reason = reason;
    st = d->state;
  }
  complete_state(done, user, st, {event});
}

struct timer_job {
  domus_dom* d;
  domus_complete_fn done;
  void* user;
};

void do_suspend(domus_instance* inst, domus_dom* d, domus_complete_fn done, void* user) {
  // Completes from a host timer, on the loop thread.
  auto* job = new timer_job{d, done, user};
  inst->host->timer_start(
      inst->host->ctx, 5, 0,
      [](void* arg) {
        auto* j = static_cast<timer_job*>(arg);
        settle(j->d, DOMUS_STATE_PAUSED, DOMUS_REASON_USER,
               {DOMUS_EVENT_SUSPENDED, DOMUS_DETAIL_PAUSED}, j->done, j->user);
        delete j;
      },
      job);
}

struct watch_job {
  domus_instance* inst;
  domus_dom* d;
  domus_complete_fn done;
  void* user;
  int fds[2];
  uint64_t watch;
};

void probe_suspend(domus_instance* inst, domus_dom* d, domus_complete_fn done,
                   void* user) {
  if (!park(inst, d, d->name, "suspend", done, user,
            [=] { do_suspend(inst, d, done, user); }))
    do_suspend(inst, d, done, user);
}

void do_resume(domus_instance* inst, domus_dom* d, domus_complete_fn done, void* user) {
  // Completes when a pipe becomes readable, seen through a host fd watch.
  auto* job = new watch_job{inst, d, done, user, {-1, -1}, 0};
  if (::pipe(job->fds) != 0) {
    delete job;
    return fail(done, user, DOMUS_E_OPERATION_FAILED, "probe: pipe failed");
  }
  job->watch = inst->host->watch_fd(
      inst->host->ctx, job->fds[0], DOMUS_FD_READABLE,
      [](void* arg, int fd, uint32_t) {
        auto* j = static_cast<watch_job*>(arg);
        char c;
        if (::read(fd, &c, 1) != 1)
          return;
        j->inst->host->unwatch_fd(j->inst->host->ctx, j->watch);
        ::close(j->fds[0]);
        ::close(j->fds[1]);
        settle(j->d, DOMUS_STATE_RUNNING, DOMUS_REASON_UNPAUSED,
               {DOMUS_EVENT_RESUMED, DOMUS_DETAIL_UNPAUSED}, j->done, j->user);
        delete j;
      },
      job);
  if (::write(job->fds[1], "x", 1) != 1)
    log(inst, "probe: pipe write failed");
}

struct info_job {
  domus_dom* d;
  domus_complete_fn done;
  void* user;
};

void probe_resume(domus_instance* inst, domus_dom* d, domus_complete_fn done,
                  void* user) {
  if (!park(inst, d, d->name, "resume", done, user,
            [=] { do_resume(inst, d, done, user); }))
    do_resume(inst, d, done, user);
}

void do_info(domus_instance* inst, domus_dom* d, domus_complete_fn done, void* user) {
  // Completes from a task posted to the loop.
  inst->host->post(
      inst->host->ctx,
      [](void* arg) {
        auto* j = static_cast<info_job*>(arg);
        domus_dom_info_v1 info{};
        info.struct_size = sizeof info;
        {
          std::lock_guard<std::mutex> lock(j->d->mutex);
          info.state = j->d->state;
        }
        info.max_memory_kib = info.memory_kib = 1024;
        info.vcpus = 1;
        info.os_type = "probe";
        domus_result_v1 r = blank();
        r.info = &info;
        j->done(j->user, &r);
        delete j;
      },
      new info_job{d, done, user});
}

void probe_info(domus_instance* inst, domus_dom* d, domus_complete_fn done, void* user) {
  if (!park(inst, d, d->name, "info", done, user, [=] { do_info(inst, d, done, user); }))
    do_info(inst, d, done, user);
}

void probe_release(domus_instance*, domus_dom* d) {
  delete d;
}

#if DOMUS_DRIVER_ABI_MINOR >= 1
// A hung call's deadline passed: a "hang" one completes with DOMUS_E_TIMEOUT, a "late"
// one does its operation after all, a "stubborn" one goes on waiting.
void probe_cancel(domus_instance* inst, domus_dom*, void* user) {
  if (cancel_dump(inst, user))
    return log(inst, "probe: dump cancelled");
  parked_call p{};
  {
    std::lock_guard<std::mutex> lock(inst->parked_mutex);
    auto it = std::find_if(inst->parked.begin(), inst->parked.end(),
                           [user](const parked_call& c) { return c.user == user; });
    if (it == inst->parked.end() || it->mode == 3)
      return;
    p = std::move(*it);
    inst->parked.erase(it);
  }
  log(inst, "probe: '" + p.op + "' cancelled");
  if (p.mode == 2)
    return p.real();
  fail(p.done, p.user, DOMUS_E_TIMEOUT, "probe: '" + p.op + "' cancelled");
}
#endif

#if DOMUS_DRIVER_ABI_MINOR >= 1
// -- devices: <disk> elements found by their target, enough to drive the runtime ------

// The disk element of `xml` whose target is `dev`: [begin, end), or npos.
std::pair<size_t, size_t> find_disk(const std::string& xml, const std::string& dev) {
  size_t at = xml.find("<target dev='" + dev + "'");
  if (at == std::string::npos)
    return {std::string::npos, 0};
  size_t begin = xml.rfind("<disk", at);
  size_t end = xml.find("</disk>", at);
  if (begin == std::string::npos || end == std::string::npos)
    return {std::string::npos, 0};
  return {begin, end + 7};
}

std::string target_of(const std::string& device) {
  size_t at = device.find("<target dev='");
  if (at == std::string::npos)
    return "";
  at += 13;
  return device.substr(at, device.find('\'', at) - at);
}

enum class device_op { attach, detach, update };

// One definition changed, or why not.
std::string change(std::string& xml, device_op op, const std::string& device,
                   const std::string& dev) {
  auto [begin, end] = find_disk(xml, dev);
  bool found = begin != std::string::npos;
  if (op == device_op::attach && found)
    return "a disk with target '" + dev + "' exists";
  if (op != device_op::attach && !found)
    return "no disk with target '" + dev + "'";
  if (found)
    xml.erase(begin, end - begin);
  if (op == device_op::detach)
    return "";
  size_t at = xml.find("</devices>");
  if (at == std::string::npos) {
    at = xml.find("</domain>");
    xml.insert(at, "<devices></devices>");
    at = xml.find("</devices>");
  }
  xml.insert(at, device);
  return "";
}

void device_call(domus_dom* d, device_op op, const char* device_xml, uint32_t flags,
                 domus_complete_fn done, void* user) {
  std::string device = device_xml;
  if (device.rfind("<disk", 0) != 0)
    return fail(done, user, DOMUS_E_UNSUPPORTED, "probe: only disks are devices here");
  std::string dev = target_of(device);
  std::lock_guard<std::mutex> lock(d->mutex);
  std::string config = d->xml;
  std::string live = d->live.empty() ? d->xml : d->live;
  std::string why;
  if (flags & DOMUS_DEVICE_CONFIG)
    why = change(config, op, device, dev);
  if (why.empty() && (flags & DOMUS_DEVICE_LIVE))
    why = change(live, op, device, dev);
  if (!why.empty())
    return fail(done, user, DOMUS_E_OPERATION_FAILED, "probe: " + why);
  domus_result_v1 r = blank();
  if (flags & DOMUS_DEVICE_CONFIG)
    r.config_xml = (d->xml = config).c_str();
  if (flags & DOMUS_DEVICE_LIVE)
    r.xml = (d->live = live).c_str();
  done(user, &r);
}

void probe_attach_device(domus_instance*, domus_dom* d, const char* xml, uint32_t flags,
                         domus_complete_fn done, void* user) {
  device_call(d, device_op::attach, xml, flags, done, user);
}
void probe_detach_device(domus_instance*, domus_dom* d, const char* xml, uint32_t flags,
                         domus_complete_fn done, void* user) {
  device_call(d, device_op::detach, xml, flags, done, user);
}
void probe_update_device(domus_instance*, domus_dom* d, const char* xml, uint32_t flags,
                         domus_complete_fn done, void* user) {
  if (flags & DOMUS_DEVICE_FORCE)
    return fail(done, user, DOMUS_E_UNSUPPORTED, "probe: update takes no force");
  device_call(d, device_op::update, xml, flags, done, user);
}

// -- the console: an echo, a stream's both directions at full speed ------------------

void echo_on_data(void* arg, const void* data, size_t len) {
  auto* e = static_cast<echo*>(arg);
  const domus_host_v1* h = e->inst->host;
  if (h->stream_send(h->ctx, e->s, data, len) == -EAGAIN) {
    // Kept until the client grants credit; nothing more until then.
    e->pending.assign(static_cast<const char*>(data), len);
    h->stream_pause(h->ctx, e->s, 1);
  }
}

void echo_on_writable(void* arg) {
  auto* e = static_cast<echo*>(arg);
  const domus_host_v1* h = e->inst->host;
  if (e->pending.empty())
    return;
  if (h->stream_send(h->ctx, e->s, e->pending.data(), e->pending.size()) == -EAGAIN)
    return;
  e->pending.clear();
  h->stream_pause(h->ctx, e->s, 0);
}

void echo_on_end(void* arg, int32_t status, const char* message) {
  auto* e = static_cast<echo*>(arg);
  log(e->inst, "probe: console of '" + e->d->name + "' ended (" + std::to_string(status) +
                   (status ? std::string(": ") + message : std::string()) + ")");
  if (e->d->console == e)
    e->d->console = nullptr;
  delete e;
}

const domus_stream_cbs_v1 echo_cbs = {sizeof(domus_stream_cbs_v1), echo_on_data,
                                      echo_on_writable, echo_on_end};

struct console_task {
  domus_instance* inst;
  domus_dom* d;
  domus_stream* s;
  uint32_t flags;
  domus_complete_fn done;
  void* user;
};

// On the loop, where consoles live: one per domain, taken over with force.
void open_console_now(void* arg) {
  auto* t = static_cast<console_task*>(arg);
  const domus_host_v1* h = t->inst->host;
  if (t->d->console && !(t->flags & DOMUS_CONSOLE_FORCE)) {
    fail(t->done, t->user, DOMUS_E_BUSY,
         "probe: the console of '" + t->d->name + "' is in use (force takes it)");
  } else {
    if (echo* old = t->d->console) {
      h->stream_finish(h->ctx, old->s, DOMUS_E_ABORTED,
                       "another client took the console");
      t->d->console = nullptr;
      delete old;
    }
    auto* e = new echo{t->inst, t->d, t->s, {}};
    h->stream_attach(h->ctx, t->s, &echo_cbs, e);
    t->d->console = e;
    domus_result_v1 r = blank();
    t->done(t->user, &r);
  }
  delete t;
}

#if DOMUS_DRIVER_ABI_MINOR >= 2
// domxml-to-native "probe-argv": the command a start of the definition runs.
void probe_to_native(domus_instance* inst, const char* format, const char* xml,
                     domus_complete_fn done, void* user) {
  if (std::string(format) != "probe-argv")
    return fail(done, user, DOMUS_E_INVALID_ARGUMENT,
                std::string("probe: unknown native format '") + format +
                    "' (known: probe-argv)");
  std::string text = "sleep " + inst->guest_seconds + " # " + name_of(xml);
  domus_result_v1 r = blank();
  r.xml = text.c_str();
  done(user, &r);
}
#endif

void probe_open_console(domus_instance* inst, domus_dom* d, const char* device,
                        uint32_t flags, domus_stream* s, domus_complete_fn done,
                        void* user) {
  if (device && std::string(device) != "console0")
    return fail(done, user, DOMUS_E_INVALID_ARGUMENT,
                "probe: no console '" + std::string(device) + "' (it has console0)");
  if (flags & DOMUS_CONSOLE_SAFE)
    return fail(done, user, DOMUS_E_UNSUPPORTED, "probe: cannot keep a console safe");
  auto* t = new console_task{inst, d, s, flags, done, user};
  inst->host->post(inst->host->ctx, open_console_now, t);
}

// The query, echoed (NULL fields as "-"), so that a test sees what reached the driver.
void probe_domain_capabilities(domus_instance*, const domus_domcaps_query_v1* q,
                               domus_complete_fn done, void* user) {
  auto v = [](const char* s) { return std::string(s ? s : "-"); };
  if (q->arch && std::string(q->arch) != "x86_64")
    return fail(done, user, DOMUS_E_INVALID_ARGUMENT,
                "probe: no architecture '" + v(q->arch) + "' (it has x86_64)");
  std::string xml = "<domainCapabilities>\n  <path>" + v(q->emulator) +
                    "</path>\n  <domain>" + v(q->virttype) + "</domain>\n  <machine>" +
                    v(q->machine) + "</machine>\n  <arch>" + v(q->arch) +
                    "</arch>\n</domainCapabilities>\n";
  domus_result_v1 r = blank();
  r.xml = xml.c_str();
  done(user, &r);
}
#endif

const domus_domain_ops_v1 ops = {
    sizeof(domus_domain_ops_v1),
    nullptr, // no normalize hook: the runtime's rules only
    probe_define,
    probe_undefine,
    probe_start,
    probe_shutdown,
    probe_reboot,
    probe_destroy,
    probe_suspend,
    probe_resume,
    probe_info,
    nullptr, // no reconnect
    probe_release,
#if DOMUS_DRIVER_ABI_MINOR >= 1
    probe_cancel,
    nullptr, // define_flags
    nullptr, // undefine_flags
    nullptr, // suspend_flags
    nullptr, // resume_flags
    probe_attach_device,
    probe_detach_device,
    probe_update_device,
    probe_open_console,
    probe_dump,
#endif
#if DOMUS_DRIVER_ABI_MINOR >= 2
    probe_to_native,
#endif
};

#if DOMUS_DRIVER_ABI_MINOR >= 1
const char* const probe_pool_schemes[] = {driver_name, nullptr};
const domus_kind_schemes_v1 probe_kinds[] = {{DOMUS_OBJECT_POOL, probe_pool_schemes}};
const domus_pool_ops_v1 probe_pool_ops = {sizeof(domus_pool_ops_v1)};
#endif

const domus_driver_v1 driver = {
    DOMUS_DRIVER_ABI_MAJOR,
    DOMUS_DRIVER_ABI_MINOR,
    sizeof(domus_driver_v1),
    driver_name,
    "1.0",
    schemes,
    probe_open,
    probe_close,
    probe_node_info,
    nullptr,
    &ops,
#if DOMUS_DRIVER_ABI_MINOR >= 1
    nullptr, // no host capabilities
    probe_domain_capabilities,
    probe_kinds, // pools of its own scheme, over a host-wide "*" (runtime_unit/plugins)
    1,
    &probe_pool_ops,
    nullptr,
    nullptr,
#endif
};

} // namespace

extern "C" DOMUS_DRIVER_EXPORT const domus_driver_v1* domus_driver_entry(uint32_t major) {
  return major == DOMUS_DRIVER_ABI_MAJOR ? &driver : nullptr;
}
