// domusd: the Domus daemon. Wires the pieces together: settings, paths and the pid lock,
// the driver plugins, the actor system, the event loop with the gateway, and shutdown.
#include "actors/instance_actor.hpp"
#include "actors/instance_watch.hpp"
#include "actors/messages.hpp"
#include "daemon/log.hpp"
#include "daemon/options.hpp"
#include "daemon/paths.hpp"
#include "daemon/pidfile.hpp"
#include "drivers/deadline_clock.hpp"
#include "drivers/host_services.hpp"
#include "drivers/plugin_loader.hpp"
#include "drivers/process_watch.hpp"
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
  sigaddset(&set, SIGCHLD); // an adopted orphan exited: reaped on the loop
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  int fd = ::signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
  if (fd < 0)
    throw protocol::error(protocol::errc::internal,
                          std::string("signalfd: ") + std::strerror(errno));
  return fd;
}

// The daemon's parts, made in the order they are declared and unmade in reverse; each
// step of a run is one method, called in order by run().
class domusd {
public:
  explicit domusd(const command_line& cl);
  ~domusd();
  domusd(const domusd&) = delete;
  domusd& operator=(const domusd&) = delete;

  int run() {
    prepare_process();
    load_drivers();
    start_actors();
    start_gateway();
    serve();
    announce_ready();
    stopped_.get_future().wait();
    shut_down();
    log_info("stopped");
    return 0;
  }

private:
  void settle(const command_line& cl);
  void prepare_process();
  void load_drivers();
  void start_actors();
  caf::actor make_instance(const protocol::uri& u, std::string& why,
                           protocol::errc& code);
  void start_gateway();
  void serve();
  void watch_signals();
  void announce_ready();
  void shut_down();

  // First: the stop signals are blocked before any member starts a thread (the store's),
  // since threads inherit the mask.
  int signal_fd_ = block_stop_signals();
  // Orphaned descendants (a guest's own children, a daemonized helper) become ours to
  // reap rather than PID 1's, which may never reap them.
  bool subreaper_ = become_subreaper();
  daemon_paths paths_;
  daemon_options opts_;
  uint64_t descriptors_ = 0;
  std::unique_ptr<pid_file> lock_;
  driver_table drivers_;
  caf::actor_system_config cfg_;
  std::unique_ptr<caf::actor_system> sys_;
  store files_; // outlives the actors: its destructor finishes what they submitted
  deadline_clock clock_; // outlives the actors: their calls' deadlines
  event_loop loop_;
  std::deque<std::unique_ptr<host_services>> hosts_; // loop thread only
  std::vector<caf::actor> instances_;                // loop thread only
  std::unique_ptr<gateway> gw_;
  caf::actor instance_watch_;
  std::promise<void> stopped_;
  std::once_flag stop_requested_;
  uv_poll_t* signal_poll_ = nullptr;
};

domusd::domusd(const command_line& cl) {
  settle(cl);
}

domusd::~domusd() {
  if (signal_fd_ >= 0)
    ::close(signal_fd_);
}

// Settings, the tree under the root with its modes, and the pid lock: before the
// drivers, the actors and the gateway (the store's thread exists already, idle).
void domusd::settle(const command_line& cl) {
  paths_ = make_paths(cl.root.value_or(""));
  opts_ = resolve_options(cl, cl.config_file.value_or(paths_.config_file()));
  // A root set in the file (not on the command line) moves the tree.
  if (!cl.root && !opts_.root.empty())
    paths_ = make_paths(opts_.root);
  set_log_level(opts_.level);
  descriptors_ = raise_descriptor_limit(opts_);
  set_accept_ceiling(static_cast<int>(std::min<uint64_t>(descriptors_, 1 << 30)),
                     static_cast<int>(daemon_limits::reserved_descriptors / 2));
  check_socket_paths(paths_);
  // Whatever the daemon creates is its user's alone unless it says otherwise (sockets).
  ::umask(0077);
  create_directories(paths_, run_dir_mode(opts_.rw_socket_mode, opts_.ro_socket_mode,
                                          opts_.events_socket_mode));
  lock_ = std::make_unique<pid_file>(paths_.pid_file());
}

void domusd::prepare_process() {
  xmlInitParser();
  // Heaps grow 8 MiB at a time instead of a page or so: with thousands of domains, an
  // allocation-heavy start-up otherwise spends a tenth of its time growing them
  // (sysmalloc, mprotect). Untouched growth costs address space, not memory.
  mallopt(M_TOP_PAD, 8 << 20);
  std::signal(SIGPIPE, SIG_IGN);
}

void domusd::load_drivers() {
  std::string dir = opts_.plugin_dir.empty() ? bundled_plugin_dir() : opts_.plugin_dir;
  if (drivers_.load_directory(dir) == 0)
    log_warning("no driver plugin loaded from " + dir + "; every URI will fail");
}

void domusd::start_actors() {
  cfg_.set("scheduler.policy", opts_.scheduler_policy == "sharing"
                                   ? caf::atom("sharing")
                                   : caf::atom("stealing"));
  cfg_.set("scheduler.max-threads", static_cast<size_t>(worker_count(opts_)));
  sys_ = std::make_unique<caf::actor_system>(cfg_);
}

// The gateway's instance factory: the actor of a driver instance, with its folders, or
// nothing and why.
caf::actor domusd::make_instance(const protocol::uri& u, std::string& why,
                                 protocol::errc& code) {
  const loaded_driver* d = drivers_.find(u.scheme);
  if (!d) {
    std::string loaded;
    for (auto& s : drivers_.schemes())
      loaded += (loaded.empty() ? "" : ", ") + s;
    code = protocol::errc::no_driver;
    why = "no driver serves '" + u.scheme +
          "' URIs (loaded: " + (loaded.empty() ? "none" : loaded) + ")";
    return {};
  }
  instance_seed seed;
  seed.uri = u;
  seed.plugin = d;
  seed.pool_plugin = drivers_.find(u.scheme, DOMUS_OBJECT_POOL);
  seed.gw = gw_.get();
  std::string dir = instance_dir_name(u);
  seed.state_dir = paths_.lib + "/" + dir;
  seed.run_dir = paths_.run + "/" + dir;
  seed.log_dir = paths_.log + "/" + dir;
  seed.cache_dir = paths_.cache + "/" + d->driver->name;
  seed.settings_file = paths_.driver_config_file(d->driver->name);
  seed.files = &files_;
  seed.job_wait_ms = opts_.job_wait_ms;
  seed.clock = &clock_;
  seed.deadlines = opts_.deadlines;
  seed.limits = opts_;
  // libvirt's convention: the instances /default, /system and /session keep their
  // domains; any other path (a test driver's node file) lives only as long as the
  // daemon.
  if (u.path == "/default" || u.path == "/system" || u.path == "/session") {
    seed.etc_dir = paths_.etc + "/" + dir;
    seed.fresh = !instance_was_seeded(seed.etc_dir, seed.run_dir);
  }
  const bool own_pools = !seed.pool_plugin || seed.pool_plugin == d;
  if (!own_pools) {
    // A host-wide storage driver: an instance of its own for this URI, with its own
    // services (its blocking work never queues behind the domain driver's) and folders.
    const std::string name = seed.pool_plugin->driver->name;
    auto& p = seed.pool_driver;
    p.state_dir = seed.state_dir + "/" + name + ".driver";
    p.run_dir = seed.run_dir + "/" + name + ".driver";
    p.cache_dir = paths_.cache + "/" + name;
    p.settings_file = paths_.driver_config_file(name);
    // libvirt's /var/lib/libvirt/images: the system instance's; another persisted one
    // (qemu:///session) keeps its own beside its state.
    if (!seed.etc_dir.empty())
      p.default_pool_dir =
          u.path == "/system" ? paths_.lib + "/images" : seed.state_dir + "/images";
  }
  std::vector<std::string> dirs = {seed.state_dir, seed.run_dir, seed.log_dir,
                                   seed.cache_dir};
  if (!seed.etc_dir.empty())
    dirs.insert(dirs.end(),
                {seed.etc_dir, seed.etc_dir + "/autostart", seed.etc_dir + "/storage",
                 seed.etc_dir + "/storage/autostart", seed.run_dir + "/storage"});
  if (!own_pools)
    dirs.insert(dirs.end(), {seed.pool_driver.state_dir, seed.pool_driver.run_dir,
                             seed.pool_driver.cache_dir});
  try {
    for (auto& dir : dirs)
      make_tree_dir(dir, private_dir_mode);
  } catch (const protocol::error& e) {
    code = e.code();
    why = e.what();
    return {};
  }
  hosts_.push_back(std::make_unique<host_services>(loop_, u.normalized()));
  seed.host = hosts_.back().get();
  if (!own_pools) {
    hosts_.push_back(std::make_unique<host_services>(loop_, u.normalized()));
    seed.pool_driver.host = hosts_.back().get();
  }
  caf::actor a = spawn_instance_actor(*sys_, std::move(seed));
  watch_instance(instance_watch_, a, u.normalized());
  instances_.push_back(a);
  return a;
}

void domusd::start_gateway() {
  gateway_config g;
  g.rw_path = paths_.rw_socket();
  g.ro_path = paths_.ro_socket();
  g.events_path = paths_.events_socket();
  g.rw_mode = opts_.rw_socket_mode;
  g.ro_mode = opts_.ro_socket_mode;
  g.events_mode = opts_.events_socket_mode;
  g.limits = opts_;
  g.journal_dir = paths_.lib;
  g.journal_capacity = opts_.journal_events;
  g.journal_reserve_bytes = opts_.journal_reserve_bytes;
  gw_ = std::make_unique<gateway>(
      loop_,
      [this](const protocol::uri& u, std::string& why, protocol::errc& code) {
        return make_instance(u, why, code);
      },
      g);
  instance_watch_ = spawn_instance_watch(*sys_, *gw_);
}

// On the loop thread: the sockets, the stop signals, the instances to open at start.
// Returns once they are, or throws what failed.
void domusd::serve() {
  std::promise<void> opened;
  loop_.start([&] {
    try {
      gw_->open();
    } catch (...) {
      opened.set_exception(std::current_exception());
      return;
    }
    watch_signals();
    for (auto& uri : opts_.open_at_start)
      gw_->open_instance(uri);
    opened.set_value();
  });
  try {
    opened.get_future().get();
  } catch (...) {
    loop_.stop();
    throw;
  }
}

// SIGTERM or SIGINT (read from the signalfd on the loop) drains the gateway once; a
// second signal changes nothing.
void domusd::watch_signals() {
  signal_poll_ = new uv_poll_t;
  signal_poll_->data = this;
  uv_poll_init(loop_.uv(), signal_poll_, signal_fd_);
  uv_poll_start(signal_poll_, UV_READABLE, [](uv_poll_t* h, int, int) {
    auto* self = static_cast<domusd*>(h->data);
    signalfd_siginfo info{};
    while (::read(self->signal_fd_, &info, sizeof info) == sizeof info) {
      int signum = static_cast<int>(info.ssi_signo);
      if (signum == SIGCHLD) {
        // Subreaper: orphaned descendants are ours to reap (PID 1 here may never), one
        // pid at a time, leaving the children the host services watch alone.
        reap_orphans();
        continue;
      }
      std::call_once(self->stop_requested_, [self, signum] {
        log_info(std::string("stopping (") + (signum == SIGTERM ? "SIGTERM" : "SIGINT") +
                 ")");
        for (auto& a : self->instances_)
          caf::anon_send(a, stopping_atom::value);
        self->gw_->drain(std::chrono::milliseconds(self->opts_.shutdown_timeout_ms),
                         [self] { self->stopped_.set_value(); });
      });
    }
  });
}

void domusd::announce_ready() {
  if (!subreaper_)
    log_warning("cannot become a child subreaper: orphaned descendants of guests are "
                "left to PID 1");
  log_info("descriptor limit " + std::to_string(descriptors_) +
           ", of which the settings " + "may use " +
           std::to_string(opts_.descriptor_budget()));
  log_info("domusd " DOMUS_VERSION " ready; state under " + paths_.etc + ", " +
           paths_.lib + ", " + paths_.run);
  if (paths_.rw_socket() == "/run/domus/domus-sock" && ::geteuid() == 0)
    log_info("connect with: domsh list --all (as root; or -c 'test:///default')");
  else
    log_info("connect with: domsh -c 'test:///default?socket=" + paths_.rw_socket() +
             "'");
}

// Nothing is in flight: stop the actors, then the drivers' instances, then the loop
// (which closes the sockets).
void domusd::shut_down() {
  std::vector<caf::actor> to_stop;
  std::promise<void> listed;
  loop_.post([&] {
    to_stop = instances_;
    listed.set_value();
  });
  listed.get_future().wait();
  for (auto& a : to_stop)
    caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  to_stop.clear();
  caf::anon_send_exit(instance_watch_, caf::exit_reason::user_shutdown);
  instance_watch_ = nullptr;
  sys_->await_all_actors_done();
  // No actor calls a driver any more; the loop still runs for their callbacks. Blocking
  // work that waits is cancelled; what runs gets a grace to end (its done, posted to the
  // loop, runs before the close below).
  for (auto& h : hosts_)
    h->stop_work(std::chrono::seconds(10));
  std::promise<void> closed;
  loop_.post([&] {
    for (auto& h : hosts_)
      h->close_instance();
    closed.set_value();
  });
  closed.get_future().wait();
  loop_.stop([&] {
    uv_poll_stop(signal_poll_);
    event_loop::close_and_delete(signal_poll_);
    gw_->close();
    instances_.clear();
  });
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
    return domusd(cl).run();
  } catch (const protocol::error& e) {
    std::fprintf(stderr, "domusd: error: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "domusd: error: %s\n", e.what());
    return 1;
  }
}
