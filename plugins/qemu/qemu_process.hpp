// A domain's QEMU process on the loop thread: launching it, taking it back after a
// daemon restart, what its QMP events mean for the domain, and its end.
#pragma once

#include "qemu_state.hpp"

#include <functional>
#include <memory>
#include <string>

namespace domus::qemu_driver {

/// What a start prepared on a worker, for the launch on the loop thread.
struct launch_plan {
  std::vector<std::string> argv;
  int listen_fd = -1;         ///< the monitor's listening socket, QEMU's
  int monitor_fd = -1;        ///< our end, already connected to it
  int log_fd = -1;            ///< QEMU's stdout and stderr
  std::vector<int> extra_fds; ///< more sockets QEMU inherits (guest agent channels)
  uint64_t log_offset = 0;
  std::string log_path;
  std::string qmp_path;
  std::unique_ptr<model::domain_def> live;
  bool launched = false;          ///< QEMU has the socket: it stays
  domus_instance* inst = nullptr; ///< set with vnc_port
  int vnc_port = 0;               ///< reserved for an autoport display
  ~launch_plan();
};

/// Reserves the lowest VNC port from 5900 that no domain holds and binds now; throws
/// domus::error when none is left. Released when the QEMU is gone.
int reserve_vnc_port(domus_instance* inst);
void release_vnc_port(domus_instance* inst, int port);

/// Prepares a start (blocking: probes, checks disk files, makes the monitor's socket,
/// opens the log): the plan, or domus::error naming what is wrong.
std::unique_ptr<launch_plan> prepare_launch(domus_instance* inst,
                                            const model::domain_def& def);

/// Launches a prepared QEMU for the start kept in d->run.start, which completes once
/// QEMU runs (its vCPUs running unless paused), or once it failed and is gone.
void launch(domus_instance* inst, domus_dom* d, std::unique_ptr<launch_plan> plan);

/// Ends the domain's QEMU: SIGTERM, then SIGKILL after the grace unless `graceful`.
/// Whoever waits (a start, a destroy) completes when it is gone (process_gone).
void end_process(domus_instance* inst, domus_dom* d, bool graceful);

/// The end of a start that never launched (its preparation failed, or was cancelled
/// or overtaken by a destroy): the domain is idle again, and `why` fails the start.
void drop_start(domus_instance* inst, domus_dom* d, errc code, const std::string& why);

/// Completes a call with a state and the events that led to it.
void complete_state(call c, domus_dom_state_v1 st, std::vector<domus_event_v1> events);

/// The domain's name (its definition's, under its mutex).
std::string name_of(domus_dom* d);

/// Completes a kept destroy: shut off (destroyed), with QEMU's shutdown/host and
/// stopped/destroyed when a guest had started.
void complete_destroy(call c, bool started, bool host_shutdown);

/// A call's deadline passed (or a destroy overtakes it): the start, destroy or
/// reconnect it is gives up (docs/qemu.md).
void cancel_call(domus_instance* inst, domus_dom* d, void* user);

/// Takes back a QEMU that outlived the daemon: checks the process is that QEMU,
/// reconnects its monitor, learns its run state; completes `c` (result.dom, state).
void take_back(domus_instance* inst, std::unique_ptr<domus_dom> d, int64_t pid,
               uint64_t start_time, const std::string& emulator, call c);

/// The domain's status data for the runtime (pid, start time, monitor, id).
std::string status_data(const domus_dom& d, const std::string& emulator);

/// Runs a QMP command on a running domain; reply(ok, error text).
void run_command(domus_instance* inst, domus_dom* d, const std::string& command,
                 std::function<void(bool ok, const std::string& error)> reply);

/// Stops watching the process and closes the monitor (the daemon stops; QEMU runs on).
void detach(domus_instance* inst, domus_dom* d);

/// The QEMU's CPU time in ns (0 when unknown).
uint64_t cpu_time_ns(int64_t pid);

/// Field 22 of /proc/PID/stat, the process's start time; 0 when it is gone or a zombie.
uint64_t process_start_time(int64_t pid);

} // namespace domus::qemu_driver
