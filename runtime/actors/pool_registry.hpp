// The storage pools of one instance, as its driver reported them when it opened (the
// driver that serves pools for the instance's scheme, when it is the one serving its
// domains): their definitions, sizes and states, and the answers to pool.list,
// pool.info and pool.xml. No CAF here: the instance actor owns one. The pool
// operations, each pool's actor and the host-wide storage drivers' own instances come
// with the storage pools issue (docs/architecture.md, "Pools and networks").
#pragma once

#include "drivers/driver_result.hpp"

#include <domus/model/storage_def.hpp>
#include <domus/protocol/codec.hpp>

#include <map>
#include <string>
#include <vector>

namespace domus::runtime {

class pool_registry {
public:
  /// Takes the pools among `objects` (kind POOL); one whose definition does not parse,
  /// or whose name or UUID another has, is skipped and named in `skipped` with why.
  void add(std::vector<driver_result::object>& objects, const std::string& origin,
           std::vector<std::string>& skipped);

  /// {pools: [...]} in name order, active ones and/or inactive ones; each entry as
  /// info() answers it.
  protocol::json list(bool active, bool inactive) const;
  /// {name, uuid, state, persistent, autostart, capacity, allocation, available};
  /// throws protocol::error(no_pool).
  protocol::json info(const std::string& name_or_uuid) const;
  /// {xml}; throws protocol::error(no_pool).
  protocol::json xml(const std::string& name_or_uuid) const;

  size_t size() const { return pools_.size(); }

private:
  struct pool {
    model::pool_def def;
    int32_t state = DOMUS_POOL_INACTIVE;
    bool persistent = true;
    bool autostart = false;
    domus_pool* handle = nullptr;
  };
  const pool& find(const std::string& name_or_uuid) const;
  static protocol::json entry(const pool& p);

  std::map<std::string, pool> pools_;                // by name: listed in name order
  std::map<std::string, std::string> names_by_uuid_; // its UUID's text, to its name
};

/// A pool state's wire name ("running"), "" for an unknown one.
std::string_view pool_state_name(int32_t state);

} // namespace domus::runtime
