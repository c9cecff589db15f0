// The QEMU driver's state: an instance (one per URI, qemu:///system or qemu:///session)
// and its domains. A domain's definition is guarded by its mutex (define may come from
// any thread); everything about its running QEMU (the process, QMP, what the guest
// does) lives on the runtime's loop thread only, where every operation is posted.
#pragma once

#include "qemu_caps.hpp"
#include "qmp_client.hpp"

#include <domus/driver_v1.h>
#include <domus/errors.hpp>
#include <domus/model/domain_def.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

namespace domus::qemu_driver {

/// Where a domain's QEMU is in its life.
enum class run_phase {
  idle,      ///< no QEMU
  preparing, ///< a start's blocking preparation runs on a worker
  launching, ///< spawned; the monitor is negotiated, the vCPUs not started yet
  running,   ///< running or paused
  ending,    ///< signalled; its exit is awaited
};

/// An operation's completion, kept until the process says how it went.
struct call {
  domus_complete_fn done = nullptr;
  void* user = nullptr;
  explicit operator bool() const { return done != nullptr; }
};

/// Takes a kept completion, leaving none.
inline call take(call& c) {
  call out = c;
  c = call{};
  return out;
}

/// A domain's QEMU, loop thread only.
struct qemu_run {
  run_phase phase = run_phase::idle;
  int64_t pid = 0;
  uint64_t start_time = 0; ///< field 22 of /proc/PID/stat
  uint64_t child = 0;      ///< host spawn handle; 0 after a reconnect
  uint64_t watch = 0;      ///< host watch_pid handle after a reconnect
  std::string qmp_path;    ///< the monitor's socket
  std::unique_ptr<qmp_client> qmp;
  int32_t state = DOMUS_STATE_SHUTOFF;
  int32_t reason = DOMUS_REASON_UNKNOWN;
  int32_t id = -1;
  bool started = false; ///< started/booted was reported (or the guest was taken back)
  // What the driver asked for, so that QEMU's events about it are not reported twice.
  int expect_stop = 0;
  int expect_resume = 0;
  bool fake_reboot = false;   ///< a `reboot`: reset when the guest powers off
  bool host_shutdown = false; ///< QEMU said SHUTDOWN after a host's signal or quit
  bool panicked = false;
  bool io_error_stop = false; ///< BLOCK_IO_ERROR with action stop came before STOP
  // Its end.
  uint64_t kill_timer = 0;
  int32_t end_reason = 0; ///< why it stops when the driver chose (a reason), else 0
  // The calls waiting for the process.
  call start;
  bool start_paused = false;
  bool start_cancelled = false; ///< its deadline passed (or a destroy overtook it)
  std::string start_failure;    ///< why the start failed, once it did
  uint64_t work = 0;            ///< the start's blocking preparation
  bool spawning = false;        ///< inside host spawn (a failure is reported there)
  std::string spawn_error;
  call destroy;
  bool destroy_graceful = false;
  call reconnect;
  std::string log_path;
  uint64_t log_offset = 0; ///< where this start's lines begin in the log
  std::string emulator;
  int vnc_port = 0; ///< the autoport display's port it holds
};

} // namespace domus::qemu_driver

/// A QEMU domain.
struct domus_dom {
  domus_instance* inst = nullptr;
  std::mutex mutex;
  domus::model::domain_def def; ///< what the next start boots (guarded by mutex)
  std::string name;             ///< the definition's name (guarded by mutex)
  // Loop thread only.
  std::unique_ptr<domus::model::domain_def> live; ///< while active (guarded by mutex)
  domus::qemu_driver::qemu_run run;
  uint64_t generation = 0; ///< +1 per start: a discarded start's late work is dropped
};

/// A QEMU driver instance.
struct domus_instance {
  const domus_host_v1* host = nullptr;
  std::string uri;
  std::string state_dir, run_dir, log_dir, cache_dir;
  std::string emulator; ///< settings: the default emulator
  uint32_t qmp_timeout_ms = 30000;
  uint32_t destroy_grace_ms = 10000; ///< SIGTERM to SIGKILL
  std::mutex caps_mutex;
  std::map<std::string, std::shared_ptr<const domus::qemu_driver::qemu_caps>> caps;
  std::mutex doms_mutex;
  std::set<domus_dom*> doms;
  std::mutex ports_mutex;
  std::set<int> vnc_ports; ///< autoport VNC ports held by this instance's guests
  int32_t next_id = 1;     ///< loop thread only
};

namespace domus::qemu_driver {

/// A result with nothing in it but its size.
domus_result_v1 blank();
/// Completes with an error.
void fail(domus_complete_fn done, void* user, errc code, const std::string& message);
/// Runs body; an exception becomes an error completion (nothing throws across the ABI).
void guarded(domus_complete_fn done, void* user, const std::function<void()>& body);
/// Runs fn on the loop thread (where a domain's QEMU is driven).
void on_loop(domus_instance* inst, std::function<void()> fn);
/// How blocking work went: ok, or the error it threw.
struct work_outcome {
  bool ok = true;
  errc code = errc::internal;
  std::string message;
};
/// Runs body on a worker (it may block), then after(outcome) on the loop thread,
/// whatever happened (a refused or cancelled item too). Returns the work's handle for
/// cancel_work, 0 when it was refused (after then follows on the loop).
uint64_t on_worker(domus_instance* inst, const std::string& what,
                   std::function<void()> body,
                   std::function<void(const work_outcome&)> after);
/// Makes a document on a worker (it may block), then completes with it as result.xml.
void xml_from_worker(domus_instance* inst, const std::string& what,
                     domus_complete_fn done, void* user,
                     std::function<std::string()> make);
/// Writes one line to the daemon's log.
void log(domus_instance* inst, int32_t level, const std::string& message);

/// The capabilities of an emulator binary, probed (or read from the cache) when it
/// changed since they were last read. Blocking: call it on a worker.
std::shared_ptr<const qemu_caps> caps_for(domus_instance* inst, const std::string& path);

/// The domain operations (qemu_domain.cpp).
const domus_domain_ops_v1& domain_ops();

} // namespace domus::qemu_driver
