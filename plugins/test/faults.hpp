// Fault injection for tests: DOMUS_TEST_DRIVER_FAULTS in domusd's environment makes
// chosen operations of the test driver fail or never complete, so that tests can show
// what the runtime does then (busy deadlines, other domains unaffected, shutdown with a
// call outstanding). Test-only: without the variable nothing changes.
//
//   DOMUS_TEST_DRIVER_FAULTS="start:hang:slow1,suspend:fail:*"
//
// Each entry is OPERATION:ACTION:DOMAIN, ACTION fail or hang, DOMAIN a name or *.
#pragma once

#include <domus/driver_v1.h>

#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace domus::test_driver {

enum class fault { none = 0, fail, hang };

struct fault_plan {
  struct entry {
    std::string op, domain;
    fault action;
  };
  std::vector<entry> entries;

  /// Reads DOMUS_TEST_DRIVER_FAULTS; throws domus::error(config_error) when malformed.
  static fault_plan from_environment();
  /// What to do for `op` on the domain named `name`.
  fault lookup(const std::string& op, const std::string& name) const;
};

/// Completions that were never called (hung operations), freed with the instance.
struct hung_calls {
  std::mutex mutex;
  std::vector<std::pair<domus_complete_fn, void*>> calls;
};

} // namespace domus::test_driver
