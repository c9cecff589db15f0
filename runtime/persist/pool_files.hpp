// The files of one storage pool of a persisted instance, as store changes: its
// definition in <etc_dir>/storage/ (durable, before a define is acknowledged), its
// autostart link in <etc_dir>/storage/autostart/, and the live definition of an active
// pool in <status_dir>/storage/ (not flushed: it survives a crash of the daemon, not of
// the host). Read back when the instance opens again (read_persisted_pools). No CAF.
#pragma once

#include "persist/instance_paths.hpp"
#include "persist/store.hpp"

#include <domus/model/storage_def.hpp>

#include <optional>
#include <string>
#include <vector>

namespace domus::runtime {

/// Where the pools of the instance at `paths` live.
std::string pool_definition_dir(const instance_paths& paths);
std::string pool_autostart_dir(const instance_paths& paths);
std::string pool_status_dir(const instance_paths& paths);

/// The files of the pool `name` of the instance at `paths`.
struct pool_files {
  const instance_paths& paths;
  std::string name;

  store::change definition(const model::pool_def& def) const;
  store::change no_definition() const;
  store::change autostart() const;
  store::change no_autostart() const;
  /// The live definition of an active pool, with its sizes.
  store::change status(const model::pool_def& live) const;
  store::change no_status() const;
};

/// A pool as an earlier daemon left it.
struct persisted_pool {
  std::string name;
  std::optional<model::pool_def> def;  ///< the persistent definition; none: transient
  std::optional<model::pool_def> live; ///< the live one: it was active
  bool autostart = false;
};

/// The pools of the instance at `paths`, in name order. A file that does not parse is
/// left out and named in `skipped` with why; so is a status whose pool has another UUID
/// than its definition.
std::vector<persisted_pool> read_persisted_pools(const instance_paths& paths,
                                                 std::vector<std::string>& skipped);

} // namespace domus::runtime
