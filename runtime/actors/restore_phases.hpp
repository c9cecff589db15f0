// Restore, the driver's part. persist/instance_restore reads what an earlier daemon
// wrote into a restore_plan; here the driver takes back every domain that was active
// (reconnect), then learns every persistent definition (define); the instance actor then
// adopts the result, an actor per domain, and shuts off what could not be reconnected.
#pragma once

#include "daemon/deadlines.hpp"
#include "drivers/driver_result.hpp"
#include "persist/instance_restore.hpp"

#include <domus/driver_v1.h>

#include <functional>
#include <memory>

namespace domus::runtime {

struct instance_context;

/// A driver call: call(complete, user) starts it.
using driver_call = std::function<void(domus_complete_fn, void*)>;
/// How the phases call the driver: the instance actor's pending calls, `then` running
/// in the actor.
using driver_caller = std::function<void(driver_op op, driver_call call,
                                         std::function<void(driver_result&)> then)>;

/// Phases 1 and 2 on `plan` (each domain's handle or error filled in), then `done`.
/// `ctx` and the callers outlive the calls (the instance actor waits for them).
void reconnect_then_define(const instance_context& ctx,
                           std::shared_ptr<restore_plan> plan, driver_caller drive,
                           std::function<void()> done);

} // namespace domus::runtime
