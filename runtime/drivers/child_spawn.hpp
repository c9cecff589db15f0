// Starting a driver's child process the way a guest must start (docs/plugins.md, "Host
// services"): in a session of its own, so that a terminal's Ctrl-C to a foreground
// domusd never reaches it; with every descriptor but 0-2 and the ones passed closed (a
// daemon descriptor without close-on-exec must not leak into a guest); with the signal
// mask and dispositions reset; optionally as another user, keeping that user's
// supplementary groups (a QEMU running as an unprivileged user keeps `kvm`). The caller
// watches the returned pidfd and reaps the child. No libuv, no CAF.
#pragma once

#include <domus/driver_v1.h>

#include <cstddef>
#include <optional>
#include <string>
#include <sys/types.h>
#include <vector>

namespace domus::runtime {

/// Descriptors one child may be passed besides 0-2 (the ABI's bound).
constexpr size_t max_pass_fds = DOMUS_SPAWN_MAX_PASS_FDS;

/// A descriptor the child gets: `source` of ours, at number `target` (3 or more) in it.
struct passed_fd {
  int source;
  int target;
};

struct spawn_request {
  std::string file;                             ///< searched in PATH when it has no '/'
  std::vector<std::string> argv;                ///< argv[0] included
  std::optional<std::vector<std::string>> envp; ///< nullopt: the daemon's environment
  std::string cwd;                              ///< "": the daemon's
  int stdio[3] = {-1, -1, -1};     ///< descriptors for 0, 1, 2; -1: /dev/null
  std::vector<passed_fd> pass_fds; ///< targets distinct, each 3 or more
  std::optional<uid_t> uid;        ///< run as this user (with its groups)
  std::optional<gid_t> gid;        ///< primary group; default: the user's
};

struct spawned_child {
  pid_t pid = -1;
  int pidfd = -1; ///< readable when the child exits; the caller closes it after reaping
};

/// Forks and execs `r`. Returns 0 with `out` set once the program runs (exec done), or
/// -errno when it could not (nothing is left running then: the child is reaped):
/// -EBADF for a source that is not open or a target below 3, -EINVAL for two sources
/// at one target or more than max_pass_fds.
int spawn_child(const spawn_request& r, spawned_child& out);

} // namespace domus::runtime
