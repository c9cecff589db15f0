#define BOOST_TEST_MODULE pools_integration
#include <boost/test/unit_test.hpp>

#include "daemon.hpp"

#include <domus/protocol/client.hpp>

// Storage pools by kind (docs/architecture.md, "Pools and networks"): an instance lists
// the pools its driver reported when it opened, when that driver is the one serving pools
// for its scheme (the test driver's default-pool, a node file's); a scheme whose pools a
// host-wide driver ("*") serves, or none, is answered unsupported, naming which. domsh's
// pool commands are compared with virsh in cli_integration.

using namespace domus::testing;
using domus::protocol::errc;
using domus::protocol::json;
using namespace std::chrono_literals;

namespace {

domus::protocol::reply call(domus::protocol::connection& c, const std::string& uri,
                            const std::string& proc, const json& args = json::object()) {
  return c.call(uri, proc, args, 10s);
}

} // namespace

BOOST_AUTO_TEST_CASE(pools_come_from_the_driver_that_serves_them) {
  daemon_process d({"--plugin-dir", probe_plugin_dir({"kinds/host_storage.so"})});
  domus::protocol::connection c(d.socket(), false);
  auto own = call(c, "test:///default", "pool.list");
  BOOST_TEST_REQUIRE(own.ok, own.message);
  BOOST_TEST(own.result["pools"].size() == 1u);
  BOOST_TEST(own.result["pools"][0]["name"] == "default-pool");
  BOOST_TEST(own.result["pools"][0]["state"] == "running");
  // Inactive ones only: none.
  BOOST_TEST(call(c, "test:///default", "pool.list", {{"active", false}})
                 .result["pools"]
                 .empty());
  // The probe serves its own pools and has none.
  auto probe = call(c, "probe:///one", "pool.list");
  BOOST_TEST_REQUIRE(probe.ok, probe.message);
  BOOST_TEST(probe.result["pools"].empty());
  // A 1.0 driver's scheme: the host-wide driver's, whose instances are not opened yet.
  auto wide = call(c, "probe10:///one", "pool.list");
  BOOST_TEST((wide.code == errc::unsupported), wide.message);
  BOOST_TEST(wide.message == "the storage pools of 'probe10' URIs are the host-storage "
                             "driver's (host-wide), whose instances Domus does not open "
                             "yet");
  // Queries: the read-only socket answers them.
  domus::protocol::connection ro(d.socket(), true);
  auto info = call(ro, "test:///default", "pool.info",
                   {{"pool", "dfe224cb-28fb-8dd0-c4b2-64eb3f0f4566"}});
  BOOST_TEST_REQUIRE(info.ok, info.message);
  BOOST_TEST(info.result["capacity"] == 107374182400u);
  auto none = call(ro, "test:///default", "pool.xml", {{"pool", "nosuch"}});
  BOOST_TEST((none.code == errc::no_pool), none.message);
  auto bad = call(ro, "test:///default", "pool.info", {{"pool", 7}});
  BOOST_TEST((bad.code == errc::bad_request), bad.message);
}

BOOST_AUTO_TEST_CASE(a_scheme_without_a_pool_driver) {
  daemon_process d({"--plugin-dir", probe_plugin_dir()});
  domus::protocol::connection c(d.socket(), false);
  auto r = call(c, "probe10:///one", "pool.list");
  BOOST_TEST((r.code == errc::unsupported), r.message);
  BOOST_TEST(r.message == "no driver serves storage pools for 'probe10' URIs");
}

// A pool the driver reports that does not parse is skipped, named in the log; the rest
// of the instance serves.
BOOST_AUTO_TEST_CASE(a_pool_that_does_not_parse_is_skipped) {
  std::string dir = temp_dir("pn");
  std::string node = dir + "/node.xml";
  write_file(node, "<node>\n"
                   "  <pool type='dir'><uuid>5e6a1f9c-3bd1-4b84-a9b4-0d1c77a44c02</uuid>"
                   "<target><path>/p</path></target></pool>\n"
                   "  <pool type='dir'><name>good</name><target><path>/g</path></target>"
                   "</pool>\n"
                   "</node>\n");
  daemon_process d;
  domus::protocol::connection c(d.socket(), false);
  auto r = call(c, "test://" + node, "pool.list");
  BOOST_TEST_REQUIRE(r.ok, r.message);
  BOOST_TEST_REQUIRE(r.result["pools"].size() == 1u, r.result.dump());
  BOOST_TEST(r.result["pools"][0]["name"] == "good"); // with a UUID of its own
  BOOST_TEST(d.log().find("a pool does not parse: test://" + node +
                          ":1: /pool/name: missing the required element <name>; "
                          "skipped") != std::string::npos,
             d.log());
}
