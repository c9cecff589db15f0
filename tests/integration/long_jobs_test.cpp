#define BOOST_TEST_MODULE long_jobs_integration
#include <boost/test/unit_test.hpp>

#include "daemon.hpp"
#include "domain_calls.hpp"

#include <domus/protocol/client.hpp>

#include <sys/stat.h>
#include <thread>
#include <unistd.h>

// Long-running jobs (docs/architecture.md, "Long-running jobs"), through domain.dump: it
// runs beside the domain's other changes, reports progress (domain.jobinfo and the
// domain.job-progress sample), is aborted by domain.jobabort or a destroy, and times out
// only when its progress stops. The probe driver's dump writes the guest's memory
// (1 MiB) in 50 steps over about a second; a domain named "hang-dump-*" never
// progresses (tests/plugins/probe_driver.cpp).

using namespace domus::testing;
using domus::protocol::errc;
using domus::protocol::json;
using namespace std::chrono_literals;

namespace {

std::string config(const std::string& dir) {
  std::string path = dir + "/domusd.conf";
  write_file(path, "deadline_dump_ms = 1000\n");
  return path;
}

bool exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

struct fixture : domain_calls<fixture> {
  std::string dir = temp_dir("lj");
  daemon_process d{{"--plugin-dir", probe_plugin_dir(), "--config", config(dir)}};
  domus::protocol::connection c{d.socket(), false};
  std::string uri = "probe:///one";
  std::string core = dir + "/guest.core";
  bool stopped = false; // the test stopped the daemon

  fixture() { start("dumpy"); }
  ~fixture() {
    if (!stopped)
      destroy_running({uri});
  }

  void start(const std::string& name) {
    ok("domain.define", {{"xml", probe_xml(name)}});
    ok("domain.start", {{"domain", name}});
  }
  // The dump's reply, which must come within 10 s.
  domus::protocol::reply wait(int64_t id) { return c.wait_for(id, 10s, "domain.dump"); }
  // Polls domain.jobinfo (bounded) until the dump has made progress: its job.
  json progressed(const std::string& name = "dumpy") {
    for (int i = 0; i < 500; ++i) {
      json job = ok("domain.jobinfo", {{"domain", name}})["job"];
      if (job.is_object() && job.value("processed", 0) > 0)
        return job;
      std::this_thread::sleep_for(10ms); // a poll's interval, not a wait for an outcome
    }
    BOOST_FAIL("the dump made no progress within 5 s");
    return {};
  }
};

} // namespace

BOOST_FIXTURE_TEST_SUITE(long_jobs, fixture)

BOOST_AUTO_TEST_CASE(a_dump_runs_beside_the_domain_and_reports_progress) {
  domus::protocol::subscriber sub(c, {"domain.job-progress"});
  sub.handshake(5s);
  auto started = std::chrono::steady_clock::now();
  int64_t id = c.send(uri, "domain.dump", {{"domain", "dumpy"}, {"file", core}});
  json job = progressed();
  BOOST_TEST(job["proc"] == "domain.dump");
  BOOST_TEST(job["long"] == true);
  BOOST_TEST(job["total"] == 1048576);
  // Queries answer and harmless changes run beside it; conflicting ones are refused at
  // once, naming it, instead of waiting behind it.
  BOOST_TEST(ok("domain.info", {{"domain", "dumpy"}})["state"] == "running");
  ok("domain.autostart", {{"domain", "dumpy"}, {"enable", true}});
  auto refused = call("domain.suspend", {{"domain", "dumpy"}});
  BOOST_TEST(!refused.ok);
  BOOST_TEST((refused.code == errc::busy), refused.message);
  BOOST_TEST(refused.message.find("'domain.dump' runs beside its changes") !=
                 std::string::npos,
             refused.message);
  // Another dump is one long job too many.
  auto second = call("domain.dump", {{"domain", "dumpy"}, {"file", core + ".2"}});
  BOOST_TEST((second.code == errc::busy), second.message);
  auto done = wait(id);
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  BOOST_TEST_REQUIRE(done.ok, done.message);
  BOOST_TEST(done.result["file"] == core);
  BOOST_TEST(read_file(core).size() == 1048576u);
  BOOST_TEST(!exists(core + ".2"));
  // Progress samples: at least one, and coalesced to about one a second (50 reports).
  int samples = 0;
  while (auto m = sub.next(samples == 0 ? 5000ms : 1500ms)) {
    if (m->topic != "domain.job-progress")
      continue;
    BOOST_TEST(m->body["proc"] == "domain.dump");
    BOOST_TEST(m->body["domain"]["name"] == "dumpy");
    BOOST_TEST(m->body["total"] == 1048576);
    BOOST_TEST(m->body.contains("seq") == false); // a sample: never journaled
    ++samples;
  }
  BOOST_TEST(samples >= 1);
  BOOST_TEST(samples <= 2 + static_cast<int>(seconds),
             samples << " in " << seconds << " s");
  // Over: nothing runs, and what it refused runs now.
  BOOST_TEST(ok("domain.jobinfo", {{"domain", "dumpy"}})["job"].is_null());
  ok("domain.suspend", {{"domain", "dumpy"}});
}

BOOST_AUTO_TEST_CASE(jobabort_aborts_a_dump_and_removes_its_file) {
  int64_t id = c.send(uri, "domain.dump", {{"domain", "dumpy"}, {"file", core}});
  progressed();
  BOOST_TEST(ok("domain.jobabort", {{"domain", "dumpy"}})["aborted"] == "domain.dump");
  auto r = wait(id);
  BOOST_TEST(!r.ok);
  BOOST_TEST((r.code == errc::aborted), r.message);
  BOOST_TEST(r.message == "the dump of domain 'dumpy' to " + core +
                              " was aborted by domain.jobabort",
             r.message);
  BOOST_TEST(!exists(core));
  // The driver stopped in time: the domain never went unresponsive, and runs on.
  json info = ok("domain.jobinfo", {{"domain", "dumpy"}});
  BOOST_TEST(info["job"].is_null());
  BOOST_TEST(info["unresponsive"].is_null());
  BOOST_TEST(ok("domain.info", {{"domain", "dumpy"}})["state"] == "running");
  auto again = call("domain.jobabort", {{"domain", "dumpy"}});
  BOOST_TEST((again.code == errc::invalid_operation), again.message);
}

BOOST_AUTO_TEST_CASE(a_destroy_aborts_the_dump_beside_it) {
  int64_t id = c.send(uri, "domain.dump", {{"domain", "dumpy"}, {"file", core}});
  progressed();
  ok("domain.destroy", {{"domain", "dumpy"}});
  auto r = wait(id);
  BOOST_TEST((r.code == errc::aborted), r.message);
  BOOST_TEST(r.message.find("aborted by domain.destroy") != std::string::npos, r.message);
  BOOST_TEST(!exists(core));
  BOOST_TEST(ok("domain.info", {{"domain", "dumpy"}})["state"] == "shutoff");
}

// A daemon that stops aborts its long jobs instead of waiting for them (or cutting them
// off after shutdown_timeout_ms): the caller hears shutting-down, and the partial core
// is removed.
BOOST_AUTO_TEST_CASE(a_stopping_daemon_aborts_its_dumps) {
  int64_t id = c.send(uri, "domain.dump", {{"domain", "dumpy"}, {"file", core}});
  progressed();
  stopped = true;
  BOOST_TEST(d.stop() == 0);
  auto r = wait(id);
  BOOST_TEST((r.code == errc::shutting_down), domus::protocol::to_string(r.code)
                                                  << ": " << r.message);
  BOOST_TEST(r.message.find("was aborted by the daemon stopping") != std::string::npos,
             r.message);
  BOOST_TEST(!exists(core));
}

// Its deadline counts from its last progress: the dump above took about a second
// against a deadline of one, and one that never progresses times out.
BOOST_AUTO_TEST_CASE(a_dump_that_stops_progressing_times_out) {
  start("hang-dump-1");
  auto r = call("domain.dump", {{"domain", "hang-dump-1"}, {"file", core}});
  BOOST_TEST((r.code == errc::timeout), r.message);
  BOOST_TEST(
      r.message.find("'dump' of domain 'hang-dump-1' reported no progress for 1.0 s "
                     "(deadline_dump_ms in domusd.conf)") != std::string::npos,
      r.message);
  // The probe gives a cancelled hung call up at once: the domain answers again.
  for (int i = 0; i < 500; ++i) {
    if (ok("domain.jobinfo", {{"domain", "hang-dump-1"}})["unresponsive"].is_null())
      break;
    std::this_thread::sleep_for(10ms);
  }
  BOOST_TEST(ok("domain.jobinfo", {{"domain", "hang-dump-1"}})["unresponsive"].is_null());
  ok("domain.suspend", {{"domain", "hang-dump-1"}});
}

BOOST_AUTO_TEST_CASE(bad_dumps_are_refused_and_write_nothing) {
  struct bad {
    json args;
    errc code;
    std::string says;
  };
  std::vector<bad> cases = {
      {{{"file", "guest.core"}}, errc::invalid_argument, "is not an absolute path"},
      {{{"file", core}, {"flags", 0x3}}, errc::invalid_argument, "mutually exclusive"},
      {{{"file", core}, {"flags", 0x9}}, errc::invalid_argument, "mutually exclusive"},
      {{{"file", core}, {"format", "elf"}},
       errc::invalid_argument,
       "needs flag memory-only"},
      {{{"file", core}, {"format", "zip"}, {"flags", 0x10}},
       errc::invalid_argument,
       "is not one of elf"},
      {{{"file", core}, {"flags", 0x40}}, errc::invalid_argument, "not defined"},
      {{{"file", core}, {"flags", 0x1}}, errc::unsupported, "dump takes no flag"},
      {{{"file", dir + "/missing/guest.core"}}, errc::operation_failed, "cannot open"},
      {{}, errc::bad_request, "argument \"file\" is missing"},
  };
  for (auto& b : cases) {
    json args = b.args;
    args["domain"] = "dumpy";
    BOOST_TEST_CONTEXT(args.dump()) {
      auto r = call("domain.dump", args);
      BOOST_TEST(!r.ok);
      BOOST_TEST((r.code == b.code), r.message);
      BOOST_TEST(r.message.find(b.says) != std::string::npos, r.message);
      BOOST_TEST(!exists(core));
    }
  }
  ok("domain.destroy", {{"domain", "dumpy"}});
  auto off = call("domain.dump", {{"domain", "dumpy"}, {"file", core}});
  BOOST_TEST((off.code == errc::invalid_operation), off.message);
  // The read-only socket may not write files on the host.
  domus::protocol::connection ro(d.socket(), true);
  auto r = ro.call(uri, "domain.dump", {{"domain", "dumpy"}, {"file", core}}, 10s);
  BOOST_TEST(!r.ok);
  BOOST_TEST(!exists(core));
  // A 1.0 driver has no dump.
  ok("domain.define", {{"xml", probe_xml("old")}});
  auto old = c.call("probe10:///one", "domain.define", {{"xml", probe_xml("old")}}, 10s);
  BOOST_TEST_REQUIRE(old.ok, old.message);
  c.call("probe10:///one", "domain.start", {{"domain", "old"}}, 10s);
  auto unsupported =
      c.call("probe10:///one", "domain.dump", {{"domain", "old"}, {"file", core}}, 10s);
  BOOST_TEST((unsupported.code == errc::unsupported), unsupported.message);
  c.call("probe10:///one", "domain.destroy", {{"domain", "old"}}, 10s);
}

// domsh waits for a dump as long as it progresses, and shows it as virsh does.
BOOST_AUTO_TEST_CASE(domsh_dump_and_domjobinfo) {
  int64_t id = c.send(uri, "domain.dump", {{"domain", "dumpy"}, {"file", core}});
  progressed();
  auto info = d.domsh({"domjobinfo", "dumpy"}, "", "/one", "probe");
  BOOST_TEST(info.out.find("Job type:         Unbounded   \nOperation:        Dump") == 0,
             info.out);
  BOOST_TEST(info.out.find("Data total:       1.000 MiB\n") != std::string::npos,
             info.out);
  BOOST_TEST_REQUIRE(wait(id).ok);
  ::unlink(core.c_str());
  auto r = d.domsh({"dump", "dumpy", core, "--verbose"}, "", "/one", "probe");
  BOOST_TEST(r.status == 0, r.err);
  BOOST_TEST(r.out == "\nDomain 'dumpy' dumped to " + core + "\n\n");
  BOOST_TEST(r.err.find("Dump: [100 %]\n") != std::string::npos, r.err);
  BOOST_TEST(read_file(core).size() == 1048576u);
}

BOOST_AUTO_TEST_SUITE_END()
