// What the probe plugin's integration tests do with their connection, shared: a call on
// the fixture's URI, a call that must succeed, and stopping the guests left running (a
// probe guest is a child process that outlives the daemon by design).
//
//   struct fixture : domus::testing::domain_calls<fixture> {
//     daemon_process d; domus::protocol::connection c{d.socket(), false};
//     std::string uri = "probe:///one";
//     ~fixture() { destroy_running({uri}); }
//   };
#pragma once

#include <boost/test/unit_test.hpp>

#include <domus/protocol/client.hpp>

#include <chrono>
#include <exception>
#include <initializer_list>
#include <string>

namespace domus::testing {

/// A mixin for a fixture that has a connection `c` and a URI `uri`.
template <class Fixture> struct domain_calls {
  /// A request on the fixture's URI; its reply within 10 s.
  protocol::reply call(const std::string& proc, const protocol::json& args) {
    auto& f = static_cast<Fixture&>(*this);
    return f.c.call(f.uri, proc, args, std::chrono::seconds(10));
  }
  /// The result of a request that must succeed (the test stops where it does not).
  protocol::json ok(const std::string& proc, const protocol::json& args) {
    auto r = call(proc, args);
    BOOST_TEST_REQUIRE(r.ok, proc << ": " << r.message);
    return r.result;
  }
  /// Destroys every running domain of each URI. Never throws: a test that failed may
  /// leave a request unanswered.
  void destroy_running(std::initializer_list<std::string> uris) noexcept {
    auto& f = static_cast<Fixture&>(*this);
    try {
      for (const std::string& u : uris) {
        auto r =
            f.c.call(u, "domain.list", protocol::json::object(), std::chrono::seconds(5));
        if (!r.ok)
          continue;
        for (auto& dom : r.result["domains"])
          if (!dom["id"].is_null())
            f.c.call(u, "domain.destroy", {{"domain", dom["name"]}},
                     std::chrono::seconds(5));
      }
    } catch (const std::exception&) {
    }
  }
};

} // namespace domus::testing
