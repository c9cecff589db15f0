#include "qemu_process.hpp"
#include "tap_device.hpp"
#include "volume_disks.hpp"

#include "monitor_socket.hpp"
#include "qemu_command.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <ctime>
#include <sstream>

// Every function here runs on the loop thread. A domain's calls (start, destroy,
// reconnect) are kept in its qemu_run and completed last, after every change to the
// domain: a completion may lead the runtime to release it (posted to the loop too).

namespace domus::qemu_driver {

using nlohmann::json;

launch_plan::~launch_plan() {
  // A socket QEMU never got is removed, unless a newer start made another in its place.
  if (!launched && listen_fd >= 0 && !qmp_path.empty()) {
    struct stat mine {
    }, there{};
    if (::fstat(listen_fd, &mine) == 0 && ::stat(qmp_path.c_str(), &there) == 0 &&
        mine.st_ino == there.st_ino && mine.st_dev == there.st_dev)
      ::unlink(qmp_path.c_str());
  }
  for (int fd : {listen_fd, monitor_fd, log_fd})
    if (fd >= 0)
      ::close(fd);
  for (int fd : extra_fds)
    ::close(fd);
  if (!launched && inst && vnc_port > 0)
    release_vnc_port(inst, vnc_port);
}

// ---- VNC ports
// -------------------------------------------------------------------------

int reserve_vnc_port(domus_instance* inst) {
  std::lock_guard<std::mutex> lock(inst->ports_mutex);
  for (int port = 5900; port <= 65535; ++port) {
    if (inst->vnc_ports.count(port))
      continue;
    // Free on every address, as far as a bind can tell now.
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
      break;
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_ANY);
    bool free = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    ::close(fd);
    if (free) {
      inst->vnc_ports.insert(port);
      return port;
    }
  }
  throw error(errc::operation_failed, "no free VNC port from 5900 to 65535");
}

void release_vnc_port(domus_instance* inst, int port) {
  std::lock_guard<std::mutex> lock(inst->ports_mutex);
  inst->vnc_ports.erase(port);
}

// ---- /proc ---------------------------------------------------------------------------

namespace {
// The fields of /proc/PID/stat after the command (which may hold spaces and ')'):
// out[0] is field 3 (the state).
std::vector<std::string> stat_fields(int64_t pid) {
  std::string path = "/proc/" + std::to_string(pid) + "/stat";
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return {};
  char buf[1024];
  ssize_t n = ::read(fd, buf, sizeof buf - 1);
  ::close(fd);
  if (n <= 0)
    return {};
  std::string text(buf, static_cast<size_t>(n));
  size_t close_paren = text.rfind(')');
  if (close_paren == std::string::npos)
    return {};
  std::istringstream in(text.substr(close_paren + 1));
  std::vector<std::string> out;
  std::string f;
  while (in >> f)
    out.push_back(f);
  return out;
}

std::string cmdline_of(int64_t pid) {
  int fd =
      ::open(("/proc/" + std::to_string(pid) + "/cmdline").c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return "";
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0 && out.size() < (1u << 20))
    out.append(buf, static_cast<size_t>(n));
  ::close(fd);
  return out;
}
} // namespace

uint64_t process_start_time(int64_t pid) {
  auto f = stat_fields(pid);
  if (f.size() < 20 || f[0] == "Z" || f[0] == "X")
    return 0;
  return std::stoull(f[19]); // field 22
}

uint64_t cpu_time_ns(int64_t pid) {
  // utime and stime (fields 14 and 15) of the whole process, every vCPU thread in it.
  auto f = stat_fields(pid);
  if (f.size() < 13)
    return 0;
  static const long ticks = ::sysconf(_SC_CLK_TCK);
  uint64_t t = std::stoull(f[11]) + std::stoull(f[12]);
  return t * (1000000000ull / static_cast<uint64_t>(ticks > 0 ? ticks : 100));
}

// ---- completions and reports ---------------------------------------------------------

void complete_state(call c, domus_dom_state_v1 st, std::vector<domus_event_v1> events) {
  domus_result_v1 r = blank();
  r.state = &st;
  r.events = events.data();
  r.n_events = events.size();
  c.done(c.user, &r);
}

std::string name_of(domus_dom* d) {
  std::lock_guard<std::mutex> lock(d->mutex);
  return d->name;
}

namespace {

// `error`: why, when nobody asked for the change (the domain's last error).
void report(domus_instance* inst, domus_dom* d, int32_t state, int32_t reason,
            std::vector<domus_event_v1> events, const std::string& error = "") {
  d->run.state = state;
  d->run.reason = reason;
  domus_report_v1 rep{};
  rep.struct_size = sizeof rep;
  rep.state = {state, reason, state == DOMUS_STATE_SHUTOFF ? -1 : d->run.id};
  rep.events = events.data();
  rep.n_events = events.size();
  rep.error = error.empty() ? nullptr : error.c_str();
  inst->host->report(inst->host->ctx, d, &rep);
}

// The last lines QEMU wrote to its log during this start: printable bytes, at most 1000.
std::string log_tail(const qemu_run& run) {
  if (run.log_path.empty())
    return "";
  int fd = ::open(run.log_path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
  if (fd < 0)
    return "";
  off_t end = ::lseek(fd, 0, SEEK_END);
  off_t from = std::max<off_t>(static_cast<off_t>(run.log_offset), end - 2048);
  std::string text;
  if (end > from) {
    text.resize(static_cast<size_t>(end - from));
    ssize_t n = ::pread(fd, text.data(), text.size(), from);
    text.resize(n > 0 ? static_cast<size_t>(n) : 0);
  }
  ::close(fd);
  while (!text.empty() && (text.back() == '\n' || text.back() == ' '))
    text.pop_back();
  std::string out;
  for (unsigned char c : text)
    out += c == '\n' ? ' ' : (c < 0x20 || c == 0x7f) ? '?' : static_cast<char>(c);
  return out.size() > 1000 ? "..." + out.substr(out.size() - 1000) : out;
}

void kill_process(domus_instance* inst, qemu_run& run, int sig) {
  if (run.child)
    inst->host->kill(inst->host->ctx, run.child, sig);
  else if (run.watch)
    inst->host->signal_pid(inst->host->ctx, run.watch, sig);
}

void forget(domus_instance* inst, domus_dom* d) {
  {
    std::lock_guard<std::mutex> lock(inst->doms_mutex);
    inst->doms.erase(d);
  }
  delete d;
}

// ---- the end of a process ------------------------------------------------------------

// The QEMU exited (or is a zombie): the domain is shut off; then whoever waited is
// completed, or the change is reported.
void process_gone(domus_instance* inst, domus_dom* d, const std::string& how) {
  qemu_run& run = d->run;
  if (run.phase == run_phase::idle || run.phase == run_phase::preparing)
    return;
  std::string name = name_of(d);
  std::string tail = log_tail(run);
  if (run.kill_timer)
    inst->host->timer_stop(inst->host->ctx, run.kill_timer);
  if (run.watch)
    inst->host->unwatch_pid(inst->host->ctx, run.watch);
  if (!run.qmp_path.empty())
    ::unlink(run.qmp_path.c_str());
  if (run.vnc_port > 0)
    release_vnc_port(inst, run.vnc_port);
  // What the completions need, then the domain is idle.
  std::unique_ptr<qmp_client> monitor = std::move(run.qmp);
  call start = take(run.start), destroy = take(run.destroy),
       reconnect = take(run.reconnect);
  std::string start_failure = run.start_failure;
  bool start_cancelled = run.start_cancelled;
  bool started = run.started, host_shutdown = run.host_shutdown;
  int32_t end_reason = run.end_reason;
  run = qemu_run{};
  {
    std::lock_guard<std::mutex> lock(d->mutex);
    d->live.reset();
  }
  // Commands still out (a shutdown's system_powerdown) fail now.
  if (monitor)
    monitor->abandon("QEMU " + how);
  monitor.reset();
  if (reconnect) {
    forget(inst, d); // the runtime never had it
    return fail(reconnect.done, reconnect.user, errc::operation_failed,
                "its QEMU " + how + " while it was being taken back");
  }
  if (start) {
    std::string why = !start_failure.empty()
                          ? start_failure
                          : "QEMU of domain '" + name + "' " + how + " while starting";
    if (!tail.empty() && why.find(tail) == std::string::npos)
      why += ": " + tail;
    fail(start.done, start.user, start_cancelled ? errc::timeout : errc::operation_failed,
         why);
  }
  if (destroy)
    return complete_destroy(destroy, started, host_shutdown);
  if (start || !started)
    return;
  if (end_reason == DOMUS_REASON_SHUTDOWN) {
    report(inst, d, DOMUS_STATE_SHUTOFF, DOMUS_REASON_SHUTDOWN,
           {{DOMUS_EVENT_STOPPED, DOMUS_DETAIL_SHUTDOWN}});
  } else if (end_reason == DOMUS_REASON_CRASHED) {
    report(inst, d, DOMUS_STATE_SHUTOFF, DOMUS_REASON_CRASHED,
           {{DOMUS_EVENT_STOPPED, DOMUS_DETAIL_CRASHED}});
  } else if (host_shutdown) {
    // Someone else signalled QEMU: libvirt reports that as a shutdown by the host.
    report(inst, d, DOMUS_STATE_SHUTOFF, DOMUS_REASON_SHUTDOWN,
           {{DOMUS_EVENT_SHUTDOWN, DOMUS_DETAIL_HOST},
            {DOMUS_EVENT_STOPPED, DOMUS_DETAIL_SHUTDOWN}});
  } else {
    std::string why =
        "QEMU of domain '" + name + "' " + how + (tail.empty() ? "" : ": " + tail);
    log(inst, DOMUS_LOG_WARNING, why);
    report(inst, d, DOMUS_STATE_SHUTOFF, DOMUS_REASON_FAILED,
           {{DOMUS_EVENT_STOPPED, DOMUS_DETAIL_FAILED}}, why);
  }
}

std::string exit_text(const domus_child_event_v1* e) {
  if (e->signal)
    return "was killed by signal " + std::to_string(e->signal);
  if (e->status < 0)
    return "exited";
  return "exited with status " + std::to_string(e->status);
}

// The spawned QEMU's events; arg is its domain.
void on_child(void* arg, const domus_child_event_v1* e) {
  auto* d = static_cast<domus_dom*>(arg);
  qemu_run& run = d->run;
  if (e->kind == DOMUS_CHILD_SPAWNED) {
    run.pid = e->pid;
    run.start_time = process_start_time(e->pid);
    return;
  }
  run.child = 0;
  if (e->kind == DOMUS_CHILD_FAILED) {
    run.spawn_error =
        "cannot run " + run.emulator + ": " + std::strerror(static_cast<int>(-e->status));
    if (run.spawning)
      return; // launch() goes on from here once spawn returns
    if (run.start_failure.empty())
      run.start_failure = run.spawn_error;
  }
  try {
    process_gone(d->inst, d,
                 e->kind == DOMUS_CHILD_FAILED ? "could not start" : exit_text(e));
  } catch (const std::exception& ex) {
    log(d->inst, DOMUS_LOG_ERROR, std::string("QEMU driver: ") + ex.what());
  }
}

// A QEMU taken back after a restart ended; arg is its domain.
void on_watched_exit(void* arg, const domus_child_event_v1* e) {
  auto* d = static_cast<domus_dom*>(arg);
  d->run.watch = 0; // it fired: nothing to unwatch
  try {
    process_gone(d->inst, d, exit_text(e));
  } catch (const std::exception& ex) {
    log(d->inst, DOMUS_LOG_ERROR, std::string("QEMU driver: ") + ex.what());
  }
}

void kill_now(void* arg) {
  auto* d = static_cast<domus_dom*>(arg);
  d->run.kill_timer = 0;
  kill_process(d->inst, d->run, SIGKILL);
}

// Ends the process because the guest's lifecycle says so (reason: how it will have
// ended) or a start gave up (0).
void end_for(domus_instance* inst, domus_dom* d, int32_t reason) {
  if (d->run.phase == run_phase::ending)
    return;
  d->run.end_reason = reason;
  end_process(inst, d, false);
}

// A start gives up: QEMU is ended, and the start fails once it is gone. When the
// monitor itself went away, QEMU is exiting: its exit status and the log's tail say why,
// better than the broken connection would.
void abort_start(domus_instance* inst, domus_dom* d, const std::string& why) {
  bool monitor_lost = !d->run.qmp || !d->run.qmp->open();
  if (d->run.start_failure.empty() && !monitor_lost)
    d->run.start_failure = why;
  end_for(inst, d, 0);
}

// ---- QMP events ----------------------------------------------------------------------

std::string action_of(domus_dom* d, const char* element, const char* fallback) {
  std::lock_guard<std::mutex> lock(d->mutex);
  const model::domain_def& def = d->live ? *d->live : d->def;
  auto text = [&](const model::domain_def& x) {
    const model::xml_node* n = x.root().child(element);
    return n ? n->trimmed_text() : std::string(fallback);
  };
  return def.compact() ? text(model::expanded(def)) : text(def);
}

void reset_and_continue(domus_instance* inst, domus_dom* d) {
  run_command(inst, d, "system_reset", [inst, d](bool ok, const std::string&) {
    if (!ok || d->run.phase != run_phase::running)
      return;
    d->run.expect_resume++;
    run_command(inst, d, "cont", [inst, d](bool ok, const std::string&) {
      qemu_run& run = d->run;
      if (!ok) {
        if (run.expect_resume > 0)
          run.expect_resume--;
        return;
      }
      if (run.phase == run_phase::running && run.state != DOMUS_STATE_RUNNING)
        report(inst, d, DOMUS_STATE_RUNNING, DOMUS_REASON_BOOTED, {});
    });
  });
}

void on_guest_power_off(domus_instance* inst, domus_dom* d) {
  qemu_run& run = d->run;
  run.expect_stop++; // -no-shutdown: QEMU pauses the guest now
  if (run.fake_reboot) {
    run.fake_reboot = false;
    reset_and_continue(inst, d);
    return;
  }
  std::string action = action_of(d, "on_poweroff", "destroy");
  report(inst, d, DOMUS_STATE_SHUTDOWN, DOMUS_REASON_USER,
         {{DOMUS_EVENT_SHUTDOWN, DOMUS_DETAIL_GUEST}});
  if (action == "restart" || action == "rename-restart")
    reset_and_continue(inst, d);
  else if (action == "preserve")
    report(inst, d, DOMUS_STATE_PAUSED, DOMUS_REASON_SHUTTING_DOWN, {});
  else
    end_for(inst, d, DOMUS_REASON_SHUTDOWN);
}

void on_event(domus_instance* inst, domus_dom* d, const std::string& name,
              const json& data) {
  qemu_run& run = d->run;
  auto flag = [&](const char* key) {
    return data.is_object() && data.contains(key) && data[key].is_boolean() &&
           data[key].get<bool>();
  };
  auto text = [&](const char* key) {
    return data.is_object() && data.contains(key) && data[key].is_string()
               ? data[key].get<std::string>()
               : std::string();
  };
  if (name == "SHUTDOWN") {
    if (!flag("guest")) {
      run.host_shutdown = true;
      return;
    }
    if (run.phase != run_phase::running)
      return; // an end under way needs nothing more
    std::string why = text("reason");
    if (why == "guest-panic")
      return; // GUEST_PANICKED says it
    if (why == "guest-reset") {
      // -no-reboot (on_reboot destroy): the guest's reboot ends it.
      end_for(inst, d, DOMUS_REASON_SHUTDOWN);
      return;
    }
    on_guest_power_off(inst, d);
    return;
  }
  if (name == "STOP") {
    if (run.expect_stop > 0) {
      run.expect_stop--;
      return;
    }
    if (run.phase != run_phase::running || run.panicked)
      return; // QEMU pauses a panicked guest: it stays crashed
    if (run.io_error_stop) {
      run.io_error_stop = false;
      report(inst, d, DOMUS_STATE_PAUSED, DOMUS_REASON_IOERROR,
             {{DOMUS_EVENT_SUSPENDED, DOMUS_DETAIL_IOERROR}});
    } else {
      report(inst, d, DOMUS_STATE_PAUSED, DOMUS_REASON_UNKNOWN,
             {{DOMUS_EVENT_SUSPENDED, DOMUS_DETAIL_PAUSED}});
    }
    return;
  }
  if (name == "RESUME") {
    if (run.expect_resume > 0) {
      run.expect_resume--;
      return;
    }
    if (run.phase == run_phase::running)
      report(inst, d, DOMUS_STATE_RUNNING, DOMUS_REASON_UNPAUSED,
             {{DOMUS_EVENT_RESUMED, DOMUS_DETAIL_UNPAUSED}});
    return;
  }
  if (name == "GUEST_PANICKED") {
    if (run.phase != run_phase::running || run.panicked)
      return;
    run.panicked = true;
    report(inst, d, DOMUS_STATE_CRASHED, DOMUS_REASON_PANICKED,
           {{DOMUS_EVENT_CRASHED, DOMUS_DETAIL_PANICKED}});
    std::string action = action_of(d, "on_crash", "destroy");
    if (action == "restart" || action == "rename-restart") {
      run.panicked = false;
      reset_and_continue(inst, d);
    } else if (action != "preserve") {
      end_for(inst, d, DOMUS_REASON_CRASHED);
    }
    return;
  }
  if (name == "BLOCK_IO_ERROR") {
    if (text("action") == "stop")
      run.io_error_stop = true;
    return;
  }
  // RESET: a reboot QEMU carried out itself (on_reboot restart); nothing changes.
}

std::unique_ptr<qmp_client> monitor_for(domus_instance* inst, domus_dom* d, int fd) {
  return std::make_unique<qmp_client>(
      inst->host, fd, inst->qmp_timeout_ms,
      [inst, d](const std::string& name, const json& data) {
        on_event(inst, d, name, data);
      },
      [inst, d](const std::string& why) {
        // QEMU closes its monitor as it exits: the exit itself says the rest.
        if (d->run.phase == run_phase::launching)
          abort_start(inst, d, "QEMU of domain '" + name_of(d) + "': " + why);
      });
}

void started(domus_instance* inst, domus_dom* d) {
  qemu_run& run = d->run;
  run.phase = run_phase::running;
  run.started = true;
  run.id = inst->next_id++;
  std::vector<domus_event_v1> events;
  domus_dom_state_v1 st{};
  if (run.start_paused) {
    st = {DOMUS_STATE_PAUSED, DOMUS_REASON_USER, run.id};
    events = {{DOMUS_EVENT_STARTED, DOMUS_DETAIL_BOOTED},
              {DOMUS_EVENT_SUSPENDED, DOMUS_DETAIL_PAUSED}};
  } else {
    st = {DOMUS_STATE_RUNNING, DOMUS_REASON_BOOTED, run.id};
    events = {{DOMUS_EVENT_RESUMED, DOMUS_DETAIL_UNPAUSED},
              {DOMUS_EVENT_STARTED, DOMUS_DETAIL_BOOTED}};
  }
  run.state = st.state;
  run.reason = st.reason;
  std::string priv = status_data(*d, run.emulator);
  std::string xml;
  {
    std::lock_guard<std::mutex> lock(d->mutex);
    if (d->live)
      xml = model::format_domain(*d->live, model::secrets::keep, run.id);
  }
  call c = take(run.start);
  domus_result_v1 r = blank();
  r.state = &st;
  r.events = events.data();
  r.n_events = events.size();
  r.private_data = {priv.data(), priv.size()};
  r.xml = xml.empty() ? nullptr : xml.c_str();
  c.done(c.user, &r);
}

// The serial ports' pty paths, from query-chardev, into the live definition.
void learn_ptys(domus_dom* d, const json& chardevs) {
  std::lock_guard<std::mutex> lock(d->mutex);
  if (!d->live)
    return;
  model::xml_node* devs = d->live->root().child("devices");
  if (!devs)
    return;
  std::map<std::string, std::string> ptys;
  for (const auto& c : chardevs)
    if (c.is_object() && c.value("filename", "").rfind("pty:", 0) == 0)
      ptys[c.value("label", "")] = c.value("filename", "").substr(4);
  int serial = 0;
  std::string first_serial_pty;
  for (auto& c : devs->children) {
    if (c.is_text || (c.name != "serial" && c.name != "console"))
      continue;
    const std::string* type = c.attr("type");
    if (c.name == "console") {
      if ((!type || *type == "pty") && !first_serial_pty.empty()) {
        c.set_attr("tty", first_serial_pty);
        model::xml_node* src = c.child("source");
        if (!src) {
          c.children.insert(c.children.begin(), model::xml_node::element("source"));
          src = &c.children.front();
        }
        src->set_attr("path", first_serial_pty);
      }
      continue;
    }
    std::string label = "charserial" + std::to_string(serial++);
    auto it = ptys.find(label);
    if (it == ptys.end() || (type && *type != "pty"))
      continue;
    if (first_serial_pty.empty())
      first_serial_pty = it->second;
    model::xml_node* src = c.child("source");
    if (!src) {
      c.children.insert(c.children.begin(), model::xml_node::element("source"));
      src = &c.children.front();
    }
    src->set_attr("path", it->second);
  }
}

void continue_start(domus_instance* inst, domus_dom* d) {
  d->run.qmp->execute(
      "query-chardev", nullptr, [inst, d](bool ok, const json& ret, const std::string&) {
        if (d->run.phase != run_phase::launching)
          return;
        if (ok)
          learn_ptys(d, ret);
        if (d->run.start_paused)
          return started(inst, d);
        d->run.expect_resume++;
        d->run.qmp->execute("cont", nullptr,
                            [inst, d](bool ok, const json&, const std::string& error) {
                              if (d->run.phase != run_phase::launching)
                                return;
                              if (!ok)
                                return abort_start(inst, d, "cont: " + error);
                              started(inst, d);
                            });
      });
}

// The balloon's target, <currentMemory>, when it is below <memory> (libvirt sets it
// at start too; the guest's driver then gives the rest back).
void set_balloon(domus_instance* inst, domus_dom* d) {
  uint64_t target_kib = 0;
  {
    std::lock_guard<std::mutex> lock(d->mutex);
    if (d->live && has_balloon(*d->live) &&
        d->live->current_memory_kib < d->live->memory_kib)
      target_kib = d->live->current_memory_kib;
  }
  if (!target_kib)
    return continue_start(inst, d);
  d->run.qmp->execute("balloon", json{{"value", target_kib * 1024}},
                      [inst, d](bool ok, const json&, const std::string& error) {
                        if (d->run.phase != run_phase::launching)
                          return;
                        if (!ok)
                          return abort_start(inst, d, "balloon: " + error);
                        continue_start(inst, d);
                      });
}

// The VNC password over QMP (never on the command line or in the log), then the rest.
void after_negotiation(domus_instance* inst, domus_dom* d) {
  std::string password;
  {
    std::lock_guard<std::mutex> lock(d->mutex);
    if (d->live)
      password = vnc_password(*d->live);
  }
  if (password.empty())
    return set_balloon(inst, d);
  d->run.qmp->execute("set_password", json{{"protocol", "vnc"}, {"password", password}},
                      [inst, d](bool ok, const json&, const std::string& error) {
                        if (d->run.phase != run_phase::launching)
                          return;
                        if (!ok)
                          return abort_start(inst, d, "set_password: " + error);
                        set_balloon(inst, d);
                      });
}

} // namespace

void complete_destroy(call c, bool started, bool host_shutdown) {
  std::vector<domus_event_v1> events;
  if (started && host_shutdown)
    events.push_back({DOMUS_EVENT_SHUTDOWN, DOMUS_DETAIL_HOST});
  if (started)
    events.push_back({DOMUS_EVENT_STOPPED, DOMUS_DETAIL_DESTROYED});
  complete_state(c, {DOMUS_STATE_SHUTOFF, DOMUS_REASON_DESTROYED, -1}, events);
}

void drop_start(domus_instance* inst, domus_dom* d, errc code, const std::string& why) {
  (void)inst;
  qemu_run& run = d->run;
  call c = take(run.start);
  run = qemu_run{}; // a preparation still running is dropped when it ends
  ++d->generation;
  if (c)
    fail(c.done, c.user, code, why);
}

// ---- preparing and launching ---------------------------------------------------------

namespace {

// A disk file another running domain of the instance writes to may not be written by
// this one too (unless both mark it <shareable/>): refused, naming that domain, before
// QEMU's own image lock would refuse it less clearly.
void refuse_shared_writers(domus_instance* inst, const model::domain_def& def) {
  struct writer {
    std::string domain, path;
  };
  std::vector<writer> others;
  {
    std::lock_guard<std::mutex> lock(inst->doms_mutex);
    for (domus_dom* o : inst->doms) {
      std::lock_guard<std::mutex> dom_lock(o->mutex);
      if (!o->live || o->name == def.name)
        continue;
      for (const auto& f : disk_files(*o->live))
        if (!f.read_only && !f.shareable)
          others.push_back({o->name, f.path});
    }
  }
  for (const auto& mine : disk_files(def)) {
    if (mine.read_only || mine.shareable)
      continue;
    struct stat a {};
    if (::stat(mine.path.c_str(), &a) != 0)
      continue; // named by the open below
    for (const auto& w : others) {
      struct stat b {};
      if (::stat(w.path.c_str(), &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino)
        throw error(errc::invalid_operation,
                    "disk '" + mine.target + "' of domain '" + def.name + "' (" +
                        mine.path + ") is written by running domain '" + w.domain +
                        "'; mark it <shareable/> in both to share it");
    }
  }
}

} // namespace

std::unique_ptr<launch_plan> prepare_launch(domus_instance* inst,
                                            const model::domain_def& def) {
  auto plan = std::make_unique<launch_plan>();
  plan->live = std::make_unique<model::domain_def>(def);
  std::string emulator = inst->emulator;
  if (const model::xml_node* devs = def.root().child("devices"))
    if (const model::xml_node* e = devs->child("emulator"))
      emulator = e->trimmed_text();
  auto caps = caps_for(inst, emulator);
  bool kvm = def.type == "kvm";
  if (kvm) {
    std::string why = kvm_unusable();
    if (!why.empty())
      throw error(errc::operation_failed,
                  "domain '" + def.name +
                      "' is of type 'kvm' but KVM is not usable here (" + why +
                      "); type 'qemu' runs on TCG");
  }
  // The disks, named before QEMU is spawned; volumes by the paths their pools give.
  bool volumes = has_volume_disks(def);
  std::unique_ptr<model::domain_def> resolved;
  if (volumes)
    resolved =
        std::make_unique<model::domain_def>(with_volumes_resolved(*inst->host, def));
  const model::domain_def& disks = volumes ? *resolved : def;
  refuse_shared_writers(inst, disks);
  for (const auto& f : disk_files(disks)) {
    int fd = ::open(f.path.c_str(), (f.read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC);
    if (fd < 0)
      throw error(errc::operation_failed,
                  "disk '" + f.target + "' of domain '" + def.name + "': cannot open " +
                      f.path +
                      (f.read_only ? " for reading: " : " for reading and writing: ") +
                      std::strerror(errno));
    ::close(fd);
  }
  monitor_socket sock = make_monitor_socket(inst->run_dir + "/qmp", def.uuid_string());
  plan->listen_fd = sock.listen_fd;
  plan->monitor_fd = sock.client_fd;
  plan->qmp_path = sock.path;
  // An autoport VNC display gets the lowest free port from 5900, held for this domain
  // until its QEMU is gone; the live definition shows it.
  if (vnc_port(def) == 0) {
    plan->inst = inst;
    plan->vnc_port = reserve_vnc_port(inst);
    set_vnc_port(*plan->live, plan->vnc_port);
  }
  monitor_spec spec{plan->listen_fd, "", "", {}};
  spec.channel_dir = inst->run_dir + "/channel/" + def.uuid_string();
  auto channels = driver_made_channels(def);
  if (!channels.empty()) {
    if (::mkdir((inst->run_dir + "/channel").c_str(), 0700) != 0 && errno != EEXIST)
      throw error(errc::operation_failed,
                  "mkdir " + inst->run_dir + "/channel: " + std::strerror(errno));
    for (const auto& name : channels) {
      int fd = make_listening_socket(spec.channel_dir, name);
      plan->extra_fds.push_back(fd);
      spec.channel_fds[name] = fd;
    }
  }
  // A tap device for each bridge and ethernet interface, held here until QEMU has its
  // copy; the live definition names it.
  for (const auto& nic : tap_nics(*plan->live)) {
    tap_device tap = make_tap(nic.name, nic.mac, nic.bridge, nic.vnet_hdr);
    plan->extra_fds.push_back(tap.fd);
    spec.tap_fds[nic.place] = tap.fd;
    set_tap_name(*plan->live, nic.place, tap.name);
  }
  plan->argv =
      build_argv(volumes ? with_volumes_resolved(*inst->host, *plan->live) : *plan->live,
                 *caps, spec, kvm);

  // The log, as libvirt's /var/log/libvirt/qemu/NAME.log: appended per start.
  plan->log_path = inst->log_dir + "/" + def.name + ".log";
  plan->log_fd = ::open(plan->log_path.c_str(),
                        O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (plan->log_fd < 0)
    throw error(errc::operation_failed,
                "cannot open the log " + plan->log_path + ": " + std::strerror(errno));
  struct stat st {};
  ::fstat(plan->log_fd, &st);
  plan->log_offset = static_cast<uint64_t>(st.st_size);
  char when[64];
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  ::gmtime_r(&now, &tm);
  std::strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S+0000", &tm);
  std::string header = std::string(when) + ": starting up\n" +
                       shell_line(qemu_environment(), plan->argv) + "\n";
  // Arguments passed through unchecked taint the domain, as libvirt says it.
  if (def.root().child("qemu:commandline")) {
    header += std::string(when) + ": Domain '" + def.name + "' is tainted: custom-argv\n";
    log(inst, DOMUS_LOG_WARNING,
        "domain '" + def.name + "' is tainted: custom-argv (<qemu:commandline>)");
  }
  plan->log_offset += header.size(); // what QEMU says starts after it
  if (::write(plan->log_fd, header.data(), header.size()) < 0)
    throw error(errc::operation_failed,
                "cannot write the log " + plan->log_path + ": " + std::strerror(errno));
  return plan;
}

void launch(domus_instance* inst, domus_dom* d, std::unique_ptr<launch_plan> plan) {
  qemu_run& run = d->run;
  run.log_path = plan->log_path;
  run.log_offset = plan->log_offset;
  run.qmp_path = plan->qmp_path;
  run.emulator = plan->argv[0];
  {
    std::lock_guard<std::mutex> lock(d->mutex);
    d->live = std::move(plan->live);
  }
  std::vector<const char*> args;
  for (auto& a : plan->argv)
    args.push_back(a.c_str());
  args.push_back(nullptr);
  std::vector<const char*> env;
  for (const auto& e : qemu_environment())
    env.push_back(e.c_str());
  env.push_back(nullptr);
  std::vector<int32_t> pass = {plan->listen_fd};
  pass.insert(pass.end(), plan->extra_fds.begin(), plan->extra_fds.end());
  domus_spawn_v1 spec{};
  spec.struct_size = sizeof spec;
  spec.file = args[0];
  spec.argv = args.data();
  spec.envp = env.data();
  spec.stdin_fd = -1;
  spec.stdout_fd = plan->log_fd;
  spec.stderr_fd = plan->log_fd;
  spec.pass_fds = pass.data();
  spec.n_pass_fds = pass.size();
  spec.uid = -1;
  spec.gid = -1;
  run.phase = run_phase::launching;
  // On the loop thread the host spawns at once: a failure comes back inside the call.
  run.spawning = true;
  run.child = inst->host->spawn(inst->host->ctx, &spec, on_child, d);
  run.spawning = false;
  if (!run.child || !run.spawn_error.empty()) {
    run.child = 0;
    run.start_failure = !run.spawn_error.empty()
                            ? run.spawn_error
                            : "the host refused to spawn " + run.emulator;
    return process_gone(inst, d, "was never spawned");
  }
  plan->launched = true;
  run.vnc_port = plan->vnc_port;
  int fd = plan->monitor_fd;
  plan->monitor_fd = -1;
  run.qmp = monitor_for(inst, d, fd);
  run.qmp->negotiate([inst, d](bool ok, const std::string& error) {
    if (d->run.phase != run_phase::launching)
      return;
    if (!ok)
      return abort_start(inst, d, "QEMU of domain '" + name_of(d) + "': " + error);
    after_negotiation(inst, d);
  });
}

// ---- ending --------------------------------------------------------------------------

void end_process(domus_instance* inst, domus_dom* d, bool graceful) {
  qemu_run& run = d->run;
  if (run.phase != run_phase::launching && run.phase != run_phase::running) {
    // Already ending: a destroy that may kill hurries a graceful end along.
    if (run.phase == run_phase::ending && !graceful && !run.kill_timer)
      run.kill_timer = inst->host->timer_start(inst->host->ctx, inst->destroy_grace_ms, 0,
                                               kill_now, d);
    return;
  }
  run.phase = run_phase::ending;
  kill_process(inst, run, SIGTERM);
  if (!graceful)
    run.kill_timer =
        inst->host->timer_start(inst->host->ctx, inst->destroy_grace_ms, 0, kill_now, d);
}

void cancel_call(domus_instance* inst, domus_dom* d, void* user) {
  qemu_run& run = d->run;
  std::string name = name_of(d);
  if (run.start && run.start.user == user) {
    if (run.phase == run_phase::preparing) {
      // Not spawned yet: the start ends now; its preparation, if it runs, is dropped.
      if (run.work)
        inst->host->cancel_work(inst->host->ctx, run.work);
      return drop_start(inst, d, errc::timeout,
                        "the start of domain '" + name + "' was cancelled");
    }
    run.start_cancelled = true;
    if (run.start_failure.empty())
      run.start_failure = "the start of domain '" + name + "' was cancelled";
    end_for(inst, d, 0);
    return;
  }
  if (run.destroy && run.destroy.user == user) {
    // QEMU has not exited yet: killed now (never after a graceful destroy), and the
    // destroy answers at once; the exit is reported when it comes.
    if (!run.destroy_graceful)
      kill_process(inst, run, SIGKILL);
    call c = take(run.destroy);
    return fail(c.done, c.user, errc::timeout,
                "QEMU of domain '" + name + "' (pid " + std::to_string(run.pid) +
                    ") has not exited yet" +
                    (run.destroy_graceful ? " (a graceful destroy never kills it)"
                                          : "; it was killed"));
  }
  if (run.reconnect && run.reconnect.user == user) {
    // Its monitor does not answer in time: the guest is not taken back, and not left
    // running unmanaged either.
    call c = take(run.reconnect);
    kill_process(inst, run, SIGKILL);
    detach(inst, d);
    forget(inst, d);
    return fail(c.done, c.user, errc::timeout,
                "its QEMU's monitor did not answer in time; it was killed");
  }
}

void detach(domus_instance* inst, domus_dom* d) {
  qemu_run& run = d->run;
  run.qmp.reset();
  if (run.kill_timer)
    inst->host->timer_stop(inst->host->ctx, run.kill_timer);
  if (run.watch)
    inst->host->unwatch_pid(inst->host->ctx, run.watch);
  run.kill_timer = 0;
  run.watch = 0;
}

void run_command(domus_instance*, domus_dom* d, const std::string& command,
                 std::function<void(bool ok, const std::string& error)> reply) {
  if (!d->run.qmp || !d->run.qmp->open()) {
    reply(false, "the monitor of domain '" + name_of(d) + "' is not connected");
    return;
  }
  d->run.qmp->execute(
      command, nullptr,
      [reply](bool ok, const json&, const std::string& error) { reply(ok, error); });
}

std::string status_data(const domus_dom& d, const std::string& emulator) {
  json j = {{"pid", d.run.pid},      {"start_time", d.run.start_time},
            {"qmp", d.run.qmp_path}, {"id", d.run.id},
            {"emulator", emulator},  {"log", d.run.log_path}};
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

// ---- taking a QEMU back --------------------------------------------------------------

void take_back(domus_instance* inst, std::unique_ptr<domus_dom> owned, int64_t pid,
               uint64_t start_time, const std::string& emulator, call c) {
  domus_dom* d = owned.get();
  d->inst = inst;
  std::string name = d->name;
  uint64_t now_start = process_start_time(pid);
  if (pid <= 0 || now_start == 0 || now_start != start_time)
    return fail(c.done, c.user, errc::operation_failed,
                "its QEMU (pid " + std::to_string(pid) + ") is gone");
  std::string cmd = cmdline_of(pid);
  std::string argv0 = cmd.substr(0, cmd.find('\0'));
  if (argv0 != emulator ||
      cmd.find("guest=" + option_value(name) + ",") == std::string::npos)
    return fail(c.done, c.user, errc::operation_failed,
                "pid " + std::to_string(pid) + " is no longer its QEMU");
  int fd = connect_monitor(d->run.qmp_path);
  if (fd < 0)
    return fail(c.done, c.user, errc::operation_failed,
                "cannot reach the monitor of its QEMU (pid " + std::to_string(pid) +
                    ") at " + d->run.qmp_path + ": " + std::strerror(errno));
  qemu_run& run = d->run;
  run.pid = pid;
  run.start_time = start_time;
  run.emulator = emulator;
  run.phase = run_phase::running;
  run.started = true;
  run.watch = inst->host->watch_pid(inst->host->ctx, pid, start_time, on_watched_exit, d);
  if (!run.watch) {
    ::close(fd);
    return fail(c.done, c.user, errc::operation_failed,
                "cannot watch its QEMU (pid " + std::to_string(pid) + ")");
  }
  run.reconnect = c;
  run.qmp = monitor_for(inst, d, fd);
  {
    std::lock_guard<std::mutex> lock(inst->doms_mutex);
    inst->doms.insert(owned.release());
  }
  if (inst->next_id <= run.id)
    inst->next_id = run.id + 1;
  // The monitor does not answer: the guest is killed rather than left running with
  // nobody managing it, and the runtime shuts the domain off.
  auto give_up = [inst, d](const std::string& why) {
    call c = take(d->run.reconnect);
    if (!c)
      return;
    std::string text = "the monitor of its QEMU (pid " + std::to_string(d->run.pid) +
                       ") does not answer: " + why;
    kill_process(inst, d->run, SIGKILL);
    detach(inst, d);
    forget(inst, d);
    fail(c.done, c.user, errc::operation_failed, text);
  };
  run.qmp->negotiate([d, give_up](bool ok, const std::string& error) {
    if (!ok)
      return give_up(error);
    d->run.qmp->execute("query-status", nullptr,
                        [d, give_up](bool ok, const json& ret, const std::string& error) {
                          if (!ok)
                            return give_up(error);
                          call c = take(d->run.reconnect);
                          if (!c)
                            return;
                          bool running = ret.is_object() && ret.value("running", false);
                          std::string status =
                              ret.is_object() ? ret.value("status", "") : "";
                          qemu_run& run = d->run;
                          // What it does now; the reason is the likeliest one.
                          if (running) {
                            run.state = DOMUS_STATE_RUNNING;
                            run.reason = DOMUS_REASON_BOOTED;
                          } else {
                            run.state = DOMUS_STATE_PAUSED;
                            run.reason = status == "io-error" ? DOMUS_REASON_IOERROR
                                         : status == "shutdown"
                                             ? DOMUS_REASON_SHUTTING_DOWN
                                             : DOMUS_REASON_USER;
                          }
                          domus_dom_state_v1 st{run.state, run.reason, run.id};
                          domus_result_v1 r = blank();
                          r.dom = d;
                          r.state = &st;
                          c.done(c.user, &r);
                        });
  });
}

} // namespace domus::qemu_driver
