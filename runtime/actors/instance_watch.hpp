// The instance watch: monitors every instance actor. One that dies (a bug) takes its
// domains' actors with it (they are linked); the watch fails the requests of its URI and
// lets the next request open the instance afresh, so the rest of the daemon carries on.
#pragma once

#include <caf/fwd.hpp>

#include <string>

namespace domus::runtime {

class gateway;

/// Spawns the watch. Tell it about an instance actor with watch_instance().
caf::actor spawn_instance_watch(caf::actor_system& sys, gateway& gw);

/// Starts watching `instance`, the actor of `uri`. From any thread.
void watch_instance(const caf::actor& watch, const caf::actor& instance,
                    const std::string& uri);

} // namespace domus::runtime
