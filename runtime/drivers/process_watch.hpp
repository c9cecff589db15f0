// Processes the daemon did not necessarily start: their identity (pid and start time,
// so that a reused pid is never taken for them), whether they are alive (a zombie is
// not: PID 1 in a container may never reap it), and the daemon as a subreaper that
// reaps orphaned descendants without taking the exit status of the children it
// watches. No libuv, no CAF.
#pragma once

#include <cstdint>
#include <optional>
#include <sys/types.h>

namespace domus::runtime {

/// Field 22 of /proc/PID/stat (clock ticks after boot when it started), or nullopt
/// when there is no such process.
std::optional<uint64_t> process_start_time(pid_t pid);

/// Alive: the process exists, is not a zombie, and (when start_time is not 0) started
/// at start_time.
bool process_alive(pid_t pid, uint64_t start_time = 0);

/// The pids of children whose owner reaps them itself (the host services' spawned
/// children, through their pidfd): the reaper leaves them alone. Thread-safe.
void own_child(pid_t pid);
void disown_child(pid_t pid);

/// Makes the daemon a child subreaper (prctl): orphaned descendants become its
/// children instead of PID 1's, which may never reap them. False when it cannot.
bool become_subreaper();

/// Whether become_subreaper() succeeded in this process: then the owners of children
/// call reap_orphans() after reaping theirs. (A process that is not a subreaper, a
/// test's, reaps its own children: nothing may take their status.)
bool is_subreaper();

/// Reaps the exited children of this process that no owner reaps (adopted orphans),
/// one pid at a time (never waitpid(-1), which would take a watched child's status).
/// It asks the kernel for an exited child without reaping it (waitid WNOWAIT), so a
/// call costs a system call per child reaped and one more, whatever the host runs.
/// The kernel shows one exited child at a time: an owned one stops the call, and its
/// owner, once it has reaped it, calls this again (the host services do). Returns how
/// many it reaped. Called on the loop thread, where owned children are spawned and
/// reaped.
int reap_orphans();

} // namespace domus::runtime
