#include "drivers/process_watch.hpp"

#include <cerrno>
#include <cstdlib>
#include <dirent.h>
#include <fstream>
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
bool read_stat(pid_t pid, char& state, pid_t& ppid, uint64_t& start) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)), {});
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
