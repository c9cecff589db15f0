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
  explicit fixture(const std::string& more_conf = "") {
    ::mkdir((root + "/etc").c_str(), 0755);
    ::mkdir((root + "/etc/domus").c_str(), 0755);
    write_file(root + "/etc/domus/domusd.conf",
               "job_wait_ms = 400\nshutdown_timeout_ms = 1000\n" + more_conf);
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
  // A change to slow waits for the running start, then gives up, naming it (but a
  // destroy, which overtakes a start: deadlines_integration).
  auto busy =
      c.call(uri, "domain.undefine", {{"domain", "slow"}}, std::chrono::seconds(10));
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

namespace {

// The same daemon with a start deadline of 0.3 s, and of ten minutes.
struct short_start : fixture {
  short_start() : fixture("deadline_start_ms = 300\n") {}
};
struct long_start : fixture {
  long_start() : fixture("deadline_start_ms = 600000\n") {}

  // domsh domjobinfo, polled (bounded) until it shows a running job.
  run_result domjobinfo_once_running(const std::string& name) {
    run_result info;
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    do
      info = domsh({"domjobinfo " + name});
    while (info.out.find("Unbounded") == std::string::npos &&
           std::chrono::steady_clock::now() < until);
    return info;
  }

  // The start request `id` was answered aborted, `why`, and slow is shut off.
  void start_was_aborted(domus::protocol::connection& c, int64_t id,
                         const std::string& why) {
    auto r = c.wait_for(id, std::chrono::seconds(10));
    BOOST_TEST(static_cast<int>(r.code) ==
                   static_cast<int>(domus::protocol::errc::aborted),
               r.message);
    BOOST_TEST(r.message.find(why) != std::string::npos, r.message);
    BOOST_TEST(domsh({"domstate slow"}).out == "shut off\n\n");
  }
};

} // namespace

// The test driver's hung start passes its deadline: domsh prints the timeout, the driver
// cancels the call (the test driver can), the domain is responsive again and stays as it
// was, and the next start is refused by the fault again, not by the hung call.
BOOST_FIXTURE_TEST_CASE(a_hung_test_driver_call_times_out_and_is_cancelled, short_start) {
  BOOST_TEST(domsh({"define /dev/stdin"}, guest("slow")).status == 0);
  auto r = domsh({"start slow"});
  BOOST_TEST(r.status == 1);
  BOOST_TEST(r.err ==
             "error: the test driver's 'start' of domain 'slow' did not complete "
             "within 0.3 s (deadline_start_ms in domusd.conf); the driver was "
             "asked to cancel it\n");
  BOOST_TEST(domsh({"domstate slow"}).out == "shut off\n\n");
  // Once the cancelled start is back, a new start hangs again (not refused as busy).
  domus::protocol::connection c(d->socket(), false);
  domus::protocol::subscriber sub(c, {"domain."});
  sub.handshake(std::chrono::seconds(5));
  auto again =
      c.call(uri, "domain.start", {{"domain", "slow"}}, std::chrono::seconds(10));
  BOOST_TEST(static_cast<int>(again.code) ==
                 static_cast<int>(domus::protocol::errc::timeout),
             again.message);
  auto down = sub.next(std::chrono::seconds(10));
  BOOST_TEST_REQUIRE(down.has_value());
  BOOST_TEST(down->topic == "domain.unresponsive");
  auto up = sub.next(std::chrono::seconds(10));
  BOOST_TEST_REQUIRE(up.has_value());
  BOOST_TEST(up->topic == "domain.responsive");
  BOOST_TEST(up->body["call"] == "start");
}

// domsh domjobinfo and domjobabort on the test driver's hung start, whose deadline is
// far: the job is shown as virsh shows a start job, domjobabort prints nothing and the
// start's caller gets aborted; with no job, domjobinfo says None and domjobabort fails.
BOOST_FIXTURE_TEST_CASE(domsh_shows_and_aborts_the_running_job, long_start) {
  BOOST_TEST(domsh({"define /dev/stdin"}, guest("slow")).status == 0);
  auto none = domsh({"domjobinfo slow"});
  BOOST_TEST(none.status == 0);
  BOOST_TEST(none.out == "Job type:         None        \n\n");
  auto nothing = domsh({"domjobabort slow"});
  BOOST_TEST(nothing.status == 1);
  BOOST_TEST(nothing.err == "error: no job is active on domain 'slow'\n");

  domus::protocol::connection c(d->socket(), false);
  auto start = c.send(uri, "domain.start", {{"domain", "slow"}});
  run_result info = domjobinfo_once_running("slow");
  BOOST_TEST(info.status == 0);
  BOOST_TEST(info.out.rfind("Job type:         Unbounded   \n"
                            "Operation:        Start       \n"
                            "Time elapsed:     ",
                            0) == 0,
             info.out);
  BOOST_TEST(info.out.find(" ms\n") != std::string::npos, info.out);

  auto aborted = domsh({"domjobabort slow"});
  BOOST_TEST(aborted.status == 0, aborted.err);
  BOOST_TEST(aborted.out == "\n");
  start_was_aborted(c, start, "was aborted by domain.jobabort");
}

// domsh destroy during the test driver's hung start: it does not wait behind it, the
// start is told the destroy overtook it, and the domain is shut off.
BOOST_FIXTURE_TEST_CASE(domsh_destroy_overtakes_a_hung_start, long_start) {
  BOOST_TEST(domsh({"define /dev/stdin"}, guest("slow")).status == 0);
  domus::protocol::connection c(d->socket(), false);
  auto start = c.send(uri, "domain.start", {{"domain", "slow"}});
  BOOST_TEST(domjobinfo_once_running("slow").out.find("Start") != std::string::npos);
  auto destroyed = domsh({"destroy slow"});
  BOOST_TEST(destroyed.status == 0, destroyed.err);
  BOOST_TEST(destroyed.out == "Domain 'slow' destroyed\n\n");
  start_was_aborted(c, start, "overtaken by domain.destroy");
}
