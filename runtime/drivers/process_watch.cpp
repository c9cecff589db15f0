#include "drivers/process_watch.hpp"

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <fcntl.h>
#include <mutex>
#include <sstream>
#include <string>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>
#include <unordered_set>

namespace domus::runtime {

namespace {

// /proc/PID/stat's fields after the command name (which may hold spaces and parens):
// state is the first, the parent pid the second, the start time the twentieth.
// Read with open and read, never a stream: a process that exits between the open and
// the read makes read() fail with ESRCH, which libstdc++'s filebuf turns into an
// exception whatever the stream's exception mask (it stopped the loop thread once).
bool read_stat(pid_t pid, char& state, pid_t& ppid, uint64_t& start) {
  int fd =
      ::open(("/proc/" + std::to_string(pid) + "/stat").c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return false;
  char buf[1024]; // the fields read end well before; a longer line is cut, never read
  ssize_t n;
  do
    n = ::read(fd, buf, sizeof buf);
  while (n < 0 && errno == EINTR);
  ::close(fd);
  if (n <= 0)
    return false;
  std::string text(buf, static_cast<size_t>(n));
  auto paren = text.rfind(')');
  if (paren == std::string::npos)
    return false;
  std::istringstream rest(text.substr(paren + 1));
  std::string field;
  rest >> state >> ppid;
  for (int i = 5; i < 22 && rest >> field; ++i) {
  }
  return static_cast<bool>(rest >> start);
}

std::mutex owned_mutex;
std::unordered_set<pid_t>& owned() {
  static std::unordered_set<pid_t> s;
  return s;
}

} // namespace

std::optional<uint64_t> process_start_time(pid_t pid) {
  char state;
  pid_t ppid;
  uint64_t start;
  if (!read_stat(pid, state, ppid, start))
    return std::nullopt;
  return start;
}

bool process_alive(pid_t pid, uint64_t start_time) {
  char state;
  pid_t ppid;
  uint64_t start;
  if (pid <= 0 || !read_stat(pid, state, ppid, start))
    return false;
  return state != 'Z' && state != 'X' && (start_time == 0 || start == start_time);
}

void own_child(pid_t pid) {
  std::lock_guard<std::mutex> lock(owned_mutex);
  owned().insert(pid);
}

void disown_child(pid_t pid) {
  std::lock_guard<std::mutex> lock(owned_mutex);
  owned().erase(pid);
}

namespace {
std::atomic<bool> subreaper{false};
} // namespace

bool become_subreaper() {
  bool ok = ::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0;
  if (ok)
    subreaper = true;
  return ok;
}

bool is_subreaper() {
  return subreaper;
}

int reap_orphans() {
  int reaped = 0;
  for (;;) {
    siginfo_t info{};
    int rc;
    do
      rc = ::waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT);
    while (rc < 0 && errno == EINTR);
    if (rc < 0 || info.si_pid == 0)
      return reaped; // no children (ECHILD), or none has exited
    pid_t pid = info.si_pid;
    {
      std::lock_guard<std::mutex> lock(owned_mutex);
      if (owned().count(pid))
        return reaped; // its owner reaps it, then calls again for those behind it
    }
    int status;
    pid_t got;
    do
      got = ::waitpid(pid, &status, WNOHANG);
    while (got < 0 && errno == EINTR);
    if (got == pid)
      ++reaped;
    else if (got < 0 && errno == ECHILD)
      continue; // reaped by another thread meanwhile: those behind it are still ours
    else
      return reaped;
  }
}

} // namespace domus::runtime
