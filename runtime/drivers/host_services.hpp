// The host services table a driver instance gets at open (domus_host_v1): logging,
// unsolicited reports, work, timers and fd watches on the event loop, child processes,
// blocking work on worker threads.
#pragma once

#include "actors/domain_slot.hpp"
#include "drivers/driver_result.hpp"
#include "gateway/event_loop.hpp"

#include <domus/driver_v1.h>

#include <caf/actor.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace domus::runtime {

/// The services of one driver instance. Lives until the daemon exits.
class host_services {
public:
  host_services(event_loop& loop, std::string uri);
  ~host_services();
  host_services(const host_services&) = delete;
  host_services& operator=(const host_services&) = delete;

  /// The table handed to the driver's open.
  const domus_host_v1* table() const;

  /// Reports about `dom` go to whichever actor the slot names; until unbind.
  void bind(domus_dom* dom, std::weak_ptr<domain_slot> slot);
  void unbind(domus_dom* dom);

  /// How resolve_volume finds a volume by pool and name: 0 and `out`, or a DOMUS_E_*
  /// number. Called from any thread. Set before the driver opens.
  using volume_lookup = std::function<int32_t(
      const std::string& pool, const std::string& volume, driver_volume& out)>;
  void set_volume_lookup(volume_lookup fn);

  /// How users_of finds the domains that use a pool (`volume` null), a volume or a
  /// network (`kind` DOMUS_OBJECT_*): their names, in any order. Called from any
  /// thread. Set before the driver opens.
  using users_lookup = std::function<std::vector<std::string>(
      int32_t kind, const std::string& name, const std::string* volume, bool running)>;
  void set_users_lookup(users_lookup fn);

  /// The driver instance these services belong to, once it is open.
  void set_opened(const domus_driver_v1* driver, domus_instance* inst);

  /// Cancels the instance's waiting blocking work and waits up to `grace` for the work
  /// that runs. Returns false when some still runs: the instance is then never closed.
  /// Call once no actor uses the instance, from any thread but the loop's.
  bool stop_work(std::chrono::milliseconds grace);

  /// Closes the driver instance (if it opened), on the loop thread, after stop_work and
  /// after the loop ran the `done` of the work that ended. From then on no callback of
  /// the instance reaches the driver (its children are still reaped).
  void close_instance();

  struct impl;

private:
  std::unique_ptr<impl> impl_;
};

} // namespace domus::runtime
