// The mock hypervisor's state: instances and domains of the `test` driver.
#pragma once

#include "faults.hpp"
#include <domus/driver_v1.h>

#include <domus/model/domain_def.hpp>
#include <domus/model/storage_def.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

namespace domus::test_driver {

/// One NUMA cell of `capabilities`: its memory, its free pages of each size, its CPUs
/// (numbered on from the cells before it, each a core of its own on socket = the cell).
struct numa_cell {
  uint64_t memory_kib = 0;
  std::vector<std::pair<uint32_t, uint64_t>> pages; ///< page size in KiB, count
  uint32_t cpus = 0;
};

/// Host facts `nodeinfo` shows; libvirt's test driver defaults unless a node file says.
struct node_facts {
  std::string cpu_model = "i686";
  uint64_t memory_kib = 3145728;
  uint32_t nodes = 2, sockets = 2, cores = 2, threads = 2, mhz = 1400;
  uint32_t active_cpus = 0; ///< 0: all of nodes * sockets * cores * threads
  uint32_t cpus() const;
  /// The cells `capabilities` lists: libvirt's two for the default configuration, none
  /// for a node file (its mock reads no cells from one).
  std::vector<numa_cell> cells;
};

/// The host's capabilities as libvirt's mock reports them (virsh capabilities).
std::string capabilities_xml(const node_facts& node);

/// An object the instance starts with (from the default configuration or a node file).
struct seed_object {
  int32_t kind = DOMUS_OBJECT_DOMAIN;
  std::string xml;
  int32_t state = DOMUS_STATE_SHUTOFF;
  bool persistent = true;
  std::string origin;               ///< the file it came from, for error messages
  std::vector<std::string> volumes; ///< a pool's volumes, each a <volume> document
};

/// What an instance starts with.
struct seed {
  node_facts node;
  std::vector<seed_object> objects;
  fault_plan faults; ///< a node file's test:fault declarations (tests only)
};

/// libvirt's default test configuration: domain `test`, network `default`, pool
/// `default-pool`.
seed default_seed();

/// Loads a libvirt test-driver node file. Throws domus::error naming file and cause.
seed load_node_file(const std::string& path);

} // namespace domus::test_driver

/// A mock domain. Mutating operations never overlap on one domain (the ABI's rule), but
/// `info` may run beside one, so the fields are guarded.
struct domus_dom {
  std::mutex mutex;
  domus::model::domain_def def;                   ///< what the next start boots
  std::unique_ptr<domus::model::domain_def> live; ///< while active only
  int32_t state = DOMUS_STATE_SHUTOFF;
  int32_t reason = DOMUS_REASON_UNKNOWN;
  int32_t id = -1;
  std::chrono::steady_clock::time_point started{};
};

/// A mock storage volume: its definition, with its key and path, as the mock shows it.
struct domus_vol {
  domus::model::volume_def def;
  std::string xml; ///< def, formatted
};

/// A mock storage pool: its definition as last defined or started, its state and its
/// volumes (kept while it is inactive, as the mock keeps them). Operations on one pool
/// never overlap (the ABI's rule); the lock is for the instance's close and for faults,
/// which read the name.
struct domus_pool {
  std::mutex mutex;
  domus::model::pool_def def;
  int32_t state = DOMUS_POOL_INACTIVE;
  std::map<std::string, std::unique_ptr<domus_vol>> vols; ///< by name
};

/// A mock hypervisor connection.
struct domus_instance {
  const domus_host_v1* host = nullptr;
  std::string uri;
  domus::test_driver::node_facts node;
  std::atomic<int32_t> next_id{1}; ///< ids are never reused, as in libvirt
  std::mutex doms_mutex;           ///< guards doms (taken on define and release only)
  std::set<domus_dom*> doms;       ///< every handle not released, freed by close
  std::set<domus_pool*> pools;     ///< the same for pools (guarded by doms_mutex)
  domus::test_driver::fault_plan faults; ///< its node file's test:fault declarations
  domus::test_driver::hung_calls hung;   ///< operations that never complete
};

namespace domus::test_driver {

/// An injected fault (a node file's test:fault) on operation `op` of the object `name`
/// (`kind` "domain" or "pool", for the message) takes the call: true, and the caller
/// returns. A failure completes at once; a hung call completes only when the runtime
/// cancels it.
bool injected_fault(domus_instance& inst, const std::string& op, const char* kind,
                    const std::string& name, domus_complete_fn done, void* user);

} // namespace domus::test_driver
