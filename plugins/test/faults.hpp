// Fault injection, a testing feature of the mock hypervisor (as libvirt's test driver
// is one): a node file may declare, in the test namespace, operations of its instance
// that fail or never complete, so that tests can show what the runtime does then (busy
// deadlines, other domains unaffected, shutdown with a call outstanding). Per instance:
// one daemon hosts a faulty node-file instance beside healthy ones, and
// test:///default never has faults.
//
//   <node xmlns:test='http://libvirt.org/schemas/domain/test/1.0'>
//     <test:fault operation='start' action='hang' domain='slow'/>
//     <test:fault operation='suspend' action='fail' domain='*'/>
//
//     <test:fault operation='pool_start' action='hang' pool='slowpool'/>
//
// operation is a driver operation (start, shutdown, reboot, destroy, suspend, resume,
// undefine; pool_start, pool_destroy, pool_build, pool_delete, pool_refresh), action
// fail or hang, domain (pool for a pool operation) a name or *; nothing else is
// accepted.
#pragma once

#include <domus/driver_v1.h>

#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace domus::test_driver {

enum class fault { none = 0, fail, hang };

/// The faults a node file declared for its instance; empty for every other instance.
struct fault_plan {
  struct entry {
    std::string op, domain; ///< domain: the object's name (a pool's for pool_*), or *
    fault action;
  };
  std::vector<entry> entries;

  /// What to do for `op` on the domain named `name`.
  fault lookup(const std::string& op, const std::string& name) const;
};

/// The operations a fault may name.
bool is_fault_operation(const std::string& op);
/// Whether `op` is one of them on a pool (it names a pool, not a domain).
bool is_pool_fault_operation(const std::string& op);
/// Every operation a fault may name, "start, shutdown, ...", for error messages.
std::string fault_operations();

/// Completions of hung operations: made when the runtime cancels them, else freed with
/// the instance.
struct hung_calls {
  std::mutex mutex;
  std::vector<std::pair<domus_complete_fn, void*>> calls;
};

} // namespace domus::test_driver
