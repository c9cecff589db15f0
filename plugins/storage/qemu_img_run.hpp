// Running Debian's qemu-img for a volume: spawned through the host services (own
// session, only the descriptors passed), the volume's file handed down as an inherited
// descriptor, its stderr kept for the error; the calling worker thread waits for it,
// bounded, and kills it past the bound. Never called on the loop thread.
#pragma once

#include <domus/driver_v1.h>

#include <atomic>
#include <chrono>
#include <string>
#include <vector>

namespace domus::storage_driver {

/// How a qemu-img run ended.
struct run_outcome {
  bool ok = false;
  std::string message;  ///< on failure: why, with qemu-img's own words when it said any
  bool aborted = false; ///< killed because `cancelled` turned true
};

/// Runs `argv` (argv[0] the program) with `pass_fds` kept open at their numbers, and
/// waits at most `bound` for it; `what` names the run in messages ("qemu-img create of
/// volume 'disk1.qcow2'"). With `cancelled`, it is killed soon after that turns true
/// (a long-running job aborted). From a worker thread only.
run_outcome run_qemu_img(const domus_host_v1* host, const std::vector<std::string>& argv,
                         const std::vector<int>& pass_fds, const std::string& what,
                         std::chrono::milliseconds bound,
                         const std::atomic<bool>* cancelled = nullptr);

} // namespace domus::storage_driver
