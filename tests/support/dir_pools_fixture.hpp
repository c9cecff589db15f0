// A daemon whose storage driver serves real dir pools for probe10:///system (the probe
// driver built against ABI 1.0 stands for the hypervisor, as qemu:///system is served),
// with the helpers the storage tests share: domsh on that URI, protocol calls, and
// refusals checked by code and words.
#pragma once

#include "daemon.hpp"

#include <boost/test/unit_test.hpp>

#include <domus/protocol/client.hpp>

#include <chrono>
#include <string>

namespace domus::testing {

struct dir_pools_fixture {
  static constexpr const char* system_uri = "probe10:///system";

  daemon_process d;
  domus::protocol::connection c{d.socket(), false};
  // The instance opens on its first request, and makes the pool `default` then. `root`:
  // the daemon's, prepared by the caller (its settings files); "": a fresh one.
  explicit dir_pools_fixture(const std::string& root = "")
      : d({"--plugin-dir", probe_plugin_dir({}, {"storage.so"})}, root) {
    ok("pool.list");
  }

  std::string images() const { return d.root() + "/var/lib/domus/images"; }
  run_result sh(const std::string& line) {
    return d.domsh({line}, "", "/system", "probe10");
  }
  domus::protocol::reply call(const std::string& proc,
                              const protocol::json& args = protocol::json::object()) {
    return c.call(system_uri, proc, args, std::chrono::seconds(30));
  }
  protocol::json ok(const std::string& proc,
                    const protocol::json& args = protocol::json::object()) {
    auto r = call(proc, args);
    BOOST_TEST_REQUIRE(r.ok, proc << ": " << r.message);
    return r.result;
  }
  // A refusal: its code, and the message holds `part`.
  void refused(const std::string& proc, const protocol::json& args, protocol::errc code,
               const std::string& part) {
    auto r = call(proc, args);
    BOOST_TEST(!r.ok, proc << " " << args.dump() << " was accepted");
    BOOST_TEST((r.code == code), proc << " " << args.dump() << ": " << r.message);
    BOOST_TEST(r.message.find(part) != std::string::npos,
               "'" << r.message << "' does not name '" << part << "'");
  }
};

} // namespace domus::testing
