// domusd: the Domus daemon. Wires the pieces together: settings, paths and the pid lock,
// the driver plugins, the actor system, the event loop with the gateway, and shutdown.
#include "actors/instance_actor.hpp"
#include "actors/instance_watch.hpp"
#include "daemon/log.hpp"
#include "daemon/options.hpp"
#include "daemon/paths.hpp"
#include "daemon/pidfile.hpp"
#include "drivers/host_services.hpp"
#include "drivers/plugin_loader.hpp"
#include "gateway/gateway.hpp"
#include "persist/instance_restore.hpp"
#include "persist/store.hpp"

#include <domus/protocol/errors.hpp>

#include <caf/all.hpp>
#include <libxml/parser.h>
#include <malloc.h>

#include <csignal>
#include <cstdio>
#include <cstring>
#include <deque>
#include <future>
#include <iostream>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>

using namespace domus;
using namespace domus::runtime;

namespace {

// The directory name of a driver instance under etc/, var/lib/ and run/: the scheme for
// the instance libvirt keeps in /etc/libvirt/<driver> (test:///default, qemu:///system),
// else the scheme and the path made safe.
std::string instance_dir_name(const protocol::uri& u) {
  if (u.path == "/default" || u.path == "/system")
    return u.scheme;
  std::string out = u.scheme + "-";
  for (char c : u.path.substr(1))
    out +=
        (std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-') ? c : '_';
  if (out.size() > 120)
    out = out.substr(0, 100) + "-" + std::to_string(std::hash<std::string>{}(u.path));
  return out;
}

unsigned worker_count(const daemon_options& o) {
  if (o.worker_threads)
    return o.worker_threads;
  unsigned hw = std::thread::hardware_concurrency();
  return hw < 2 ? 2 : hw;
}

// SIGTERM and SIGINT are blocked in every thread (threads inherit the mask, so this runs
// before any starts) and read from a signalfd on the event loop: no handler runs in an
// arbitrary thread, and a second signal during shutdown changes nothing.
int block_stop_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  int fd = ::signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
  if (fd < 0)
    throw protocol::error(protocol::errc::internal,
                          std::string("signalfd: ") + std::strerror(errno));
  return fd;
}

int run(const command_line& cl) {
  int signal_fd = block_stop_signals();
  daemon_paths paths = make_paths(cl.root.value_or(""));
  daemon_options opts = resolve_options(cl, cl.config_file.value_or(paths.config_file()));
  // A root set in the file (not on the command line) moves the tree.
  if (!cl.root && !opts.root.empty())
    paths = make_paths(opts.root);
  set_log_level(opts.level);
  uint64_t descriptors = raise_descriptor_limit(opts);
  set_accept_ceiling(static_cast<int>(std::min<uint64_t>(descriptors, 1 << 30)),
                     static_cast<int>(daemon_limits::reserved_descriptors / 2));
  check_socket_paths(paths);
  // Whatever the daemon creates is its user's alone unless it says otherwise (sockets).
  ::umask(0077);
  create_directories(paths, run_dir_mode(opts.rw_socket_mode, opts.ro_socket_mode,
                                         opts.events_socket_mode));
  pid_file lock(paths.pid_file());

  xmlInitParser();
  // Heaps grow 8 MiB at a time instead of a page or so: with thousands of domains, an
  // allocation-heavy start-up otherwise spends a tenth of its time growing them
  // (sysmalloc, mprotect). Untouched growth costs address space, not memory.
  mallopt(M_TOP_PAD, 8 << 20);
  std::signal(SIGPIPE, SIG_IGN);

  driver_table drivers;
  std::string plugin_dir =
      opts.plugin_dir.empty() ? bundled_plugin_dir() : opts.plugin_dir;
  if (drivers.load_directory(plugin_dir) == 0)
    log_warning("no driver plugin loaded from " + plugin_dir + "; every URI will fail");

  caf::actor_system_config cfg;
  cfg.set("scheduler.policy", opts.scheduler_policy == "sharing" ? caf::atom("sharing")
                                                                 : caf::atom("stealing"));
  cfg.set("scheduler.max-threads", static_cast<size_t>(worker_count(opts)));
  caf::actor_system sys{cfg};

  store files; // outlives the actors: its destructor finishes what they submitted
  event_loop loop;
  std::deque<std::unique_ptr<host_services>> hosts; // loop thread only
  std::vector<caf::actor> instances;                // loop thread only
  gateway* gw_ptr = nullptr;
  caf::actor instance_watch;

  instance_factory factory = [&](const protocol::uri& u, std::string& why,
                                 protocol::errc& code) -> caf::actor {
    const loaded_driver* d = drivers.find(u.scheme);
    if (!d) {
      std::string loaded;
      for (auto& s : drivers.schemes())
        loaded += (loaded.empty() ? "" : ", ") + s;
      code = protocol::errc::no_driver;
      why = "no driver serves '" + u.scheme +
            "' URIs (loaded: " + (loaded.empty() ? "none" : loaded) + ")";
      return {};
    }
    instance_seed seed;
    seed.uri = u;
    seed.plugin = d;
    seed.gw = gw_ptr;
    std::string dir = instance_dir_name(u);
    seed.state_dir = paths.lib + "/" + dir;
    seed.run_dir = paths.run + "/" + dir;
    seed.files = &files;
    seed.job_wait_ms = opts.job_wait_ms;
    seed.limits = opts;
    // libvirt's convention: the instances /default, /system and /session keep their
    // domains; any other path (a test driver's node file) lives only as long as the
    // daemon.
    if (u.path == "/default" || u.path == "/system" || u.path == "/session") {
      seed.etc_dir = paths.etc + "/" + dir;
      seed.fresh = !instance_was_seeded(seed.etc_dir, seed.run_dir);
    }
    try {
      make_tree_dir(seed.state_dir, private_dir_mode);
      make_tree_dir(seed.run_dir, private_dir_mode);
      if (!seed.etc_dir.empty()) {
        make_tree_dir(seed.etc_dir, private_dir_mode);
        make_tree_dir(seed.etc_dir + "/autostart", private_dir_mode);
      }
    } catch (const protocol::error& e) {
      code = e.code();
      why = e.what();
      return {};
    }
    hosts.push_back(std::make_unique<host_services>(loop, u.normalized()));
    seed.host = hosts.back().get();
    caf::actor a = spawn_instance_actor(sys, std::move(seed));
    watch_instance(instance_watch, a, u.normalized());
    instances.push_back(a);
    return a;
  };

  gateway_config gcfg;
  gcfg.rw_path = paths.rw_socket();
  gcfg.ro_path = paths.ro_socket();
  gcfg.events_path = paths.events_socket();
  gcfg.rw_mode = opts.rw_socket_mode;
  gcfg.ro_mode = opts.ro_socket_mode;
  gcfg.events_mode = opts.events_socket_mode;
  gcfg.limits = opts;
  gcfg.journal_dir = paths.lib;
  gcfg.journal_capacity = opts.journal_events;
  gcfg.journal_reserve_bytes = opts.journal_reserve_bytes;
  gateway gw(loop, factory, gcfg);
  gw_ptr = &gw;
  instance_watch = spawn_instance_watch(sys, gw);

  std::promise<void> opened, stopped;
  auto stop_requested = std::make_shared<std::once_flag>();
  uv_poll_t* signal_poll = nullptr;
  struct signal_watch {
    int fd;
    std::function<void(int)> handler;
  } watch;
  watch.fd = signal_fd;
  watch.handler = [&, stop_requested](int signum) {
    std::call_once(*stop_requested, [&] {
      log_info(std::string("stopping (") + (signum == SIGTERM ? "SIGTERM" : "SIGINT") +
               ")");
      gw.drain(std::chrono::milliseconds(opts.shutdown_timeout_ms),
               [&] { stopped.set_value(); });
    });
  };
  loop.start([&] {
    try {
      gw.open();
    } catch (...) {
      opened.set_exception(std::current_exception());
      return;
    }
    signal_poll = new uv_poll_t;
    signal_poll->data = &watch;
    uv_poll_init(loop.uv(), signal_poll, signal_fd);
    uv_poll_start(signal_poll, UV_READABLE, [](uv_poll_t* h, int, int) {
      auto* w = static_cast<signal_watch*>(h->data);
      signalfd_siginfo info{};
      while (::read(w->fd, &info, sizeof info) == sizeof info)
        w->handler(static_cast<int>(info.ssi_signo));
    });
    for (auto& uri : opts.open_at_start)
      gw.open_instance(uri);
    opened.set_value();
  });
  try {
    opened.get_future().get();
  } catch (...) {
    loop.stop();
    throw;
  }
  log_info("descriptor limit " + std::to_string(descriptors) +
           ", of which the settings "
           "may use " +
           std::to_string(opts.descriptor_budget()));
  log_info("domusd " DOMUS_VERSION " ready; state under " + paths.etc + ", " + paths.lib +
           ", " + paths.run);
  if (paths.rw_socket() == "/run/domus/domus-sock" && ::geteuid() == 0)
    log_info("connect with: domsh list --all (as root; or -c 'test:///default')");
  else
    log_info("connect with: domsh -c 'test:///default?socket=" + paths.rw_socket() + "'");

  stopped.get_future().wait();

  // Nothing is in flight: stop the actors, then the loop (which closes the sockets).
  std::vector<caf::actor> to_stop;
  std::promise<void> listed;
  loop.post([&] {
    to_stop = instances;
    listed.set_value();
  });
  listed.get_future().wait();
  for (auto& a : to_stop)
    caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  to_stop.clear();
  caf::anon_send_exit(instance_watch, caf::exit_reason::user_shutdown);
  instance_watch = nullptr;
  sys.await_all_actors_done();
  // No actor calls a driver any more; the loop still runs for their callbacks.
  std::promise<void> closed;
  loop.post([&] {
    for (auto& h : hosts)
      h->close_instance();
    closed.set_value();
  });
  closed.get_future().wait();
  loop.stop([&] {
    uv_poll_stop(signal_poll);
    event_loop::close_and_delete(signal_poll);
    gw.close();
    instances.clear();
  });
  ::close(signal_fd);
  log_info("stopped");
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  command_line cl;
  try {
    cl = parse_command_line(args);
  } catch (const protocol::error& e) {
    std::fprintf(stderr, "domusd: error: %s\n", e.what());
    return 2;
  }
  if (cl.help) {
    std::cout << usage_text();
    return 0;
  }
  if (cl.version) {
    std::cout << "domusd " DOMUS_VERSION "\n";
    return 0;
  }
  try {
    return run(cl);
  } catch (const protocol::error& e) {
    std::fprintf(stderr, "domusd: error: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "domusd: error: %s\n", e.what());
    return 1;
  }
}
