// The storage pool actor: one per pool of an instance. It owns the pool's facts (its
// definitions, state, sizes, autostart) and runs its changes one at a time, each a
// driver call of the pool table (docs/plugins.md), persisted and announced on
// pool.lifecycle; a pool's changes never wait behind a domain's or another pool's. The
// instance actor answers the queries from the pool's slot and hands it the rest.
#pragma once

#include "actors/instance_context.hpp"
#include "actors/pool_slot.hpp"

#include <caf/fwd.hpp>

#include <memory>

namespace domus::runtime {

/// What a pool actor starts from.
struct pool_seed {
  std::shared_ptr<const instance_context> ctx;
  std::shared_ptr<pool_slot> slot;
};

/// Spawns a pool actor linked to `parent` (the instance actor): it goes down with its
/// instance.
caf::actor spawn_pool_actor(caf::local_actor* parent, pool_seed seed);

/// The pool operation `name` of the instance's driver, or nullptr when its pool table
/// lacks it: DOMUS_POOL_OP(ctx, start).
#define DOMUS_POOL_OP(ctx, name)                                                         \
  ((DOMUS_DRIVER_OP(ctx, pool) &&                                                        \
    ::domus::runtime::reaches((ctx).driver().pool,                                       \
                              DOMUS_FIELD_END(domus_pool_ops_v1, name)))                 \
       ? (ctx).driver().pool->name                                                       \
       : nullptr)

/// The volume operation `name` of the instance's driver, or nullptr when its volume
/// table lacks it: DOMUS_VOLUME_OP(ctx, create).
#define DOMUS_VOLUME_OP(ctx, name)                                                       \
  ((DOMUS_DRIVER_OP(ctx, volume) &&                                                      \
    ::domus::runtime::reaches((ctx).driver().volume,                                     \
                              DOMUS_FIELD_END(domus_volume_ops_v1, name)))               \
       ? (ctx).driver().volume->name                                                     \
       : nullptr)

} // namespace domus::runtime
