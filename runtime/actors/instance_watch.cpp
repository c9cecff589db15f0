#include "actors/instance_watch.hpp"

#include "daemon/log.hpp"
#include "gateway/gateway.hpp"

#include <caf/all.hpp>

#include <unordered_map>

namespace domus::runtime {

namespace {

using watch_atom = caf::atom_constant<caf::atom("watch")>;

struct watch_state {
  std::unordered_map<caf::actor_id, std::string> uris;
  static inline const char* name = "instance-watch";
};

caf::behavior watch_behavior(caf::stateful_actor<watch_state>* self, gateway* gw) {
  self->set_down_handler([self, gw](caf::down_msg& dm) {
    auto it = self->state.uris.find(dm.source.id());
    if (it == self->state.uris.end())
      return;
    std::string uri = std::move(it->second);
    self->state.uris.erase(it);
    if (dm.reason == caf::exit_reason::user_shutdown ||
        dm.reason == caf::exit_reason::normal || !dm.reason)
      return; // stopped on purpose, or an open that failed (already answered)
    std::string why = self->system().render(dm.reason);
    log_error("the actor of driver instance " + uri + " failed (" + why +
              "); its requests are failed and the next request opens it again");
    gw->instance_down(uri, dm.source.id(),
                      "the driver instance " + uri + " failed (" + why +
                          "); the request was not completed");
  });
  return {
      [self](watch_atom, const caf::actor& a, const std::string& uri) {
        self->state.uris[a.id()] = uri;
        self->monitor(a);
      },
  };
}

} // namespace

caf::actor spawn_instance_watch(caf::actor_system& sys, gateway& gw) {
  return sys.spawn(watch_behavior, &gw);
}

void watch_instance(const caf::actor& watch, const caf::actor& instance,
                    const std::string& uri) {
  caf::anon_send(watch, watch_atom::value, instance, uri);
}

} // namespace domus::runtime
