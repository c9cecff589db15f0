#define BOOST_TEST_MODULE jobs_integration
#include <boost/test/unit_test.hpp>

#include "daemon.hpp"

#include <domus/protocol/client.hpp>

#include <sys/stat.h>

// Jobs: changes to one domain run one at a time, a change that waits too long fails with
// busy naming the running job, queries never wait, and other domains never notice. The
// test driver's fault injection (test:fault in a node file) holds or fails calls of that
// node file's instance only.

using namespace domus::testing;
using domus::protocol::json;

namespace {

std::string guest(const std::string& name) {
  return "<domain type='test'><name>" + name +
         "</name><memory>65536</memory><os><type>hvm</type></os></domain>";
}

// A daemon with a node-file instance whose test driver never completes `start` of
// domain 'slow' and fails every `suspend` of 'broken'; changes wait at most 400 ms.
// test:///default of the same daemon has no faults.
struct fixture {
  std::string root = temp_dir("jb");
  std::string node = root + "/faulty.xml";
  std::string uri = "test://" + node;
  std::unique_ptr<daemon_process> d;
  fixture() {
    ::mkdir((root + "/etc").c_str(), 0755);
    ::mkdir((root + "/etc/domus").c_str(), 0755);
    write_file(root + "/etc/domus/domusd.conf",
               "job_wait_ms = 400\nshutdown_timeout_ms = 1000\n");
    write_file(node, "<node xmlns:test='http://libvirt.org/schemas/domain/test/1.0'>\n"
                     "  <test:fault operation='start' action='hang' domain='slow'/>\n"
                     "  <test:fault operation='suspend' action='fail' domain='broken'/>\n"
                     "</node>\n");
    d = std::make_unique<daemon_process>(std::vector<std::string>{}, root);
  }
  json ok(domus::protocol::connection& c, const std::string& proc, const json& args,
          const std::string& on = "") {
    auto r = c.call(on.empty() ? uri : on, proc, args, std::chrono::seconds(10));
    BOOST_TEST_REQUIRE(r.ok, proc << ": " << r.message);
    return r.result;
  }
  run_result domsh(const std::vector<std::string>& args, const std::string& in = "") {
    return d->domsh(args, in, node);
  }
};

} // namespace

BOOST_FIXTURE_TEST_SUITE(jobs, fixture)

BOOST_AUTO_TEST_CASE(a_pending_call_holds_only_its_own_domain) {
  domus::protocol::connection c(d->socket(), false);
  ok(c, "domain.define", {{"xml", guest("slow")}});
  ok(c, "domain.define", {{"xml", guest("fast")}});
  // slow's start never completes: its request stays open.
  int64_t pending = c.send(uri, "domain.start", {{"domain", "slow"}});
  // Everything else goes on meanwhile: listing, queries on slow, changes to others.
  auto list = ok(c, "domain.list", json::object());
  BOOST_TEST(list["domains"].size() == 2u);
  BOOST_TEST(ok(c, "domain.info", {{"domain", "slow"}})["state"] == "shutoff");
  ok(c, "domain.start", {{"domain", "fast"}});
  ok(c, "domain.suspend", {{"domain", "fast"}});
  // The faults are the node file's instance's: a 'slow' of test:///default starts.
  ok(c, "domain.define", {{"xml", guest("slow")}}, "test:///default");
  ok(c, "domain.start", {{"domain", "slow"}}, "test:///default");
  // A change to slow waits for the running start, then gives up, naming it.
  auto busy =
      c.call(uri, "domain.destroy", {{"domain", "slow"}}, std::chrono::seconds(10));
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
  BOOST_TEST(domsh({"define /dev/stdin"}, guest("broken")).status == 0);
  BOOST_TEST(domsh({"start broken"}).status == 0);
  auto r = domsh({"suspend broken"});
  BOOST_TEST(r.status == 1);
  BOOST_TEST(r.err == "error: injected failure of suspend on domain 'broken' "
                      "(test:fault in the node file)\n");
  BOOST_TEST(domsh({"domstate broken"}).out == "running\n\n");
}

// A fault declaration that names what does not exist is refused, naming file and line.
BOOST_AUTO_TEST_CASE(a_bad_fault_declaration_is_refused) {
  write_file(root + "/bad.xml",
             "<node xmlns:test='http://libvirt.org/schemas/domain/test/1.0'>\n"
             "  <test:fault operation='explode' action='hang' domain='*'/>\n"
             "</node>\n");
  domus::protocol::connection c(d->socket(), false);
  auto r = c.call("test://" + root + "/bad.xml", "domain.list", json::object(),
                  std::chrono::seconds(10));
  BOOST_TEST(!r.ok);
  BOOST_TEST(r.message.find(root + "/bad.xml:2: /node/test:fault: operation 'explode' "
                                   "is not one of start,") != std::string::npos,
             r.message);
  write_file(root + "/odd.xml",
             "<node xmlns:test='http://libvirt.org/schemas/domain/test/1.0'>\n"
             "  <test:fault operation='start' action='hang' domain='*' when='x'/>\n"
             "</node>\n");
  auto odd = c.call("test://" + root + "/odd.xml", "domain.list", json::object(),
                    std::chrono::seconds(10));
  BOOST_TEST(!odd.ok);
  BOOST_TEST(odd.message.find("odd.xml:2: /node/test:fault: unknown attribute 'when'") !=
                 std::string::npos,
             odd.message);
}

BOOST_AUTO_TEST_SUITE_END()
