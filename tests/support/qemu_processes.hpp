// The QEMU processes a test started, found in /proc by their guest's name, and killed by
// their pid when the test ends, pass or fail.
#pragma once

#include <string>
#include <vector>

namespace domus::testing {

/// The pids of live (not zombie) QEMUs whose command line names guest `name`.
std::vector<int> qemu_pids(const std::string& name);

/// Kills, by pid, every QEMU of the names given when it goes out of scope.
struct qemu_reaper {
  std::vector<std::string> names;
  ~qemu_reaper();
};

} // namespace domus::testing
