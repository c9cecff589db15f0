// A private domusd for one test: started on its own --root, ready when its socket
// answers, stopped by its pid.
#pragma once

#include "process.hpp"

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace domus::testing {

/// Paths of the build, from CMake.
std::string domusd_path();
std::string domsh_path();

class daemon_process {
public:
  /// Starts `domusd --root ROOT extra...` and waits (bounded) until it answers.
  explicit daemon_process(std::vector<std::string> extra = {}, std::string root = "",
                          std::map<std::string, std::string> env = {});
  /// Stops it with SIGTERM if still running (and checks nothing).
  ~daemon_process();

  const std::string& root() const { return root_; }
  std::string socket() const { return root_ + "/run/domus/domus-sock"; }
  /// test:///default (or another path) with ?socket= this daemon's socket.
  std::string uri(const std::string& path = "/default",
                  const std::string& scheme = "test") const;
  /// SIGTERM and wait: the exit status.
  int stop();
  /// SIGKILL and wait.
  void kill9();
  /// What the daemon logged so far.
  std::string log();
  int pid() const { return proc_->pid(); }
  child& process() { return *proc_; }

  /// Runs domsh -c uri(path, scheme) ARGS.
  run_result domsh(const std::vector<std::string>& args,
                   const std::string& stdin_text = "",
                   const std::string& path = "/default",
                   const std::string& scheme = "test");

private:
  std::string root_;
  std::unique_ptr<child> proc_;
  bool stopped_ = false;
};

/// A fresh plugin directory with the bundled test driver and the probe driver (the
/// test plugin of tests/plugins: real child processes through the host services), built
/// against today's ABI header (probe.so) and the frozen 1.0 one (probe10.so), and `more`
/// of tests/plugins ("kinds/host_storage.so").
/// `bundled`: more of the bundled drivers ("storage.so").
std::string probe_plugin_dir(const std::vector<std::string>& more = {},
                             const std::vector<std::string>& bundled = {});

/// A minimal definition of a probe driver domain named `name` (its name picks what the
/// probe does: tests/plugins/probe_driver.cpp).
std::string probe_xml(const std::string& name);

/// Polls until the daemon on `socket` answers events.ping, at most timeout; false if not.
bool wait_until_answering(const std::string& socket, std::chrono::milliseconds timeout,
                          child* proc = nullptr);

/// "CPU time:" lines differ by design: libvirt's mock reports the wall clock for every
/// domain, Domus's the time since the guest started (and none while shut off). Dropped.
std::string mask_cpu_time(const std::string& text);

} // namespace domus::testing
