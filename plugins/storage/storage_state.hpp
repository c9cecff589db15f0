// What the storage driver keeps: its instances (one per hypervisor URI it serves pools
// for), their pools and the pools' volumes, and the few helpers every operation uses to
// complete. The runtime owns definitions, names and persistence; the driver keeps only
// what running a pool needs: its directory's descriptor and what a scan found.
#pragma once

#include <domus/driver_v1.h>
#include <domus/errors.hpp>
#include <domus/model/storage_def.hpp>

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>

/// One URI's storage: its pools, and how to reach the host.
struct domus_instance {
  const domus_host_v1* host = nullptr;
  std::string uri;
  std::string qemu_img; ///< the qemu-img binary (setting qemu_img)
  std::mutex mutex;     ///< guards pools
  std::set<domus_pool*> pools;
  /// The long-running volume calls the runtime may abort (the volume table's cancel),
  /// by their `user`: each a flag its worker looks at, and for a transfer the
  /// transfer, aborted on the loop thread where it lives.
  struct job {
    std::shared_ptr<std::atomic<bool>> cancelled;
    void* transfer = nullptr;
    void (*abort_transfer)(void* transfer) = nullptr;
  };
  std::mutex jobs_mutex; ///< guards jobs
  std::map<void*, job> jobs;
};

/// A volume as the pool's last scan, create or resize left it.
struct domus_vol {
  domus_pool* pool = nullptr; ///< the pool that lists it
  std::string name, key, path;
  int32_t type = DOMUS_VOL_FILE;
  std::string format = "raw";
  uint64_t capacity = 0, allocation = 0;
  std::string backing_path, backing_format;
  bool symlink = false; ///< listed read-only: never resized or wiped
};

/// A pool. Calls on one pool never overlap (the runtime's rule); the mutex guards what
/// another pool's call may read (a volume copied from it) and close.
struct domus_pool {
  domus_instance* inst = nullptr;
  std::mutex mutex;
  domus::model::pool_def def; ///< the definition it was defined or last started with
  int32_t state = DOMUS_POOL_INACTIVE;
  int dirfd = -1; ///< the target directory while active
  std::map<std::string, std::unique_ptr<domus_vol>> vols;
  ~domus_pool();
};

namespace domus::storage_driver {

/// A result with nothing in it but its size.
domus_result_v1 blank();

/// Completes with an error.
void fail(domus_complete_fn done, void* user, errc code, const std::string& message);

/// Runs `body`, which completes the operation itself; an exception it throws becomes an
/// error completion (nothing throws across the ABI): domus::error keeps its code, the
/// dir backend's errors are operation-failed, anything else internal.
void guarded(domus_complete_fn done, void* user, const std::function<void()>& body);

/// Runs `body` as blocking work of the instance (a worker thread of its own, never the
/// loop), guarded as above. Refused (too much work queued) or cancelled (the daemon
/// stops before it began): an error completion naming `what`.
void run_blocking(domus_instance* inst, const std::string& what, domus_complete_fn done,
                  void* user, std::function<void()> body);

/// Logs a line through the host, prefixed with the instance's URI by the runtime.
void log(domus_instance* inst, int32_t level, const std::string& message);

/// The pool's name, for messages ("storage pool 'default'").
std::string pool_label(const domus_pool& p);

/// Registers a long-running volume call by its `user` (from its start until just
/// before its completion): the flag its work looks at. A transfer passes itself and how
/// to abort it on the loop thread.
std::shared_ptr<std::atomic<bool>> register_job(domus_instance* inst, void* user,
                                                void* transfer = nullptr,
                                                void (*abort_transfer)(void*) = nullptr);
/// Forgets it (before its completion: the runtime never names it again after).
void unregister_job(domus_instance* inst, void* user);
/// The volume table's `cancel`: sets the call's flag, and aborts a transfer on the loop
/// thread. An unknown `user` (completed already) is ignored.
void cancel_job(domus_instance* inst, void* user);

/// The pool and volume operation tables (dir_pools.cpp, dir_volumes.cpp).
const domus_pool_ops_v1& pool_ops();
const domus_volume_ops_v1& volume_ops();

/// Completes with the pool's state and sizes, and none, all or one of its volumes; with
/// `handle` (a define only: no other call hands one over) the pool's handle. The caller
/// holds no lock.
enum class volumes { none, all, one };
void complete(domus_pool* p, domus_complete_fn done, void* user,
              volumes which = volumes::none, domus_vol* one = nullptr,
              bool handle = false);

} // namespace domus::storage_driver
