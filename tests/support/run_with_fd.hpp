// Runs a program with one descriptor passed as its descriptor 3, as the host services
// will pass qemu-img the volume it writes: for the dir backend's tests and benchmarks.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <vector>

namespace domus::testing {

/// Runs argv (argv[0] looked up on PATH) with `fd` as the child's descriptor 3; returns
/// its exit status (126: the descriptor could not be passed, 127: no such program, 128:
/// killed by a signal).
inline int run_with_fd(const std::vector<std::string>& argv, int fd) {
  std::vector<char*> args;
  for (auto& a : argv)
    args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = ::fork();
  if (pid == 0) {
    if (::dup2(fd, 3) < 0)
      ::_exit(126);
    ::execvp(args[0], args.data());
    ::_exit(127);
  }
  int status = 0;
  if (pid < 0 || ::waitpid(pid, &status, 0) != pid)
    return 128;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

} // namespace domus::testing
