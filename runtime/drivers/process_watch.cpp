#include "drivers/process_watch.hpp"

#include <cerrno>
#include <cstdlib>
#include <dirent.h>
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

bool become_subreaper() {
  return ::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0;
}

int reap_orphans() {
  pid_t self = ::getpid();
  int reaped = 0;
  DIR* proc = ::opendir("/proc");
  if (!proc)
    return 0;
  while (auto* e = ::readdir(proc)) {
    pid_t pid = static_cast<pid_t>(std::atoi(e->d_name));
    if (pid <= 0)
      continue;
    char state;
    pid_t ppid;
    uint64_t start;
    if (!read_stat(pid, state, ppid, start) || ppid != self || state != 'Z')
      continue;
    {
      std::lock_guard<std::mutex> lock(owned_mutex);
      if (owned().count(pid))
        continue;
    }
    int status;
    if (::waitpid(pid, &status, WNOHANG) == pid)
      ++reaped;
  }
  ::closedir(proc);
  return reaped;
}

} // namespace domus::runtime
