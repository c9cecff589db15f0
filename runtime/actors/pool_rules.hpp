// The storage pool lifecycle as a table: which pools each operation may run on (active
// or inactive, persistent or any), and the checks a new definition must pass against
// the instance's other pools (name, UUID, the storage it names), as libvirt's. An
// operation refused here never reaches the driver. No CAF here.
#pragma once

#include "actors/pool_slot.hpp"

#include <domus/protocol/procedures.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace domus::runtime {

/// One row: an operation and what the pool must be.
struct pool_rule {
  protocol::proc op;
  std::string_view verb; ///< "start", "create a volume in"
  std::string_view what; ///< the operation in "(start needs an inactive pool)"
  enum class needs { any, active, inactive } state;
  bool persistent;        ///< only a persistent pool (autostart)
  std::string_view event; ///< the pool.lifecycle event it causes, "" for none
};

/// The row of `op`, or nullptr when it has none (queries, define and create).
const pool_rule* find_pool_rule(protocol::proc op);

/// nullopt when `op` may run on the pool with `facts`; else the invalid-operation
/// message: "cannot start storage pool 'p1': it is active (start needs an inactive
/// pool)".
std::optional<std::string> check_pool_op(protocol::proc op, const pool_facts& facts,
                                         const std::string& name);

/// What a pool's definition claims of the host's storage, to find two pools on the same
/// storage: its type with the target directory (dir), the source device (fs, disk),
/// the host and exported directory (netfs), the volume group (logical), ...; "" when
/// the type claims nothing Domus compares.
std::string storage_claim(const model::pool_def& def);

} // namespace domus::runtime
