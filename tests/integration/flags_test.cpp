#define BOOST_TEST_MODULE flags_integration
#include <boost/test/unit_test.hpp>

#include "daemon.hpp"

#include <domus/protocol/client.hpp>

// Operation flags (docs/protocol.md, "Flags") through the real daemon: the probe driver
// built against today's header takes start's paused bit; the one built against the
// frozen 1.0 header (probe10) must be passed no flag at all; bits no version defines
// are refused before anything runs. (domsh's options against virsh: cli_integration.)

using namespace domus::testing;
using domus::protocol::errc;
using domus::protocol::json;
using namespace std::chrono_literals;

namespace {

struct fixture {
  daemon_process d{{"--plugin-dir", probe_plugin_dir()}};
  domus::protocol::connection c{d.socket(), false};
  domus::protocol::subscriber sub{c, {"domain.lifecycle"}};

  fixture() { sub.handshake(5s); }
  ~fixture() {
    try {
      for (auto u : {"probe:///one", "probe10:///one"})
        c.call(u, "domain.destroy", {{"domain", "g"}}, 5s);
    } catch (const std::exception&) {
    }
  }

  json ok(const std::string& uri, const std::string& proc, const json& args) {
    auto r = c.call(uri, proc, args, 10s);
    BOOST_TEST_REQUIRE(r.ok, proc << ": " << r.message);
    return r.result;
  }
  void refused(const std::string& uri, const std::string& proc, const json& args,
               errc code, const std::string& message) {
    auto r = c.call(uri, proc, args, 10s);
    BOOST_TEST(!r.ok);
    BOOST_TEST(static_cast<int>(r.code) == static_cast<int>(code), r.message);
    BOOST_TEST(r.message == message);
  }
  std::string next_lifecycle() {
    auto m = sub.next(10s);
    BOOST_TEST_REQUIRE(m.has_value(), "no lifecycle event within 10 s");
    return m->body["event"].get<std::string>() + "/" +
           m->body["detail"].get<std::string>();
  }
};

} // namespace

// start with paused: the guest comes up paused, announced as libvirt announces it.
BOOST_FIXTURE_TEST_CASE(a_1_1_driver_starts_paused, fixture) {
  std::string uri = "probe:///one";
  ok(uri, "domain.define", {{"xml", probe_xml("g")}});
  BOOST_TEST(next_lifecycle() == "defined/added");
  json s = ok(uri, "domain.start", {{"domain", "g"}, {"flags", 1}});
  BOOST_TEST(s["state"] == "paused");
  BOOST_TEST(s["reason"] == "user");
  BOOST_TEST(next_lifecycle() == "started/booted");
  BOOST_TEST(next_lifecycle() == "suspended/paused");
  BOOST_TEST(ok(uri, "domain.resume", {{"domain", "g"}})["state"] == "running");
}

// A 1.0 driver is passed no flag: refused naming the driver, its ABI and the bit, and
// nothing changes; without flags it starts.
BOOST_FIXTURE_TEST_CASE(a_1_0_driver_is_passed_no_flag, fixture) {
  std::string uri = "probe10:///one";
  ok(uri, "domain.define", {{"xml", probe_xml("g")}});
  refused(uri, "domain.start", {{"domain", "g"}, {"flags", 1}}, errc::unsupported,
          "the probe10 driver (plugin ABI 1.0) cannot be passed 0x1 (paused) of "
          "domain.start: flags need plugin ABI 1.1");
  BOOST_TEST(ok(uri, "domain.lookup", {{"domain", "g"}})["state"] == "shutoff");
  refused(uri, "domain.undefine", {{"domain", "g"}, {"flags", 4}}, errc::unsupported,
          "the probe10 driver (plugin ABI 1.0) cannot be passed 0x4 (nvram) of "
          "domain.undefine: flags need plugin ABI 1.1");
  BOOST_TEST(ok(uri, "domain.start", {{"domain", "g"}})["state"] == "running");
}

// A driver without the slot that takes flags (the probe has no undefine_flags) is
// passed none: refused, the definition stays.
BOOST_FIXTURE_TEST_CASE(a_slot_without_flags_is_passed_none, fixture) {
  std::string uri = "probe:///one";
  ok(uri, "domain.define", {{"xml", probe_xml("g")}});
  refused(uri, "domain.undefine", {{"domain", "g"}, {"flags", 4}}, errc::unsupported,
          "the probe driver takes no flags for domain.undefine (it has no "
          "undefine_flags): 0x4 (nvram)");
  BOOST_TEST(ok(uri, "domain.lookup", {{"domain", "g"}})["persistent"] == true);
  ok(uri, "domain.undefine", {{"domain", "g"}});
}

// Bits no version defines, and values that are no flags, are refused before anything
// runs, for every procedure; autodestroy is refused by the daemon itself, and a create
// asking for it leaves nothing behind.
BOOST_FIXTURE_TEST_CASE(undefined_bits_are_refused_before_anything_runs, fixture) {
  std::string uri = "probe:///one";
  ok(uri, "domain.define", {{"xml", probe_xml("g")}});
  refused(uri, "domain.start", {{"domain", "g"}, {"flags", 0x10}}, errc::invalid_argument,
          "flags 0x10 of domain.start are not defined (it defines 0x1 (paused), 0x2 "
          "(autodestroy), 0x4 (bypass-cache), 0x8 (force-boot), 0x20 (reset-nvram))");
  refused(uri, "domain.info", {{"domain", "g"}, {"flags", 1}}, errc::invalid_argument,
          "flags 0x1 of domain.info are not defined (it defines none)");
  refused(uri, "domain.list", {{"flags", 2}}, errc::invalid_argument,
          "flags 0x2 of domain.list are not defined (it defines none)");
  refused(uri, "domain.start", {{"domain", "g"}, {"flags", "paused"}}, errc::bad_request,
          "argument \"flags\" must be an integer from 0 to 4294967295");
  refused(uri, "domain.start", {{"domain", "g"}, {"flags", 4294967296ull}},
          errc::bad_request,
          "argument \"flags\" must be an integer from 0 to 4294967295");
  BOOST_TEST(ok(uri, "domain.lookup", {{"domain", "g"}})["state"] == "shutoff");

  std::string xml = probe_xml("once");
  refused(uri, "domain.create", {{"xml", xml}, {"flags", 2}}, errc::unsupported,
          "domusd does not support 0x2 (autodestroy) of domain.create: domusd does not "
          "track client connections yet");
  for (auto& dom : ok(uri, "domain.list", json::object())["domains"])
    BOOST_TEST(dom["name"] != "once");
}
