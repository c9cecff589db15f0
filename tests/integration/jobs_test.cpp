#define BOOST_TEST_MODULE jobs_integration
#include <boost/test/unit_test.hpp>

#include "daemon.hpp"

#include <domus/protocol/client.hpp>

#include <sys/stat.h>

// Jobs: changes to one domain run one at a time, a change that waits too long fails with
// busy naming the running job, queries never wait, and other domains never notice. The
// test driver's fault injection (DOMUS_TEST_DRIVER_FAULTS) holds or fails calls.

using namespace domus::testing;
using domus::protocol::json;

namespace {

std::string guest(const std::string& name) {
  return "<domain type='test'><name>" + name +
         "</name><memory>65536</memory><os><type>hvm</type></os></domain>";
}

// A daemon whose test driver never completes `start` of domain 'slow' and fails every
// `suspend` of 'broken'; changes wait at most 400 ms.
struct fixture {
  std::string root = temp_dir("jb");
  std::unique_ptr<daemon_process> d;
  fixture() {
    ::mkdir((root + "/etc").c_str(), 0755);
    ::mkdir((root + "/etc/domus").c_str(), 0755);
    write_file(root + "/etc/domus/domusd.conf",
               "job_wait_ms = 400\nshutdown_timeout_ms = 1000\n");
    d = std::make_unique<daemon_process>(
        std::vector<std::string>{}, root,
        std::map<std::string, std::string>{
            {"DOMUS_TEST_DRIVER_FAULTS", "start:hang:slow,suspend:fail:broken"}});
  }
};

json ok(domus::protocol::connection& c, const std::string& proc, const json& args) {
  auto r = c.call("test:///default", proc, args, std::chrono::seconds(10));
  BOOST_TEST_REQUIRE(r.ok, proc << ": " << r.message);
  return r.result;
}

} // namespace

BOOST_FIXTURE_TEST_SUITE(jobs, fixture)

BOOST_AUTO_TEST_CASE(a_pending_call_holds_only_its_own_domain) {
  domus::protocol::connection c(d->socket(), false);
  ok(c, "domain.define", {{"xml", guest("slow")}});
  ok(c, "domain.define", {{"xml", guest("fast")}});
  // slow's start never completes: its request stays open.
  int64_t pending = c.send("test:///default", "domain.start", {{"domain", "slow"}});
  // Everything else goes on meanwhile: listing, queries on slow, changes to others.
  auto list = ok(c, "domain.list", json::object());
  BOOST_TEST(list["domains"].size() == 3u);
  BOOST_TEST(ok(c, "domain.info", {{"domain", "slow"}})["state"] == "shutoff");
  ok(c, "domain.start", {{"domain", "fast"}});
  ok(c, "domain.suspend", {{"domain", "fast"}});
  ok(c, "domain.destroy", {{"domain", "test"}});
  // A change to slow waits for the running start, then gives up, naming it.
  auto busy = c.call("test:///default", "domain.destroy", {{"domain", "slow"}},
                     std::chrono::seconds(10));
  BOOST_TEST(!busy.ok);
  BOOST_TEST(static_cast<int>(busy.code) ==
             static_cast<int>(domus::protocol::errc::busy));
  BOOST_TEST(busy.message.find(
                 "domain 'slow' is busy: 'domain.start' has been running for ") == 0u,
             busy.message);
  BOOST_TEST(busy.message.find("(job_wait_ms in domusd.conf)") != std::string::npos);
  // The start is still pending; on SIGTERM it fails with a clear error and the daemon
  // stops.
  BOOST_TEST(d->stop() == 0);
  auto last = c.wait_for(pending, std::chrono::seconds(10), "domain.start");
  BOOST_TEST(!last.ok);
  BOOST_TEST(static_cast<int>(last.code) ==
             static_cast<int>(domus::protocol::errc::shutting_down));
}

BOOST_AUTO_TEST_CASE(a_failing_call_changes_nothing_and_says_why) {
  BOOST_TEST(d->domsh({"define /dev/stdin"}, guest("broken")).status == 0);
  BOOST_TEST(d->domsh({"start broken"}).status == 0);
  auto r = d->domsh({"suspend broken"});
  BOOST_TEST(r.status == 1);
  BOOST_TEST(r.err == "error: injected failure of suspend on domain 'broken' "
                      "(DOMUS_TEST_DRIVER_FAULTS)\n");
  BOOST_TEST(d->domsh({"domstate broken"}).out == "running\n\n");
}

BOOST_AUTO_TEST_SUITE_END()

// The runtime's test switch: the actor of one domain fails on every change. Supervision
// restarts it (queries still answer), then marks it in error; the rest never notices.
BOOST_AUTO_TEST_CASE(a_failing_domain_actor_is_supervised) {
  daemon_process d({}, "", {{"DOMUS_TEST_FAIL_ACTOR", "fragile"}});
  domus::protocol::connection c(d.socket(), false);
  domus::protocol::subscriber sub(c, {"domain.error"});
  sub.handshake(std::chrono::seconds(5));
  ok(c, "domain.define", {{"xml", guest("fragile")}});
  ok(c, "domain.define", {{"xml", guest("sturdy")}});
  for (int i = 0; i < 6; ++i) {
    auto r = c.call("test:///default", "domain.start", {{"domain", "fragile"}},
                    std::chrono::seconds(10));
    BOOST_TEST(!r.ok);
    BOOST_TEST(ok(c, "domain.lookup", {{"domain", "fragile"}})["state"] == "shutoff");
  }
  auto m = sub.next(std::chrono::seconds(10));
  BOOST_TEST_REQUIRE(m.has_value());
  BOOST_TEST(m->body["domain"]["name"] == "fragile");
  ok(c, "domain.start", {{"domain", "sturdy"}});
  BOOST_TEST(d.log().find("DOMUS_TEST_FAIL_ACTOR names domain 'fragile'") !=
             std::string::npos);
}
