#include "qemu_processes.hpp"

#include "test_files.hpp"

#include <dirent.h>
#include <signal.h>

#include <cstdlib>

namespace domus::testing {

std::vector<int> qemu_pids(const std::string& name) {
  std::vector<int> out;
  DIR* dir = ::opendir("/proc");
  if (!dir)
    return out;
  while (dirent* e = ::readdir(dir)) {
    int pid = std::atoi(e->d_name);
    if (pid <= 0)
      continue;
    std::string cmd = read_file("/proc/" + std::to_string(pid) + "/cmdline");
    if (cmd.rfind("/usr/bin/qemu-system-x86_64", 0) != 0 ||
        cmd.find(std::string("guest=") + name + ",") == std::string::npos)
      continue;
    std::string stat = read_file("/proc/" + std::to_string(pid) + "/stat");
    size_t paren = stat.rfind(')');
    if (paren != std::string::npos && stat.size() > paren + 2 && stat[paren + 2] == 'Z')
      continue;
    out.push_back(pid);
  }
  ::closedir(dir);
  return out;
}

qemu_reaper::~qemu_reaper() {
  for (auto& n : names)
    for (int pid : qemu_pids(n))
      ::kill(pid, SIGKILL);
}

} // namespace domus::testing
