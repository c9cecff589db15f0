#define BOOST_TEST_MODULE deadlines_integration
#include <boost/test/unit_test.hpp>

#include "daemon.hpp"
#include "domain_calls.hpp"

#include <domus/protocol/client.hpp>

#include <thread>

// Deadlines on driver calls (docs/plugins.md, "Deadlines"): the probe driver hangs the
// calls a domain's name asks for (tests/plugins/probe_driver.cpp), built against today's
// header (scheme probe, which has cancel) and against the frozen ABI 1.0 one (scheme
// probe10, which has not). Deadlines are short here (deadline_*_ms = 300).

using namespace domus::testing;
using domus::protocol::errc;
using domus::protocol::json;
using namespace std::chrono_literals;

namespace {

// A domusd.conf with every deadline at 0.3 s, then `more` (a later line wins).
std::string short_deadlines(const std::string& more = "") {
  std::string path = temp_dir("c") + "/domusd.conf";
  std::string text;
  for (auto op : {"define", "undefine", "start", "shutdown", "reboot", "destroy",
                  "suspend", "resume", "info", "normalize"})
    text += std::string("deadline_") + op + "_ms = 300\n";
  write_file(path, text + more);
  return path;
}

struct fixture : domain_calls<fixture> {
  daemon_process d;
  domus::protocol::connection c{d.socket(), false};
  domus::protocol::subscriber sub{c, {"domain."}};
  std::string uri = "probe:///one";

  explicit fixture(const std::string& more_conf = "")
      : d({"--plugin-dir", probe_plugin_dir(), "--config", short_deadlines(more_conf)}) {
    sub.handshake(5s);
  }

  // Guests are child processes: stop the ones still running.
  // (Not throwing: a test that failed may leave a request unanswered.)
  ~fixture() { destroy_running({"probe:///one", "probe10:///one"}); }

  // The next event of a topic, skipping others; its body.
  json next(const std::string& topic) {
    while (true) {
      auto m = sub.next(10s);
      BOOST_TEST_REQUIRE(m.has_value(), "no " << topic << " event within 10 s");
      if (m->topic == topic)
        return m->body;
    }
  }
  std::string next_lifecycle() {
    auto b = next("domain.lifecycle");
    return b["domain"]["name"].get<std::string>() + " " + b["event"].get<std::string>() +
           "/" + b["detail"].get<std::string>();
  }
  void is_error(const domus::protocol::reply& r, errc code, const std::string& part) {
    BOOST_TEST(!r.ok);
    BOOST_TEST(static_cast<int>(r.code) == static_cast<int>(code), r.message);
    BOOST_TEST(r.message.find(part) != std::string::npos, r.message);
  }
};

} // namespace

// Each kind of call hangs in turn on a driver that can cancel: its caller gets timeout
// naming the call and the driver, the domain is announced unresponsive, the driver is
// asked to cancel, the call completes (timeout), and the domain is responsive again.
BOOST_FIXTURE_TEST_CASE(each_hung_call_times_out_and_is_cancelled, fixture) {
  struct kind {
    const char* op;
    const char* proc;
    bool needs_running; // the call is made on a running guest
  };
  const kind kinds[] = {
      {"start", "domain.start", false},      {"suspend", "domain.suspend", true},
      {"reboot", "domain.reboot", true},     {"shutdown", "domain.shutdown", true},
      {"destroy", "domain.destroy", true},   {"info", "domain.info", false},
      {"undefine", "domain.undefine", false}};
  for (auto& k : kinds) {
    std::string name = std::string("hang-") + k.op + "-1";
    BOOST_TEST_CONTEXT(name) {
      ok("domain.define", {{"xml", probe_xml(name)}});
      BOOST_TEST(next_lifecycle() == name + " defined/added");
      if (k.needs_running) {
        ok("domain.start", {{"domain", name}});
        BOOST_TEST(next_lifecycle() == name + " started/booted");
      }
      auto r = call(k.proc, {{"domain", name}});
      is_error(r, errc::timeout,
               std::string("the probe driver's '") + k.op + "' of domain '" + name +
                   "' did not complete within 0.3 s (deadline_" + k.op +
                   "_ms in domusd.conf); the driver was asked to cancel it");
      auto down = next("domain.unresponsive");
      BOOST_TEST(down["domain"]["name"] == name);
      BOOST_TEST(down["call"] == k.op);
      auto up = next("domain.responsive");
      BOOST_TEST(up["domain"]["name"] == name);
      BOOST_TEST(up["call"] == k.op);
      // Responsive again: changes are accepted, and the domain is as it was.
      // (Every info of hang-info-1 hangs: its lookup says the same but the field.)
      json info = ok(std::string(k.op) == "info" ? "domain.lookup" : "domain.info",
                     {{"domain", name}});
      BOOST_TEST(info.value("unresponsive", json()).is_null());
      BOOST_TEST(info["state"] == (k.needs_running ? "running" : "shutoff"));
      // The guest goes (a hung destroy's stays: the daemon's stop ends it).
      if (std::string(k.op) == "destroy")
        continue;
      if (k.needs_running) {
        ok("domain.destroy", {{"domain", name}});
        BOOST_TEST(next_lifecycle() == name + " stopped/destroyed");
      }
      // The undefine's definition file was written back when it timed out.
      if (std::string(k.op) == "undefine") {
        ok("domain.lookup", {{"domain", name}});
        continue;
      }
      ok("domain.undefine", {{"domain", name}});
      BOOST_TEST(next_lifecycle() == name + " undefined/removed");
    }
  }
}

// A define that hangs: the request times out, the name is free again once the late
// completion is in, and the driver's handle is released.
BOOST_FIXTURE_TEST_CASE(a_hung_define_leaves_nothing_defined, fixture) {
  auto r = call("domain.define", {{"xml", probe_xml("hang-define-1")}});
  is_error(r, errc::timeout, "'define' of domain 'hang-define-1'");
  auto list = ok("domain.list", {{"inactive", true}});
  for (auto& dom : list["domains"])
    BOOST_TEST(dom["name"] != "hang-define-1");
}

// A late call that completes for real when cancelled: its facts are applied and
// published (the guest did start after all).
BOOST_FIXTURE_TEST_CASE(a_late_success_is_applied_and_published, fixture) {
  ok("domain.define", {{"xml", probe_xml("late-start-1")}});
  BOOST_TEST(next_lifecycle() == "late-start-1 defined/added");
  is_error(call("domain.start", {{"domain", "late-start-1"}}), errc::timeout,
           "'start' of domain 'late-start-1'");
  BOOST_TEST(next("domain.unresponsive")["call"] == "start");
  BOOST_TEST(next_lifecycle() == "late-start-1 started/booted");
  BOOST_TEST(next("domain.responsive")["call"] == "start");
  BOOST_TEST(ok("domain.lookup", {{"domain", "late-start-1"}})["state"] == "running");
}

// While a call is out past its deadline, changes are refused with busy naming it, but
// destroy, which the runtime issues beside it; queries are answered. A late success
// after the destroy completed is discarded: the guest stays shut off.
BOOST_FIXTURE_TEST_CASE(destroy_overtakes_a_hung_call_whose_late_result_is_discarded,
                        fixture) {
  std::string name = "stubborn-suspend-1";
  ok("domain.define", {{"xml", probe_xml(name)}});
  ok("domain.start", {{"domain", name}});
  BOOST_TEST(next_lifecycle() == name + " defined/added");
  BOOST_TEST(next_lifecycle() == name + " started/booted");
  is_error(call("domain.suspend", {{"domain", name}}), errc::timeout,
           "'suspend' of domain '" + name + "'");
  BOOST_TEST(next("domain.unresponsive")["call"] == "suspend");
  is_error(
      call("domain.reboot", {{"domain", name}}), errc::busy,
      "domain '" + name +
          "' is unresponsive: the probe driver's 'suspend' passed "
          "its deadline and has not returned; only destroy is accepted until it does");
  json info = ok("domain.info", {{"domain", name}});
  BOOST_TEST(info["unresponsive"] == "suspend");
  BOOST_TEST(info["state"] == "running");
  auto destroyed = ok("domain.destroy", {{"domain", name}});
  BOOST_TEST(destroyed["state"] == "shutoff");
  BOOST_TEST(next_lifecycle() == name + " stopped/destroyed");
  // The probe completes the suspend right after the destroy, claiming a running guest.
  BOOST_TEST(next("domain.responsive")["call"] == "suspend");
  auto after = ok("domain.info", {{"domain", name}});
  BOOST_TEST(after["state"] == "shutoff");
  BOOST_TEST(after["unresponsive"].is_null());
  BOOST_TEST(d.log().find("discarded, a destroy completed since") != std::string::npos);
}

// An actor restarted while a call is out past its deadline does not wait for that call
// (it may never return): it resyncs at once, still knows the domain is unresponsive, and
// refuses changes naming the call rather than after job_wait_ms.
BOOST_FIXTURE_TEST_CASE(a_restarted_actor_does_not_wait_for_a_hung_call, fixture) {
  std::string name = "stubborn-suspend-crashdestroy-1";
  ok("domain.define", {{"xml", probe_xml(name)}});
  ok("domain.start", {{"domain", name}});
  is_error(call("domain.suspend", {{"domain", name}}), errc::timeout,
           "'suspend' of domain '" + name + "'");
  // The destroy beside the hung suspend fails inside the driver: the actor restarts.
  is_error(call("domain.destroy", {{"domain", name}}), errc::internal, "");
  auto r = call("domain.reboot", {{"domain", name}});
  is_error(r, errc::busy,
           "is unresponsive: the probe driver's 'suspend' passed its deadline");
  BOOST_TEST(ok("domain.info", {{"domain", name}})["unresponsive"] == "suspend");
  BOOST_TEST(d.log().find("failed (") != std::string::npos);
}

// A driver built against ABI 1.0 loads and works on this daemon; it has no cancel, so a
// hung call leaves its domain unresponsive until it returns: every change is refused
// (destroy too), queries are answered, and other domains never notice.
BOOST_FIXTURE_TEST_CASE(an_abi_1_0_driver_works_and_gets_nothing_beside_a_hung_call,
                        fixture) {
  uri = "probe10:///one";
  ok("domain.define", {{"xml", probe_xml("fine")}});
  BOOST_TEST(next_lifecycle() == "fine defined/added");
  BOOST_TEST(ok("domain.start", {{"domain", "fine"}})["state"] == "running");
  BOOST_TEST(next_lifecycle() == "fine started/booted");
  ok("domain.suspend", {{"domain", "fine"}});
  ok("domain.resume", {{"domain", "fine"}});
  BOOST_TEST(ok("domain.info", {{"domain", "fine"}})["unresponsive"].is_null());

  ok("domain.define", {{"xml", probe_xml("hang-start-1")}});
  is_error(call("domain.start", {{"domain", "hang-start-1"}}), errc::timeout,
           "the probe10 driver's 'start' of domain 'hang-start-1' did not complete "
           "within 0.3 s (deadline_start_ms in domusd.conf); the driver cannot cancel it "
           "(plugin ABI 1.0)");
  BOOST_TEST(next("domain.unresponsive")["call"] == "start");
  for (auto proc : {"domain.start", "domain.destroy", "domain.undefine"})
    is_error(call(proc, {{"domain", "hang-start-1"}}), errc::busy,
             "only queries are answered until it does (the driver cannot cancel calls: "
             "plugin ABI 1.0)");
  BOOST_TEST(ok("domain.info", {{"domain", "hang-start-1"}})["unresponsive"] == "start");
  BOOST_TEST(ok("domain.lookup", {{"domain", "hang-start-1"}})["state"] == "shutoff");
  BOOST_TEST(ok("domain.destroy", {{"domain", "fine"}})["state"] == "shutoff");
}

namespace {

// The start deadline is long here: a hung start runs as the domain's job until aborted.
struct long_start : fixture {
  long_start() : fixture("deadline_start_ms = 600000\n") {}

  // Polls domain.jobinfo (bounded) until a job runs on `name`; its job.
  json running_job(const std::string& name) {
    auto until = std::chrono::steady_clock::now() + 10s;
    while (std::chrono::steady_clock::now() < until) {
      json info = ok("domain.jobinfo", {{"domain", name}});
      if (!info["job"].is_null())
        return info["job"];
      std::this_thread::yield();
    }
    BOOST_FAIL("no job ran on " << name << " within 10 s");
    return json();
  }

  // Polls domain.jobinfo (bounded) until `n` changes wait behind the running job; the
  // job as last seen.
  json job_with_waiting(const std::string& name, int n) {
    auto until = std::chrono::steady_clock::now() + 10s;
    json job = running_job(name);
    while (job["waiting"] != n && std::chrono::steady_clock::now() < until) {
      std::this_thread::yield();
      job = ok("domain.jobinfo", {{"domain", name}})["job"];
    }
    return job;
  }
};

} // namespace

// domain.jobinfo names the running change and what waits behind it; domain.jobabort
// cancels its driver call beside it: the caller gets aborted, and the domain is
// unresponsive until the driver returns the cancelled call (the change that waited is
// refused as busy, naming it, as behind any call out past its deadline).
BOOST_FIXTURE_TEST_CASE(jobabort_cancels_the_running_change, long_start) {
  std::string name = "hang-start-1";
  ok("domain.define", {{"xml", probe_xml(name)}});
  BOOST_TEST(next_lifecycle() == name + " defined/added");
  json idle = ok("domain.jobinfo", {{"domain", name}});
  BOOST_TEST(idle["job"].is_null());
  BOOST_TEST(idle["unresponsive"].is_null());
  is_error(call("domain.jobabort", {{"domain", name}}), errc::invalid_operation,
           "no job is active on domain '" + name + "'");

  auto start = c.send(uri, "domain.start", {{"domain", name}});
  json job = running_job(name);
  BOOST_TEST(job["proc"] == "domain.start");
  BOOST_TEST(job["waiting"] == 0);
  BOOST_TEST(job["elapsed_ms"].get<int64_t>() >= 0);
  auto suspend = c.send(uri, "domain.suspend", {{"domain", name}});
  // The suspend is queued behind the start.
  BOOST_TEST(job_with_waiting(name, 1)["waiting"] == 1);

  // A read-only client may look, not abort.
  domus::protocol::connection ro{d.socket(), true};
  auto refused = ro.call(uri, "domain.jobabort", {{"domain", name}}, 10s);
  BOOST_TEST(!refused.ok);
  BOOST_TEST(ok("domain.jobinfo", {{"domain", name}})["job"]["proc"] == "domain.start");

  BOOST_TEST(ok("domain.jobabort", {{"domain", name}})["aborted"] == "domain.start");
  auto started = c.wait_for(start, 10s);
  is_error(started, errc::aborted,
           "'domain.start' of domain '" + name +
               "' was aborted by domain.jobabort (the probe driver was asked to "
               "cancel its 'start')");
  BOOST_TEST(next("domain.unresponsive")["call"] == "start");
  BOOST_TEST(next("domain.responsive")["call"] == "start");
  is_error(c.wait_for(suspend, 10s), errc::busy,
           "the probe driver's 'start' passed its deadline and has not returned");
  json after = ok("domain.jobinfo", {{"domain", name}});
  BOOST_TEST(after["job"].is_null());
  BOOST_TEST(after["unresponsive"].is_null());
  BOOST_TEST(ok("domain.info", {{"domain", name}})["state"] == "shutoff");
}

// A driver built against ABI 1.0 cannot cancel: jobabort is unsupported, the job goes
// on, and a destroy waits behind the start instead of overtaking it.
BOOST_FIXTURE_TEST_CASE(jobabort_is_unsupported_on_an_abi_1_0_driver, long_start) {
  uri = "probe10:///one";
  std::string name = "late-start-1";
  ok("domain.define", {{"xml", probe_xml(name)}});
  auto start = c.send(uri, "domain.start", {{"domain", name}});
  BOOST_TEST(running_job(name)["proc"] == "domain.start");
  is_error(call("domain.jobabort", {{"domain", name}}), errc::unsupported,
           "cannot abort 'domain.start' of domain '" + name +
               "': the probe10 driver cannot cancel calls (plugin ABI 1.0)");
  BOOST_TEST(ok("domain.jobinfo", {{"domain", name}})["job"]["proc"] == "domain.start");
  auto destroy = c.send(uri, "domain.destroy", {{"domain", name}});
  json job = job_with_waiting(name, 1);
  BOOST_TEST(job["proc"] == "domain.start");
  BOOST_TEST(job["waiting"] == 1);
  c.forget(start);
  c.forget(destroy);
}

// A destroy during a running start does not wait behind it: the start is cancelled (its
// caller is told the destroy overtook it), the destroy goes to the driver at once, and
// the domain is shut off; no lifecycle event, since the guest never started.
BOOST_FIXTURE_TEST_CASE(destroy_overtakes_a_running_start, long_start) {
  std::string name = "hang-start-1";
  ok("domain.define", {{"xml", probe_xml(name)}});
  BOOST_TEST(next_lifecycle() == name + " defined/added");
  auto start = c.send(uri, "domain.start", {{"domain", name}});
  BOOST_TEST(running_job(name)["proc"] == "domain.start");
  BOOST_TEST(ok("domain.destroy", {{"domain", name}})["state"] == "shutoff");
  is_error(c.wait_for(start, 10s), errc::aborted,
           "'domain.start' of domain '" + name +
               "' was overtaken by domain.destroy (the probe driver was asked to cancel "
               "its 'start')");
  BOOST_TEST(next("domain.unresponsive")["call"] == "start");
  BOOST_TEST(next("domain.responsive")["call"] == "start");
  for (auto& m : sub.until_now(10s))
    BOOST_TEST(m.topic != "domain.lifecycle", m.body.dump());
  json info = ok("domain.info", {{"domain", name}});
  BOOST_TEST(info["state"] == "shutoff");
  BOOST_TEST(info["unresponsive"].is_null());
}

// A start that ignores its cancel and reports a running guest after the destroy that
// overtook it: the late success is discarded, the guest stays shut off.
BOOST_FIXTURE_TEST_CASE(a_start_overtaken_by_destroy_never_revives_the_guest,
                        long_start) {
  std::string name = "stubborn-start-1";
  ok("domain.define", {{"xml", probe_xml(name)}});
  auto start = c.send(uri, "domain.start", {{"domain", name}});
  BOOST_TEST(running_job(name)["proc"] == "domain.start");
  BOOST_TEST(ok("domain.destroy", {{"domain", name}})["state"] == "shutoff");
  is_error(c.wait_for(start, 10s), errc::aborted, "overtaken by domain.destroy");
  BOOST_TEST(next("domain.responsive")["call"] == "start");
  json info = ok("domain.info", {{"domain", name}});
  BOOST_TEST(info["state"] == "shutoff");
  BOOST_TEST(info["unresponsive"].is_null());
  BOOST_TEST(d.log().find("discarded, a destroy completed since") != std::string::npos);
}

namespace {

// How many times the log says the probe began to open `uri`.
size_t opens(daemon_process& d, const std::string& uri) {
  std::string log = d.log(), line = "probe: opening " + uri + "\n";
  size_t n = 0;
  for (size_t at = 0; (at = log.find(line, at)) != std::string::npos; at += line.size())
    ++n;
  return n;
}

// Asks connect.open until it is no longer refused as busy (bounded); the last reply.
domus::protocol::reply open_when_done(daemon_process& d, domus::protocol::connection& c,
                                      const std::string& uri) {
  domus::protocol::reply r;
  for (auto end = std::chrono::steady_clock::now() + 10s;
       std::chrono::steady_clock::now() < end;) {
    r = c.call(uri, "connect.open", json::object(), 10s);
    if (r.ok || r.code != errc::busy)
      return r;
    d.process().poll_output(50ms);
  }
  return r;
}

} // namespace

// An open past its deadline: the request that waited hears `timeout`, later ones are
// refused as busy (no second open races the first), and once the late open returns the
// instance serves; one that fails late is opened afresh by the next request.
BOOST_AUTO_TEST_CASE(an_open_past_its_deadline_is_waited_out) {
  daemon_process d2({"--plugin-dir", probe_plugin_dir(), "--config",
                     short_deadlines("deadline_open_ms = 300\n")});
  domus::protocol::connection c2(d2.socket(), false);
  std::string slow = "probe:///slow-open-3000";
  auto first = c2.call(slow, "connect.open", json::object(), 10s);
  BOOST_TEST(!first.ok);
  BOOST_TEST(static_cast<int>(first.code) == static_cast<int>(errc::timeout));
  BOOST_TEST(first.message ==
             "cannot open " + slow +
                 ": the probe driver's 'open' did not complete within 0.3 s "
                 "(deadline_open_ms in domusd.conf); it is still opening");
  // (2.7 s before the late open returns.)
  auto second = c2.call(slow, "domain.list", json::object(), 10s);
  BOOST_TEST(static_cast<int>(second.code) == static_cast<int>(errc::busy));
  BOOST_TEST(second.message ==
             slow + " is still opening: the probe driver's 'open' passed its deadline "
                    "and has not returned; requests are refused until it does");
  auto served = open_when_done(d2, c2, slow);
  BOOST_TEST(served.ok, served.message);
  BOOST_TEST(c2.call(slow, "domain.list", json::object(), 10s).ok);
  BOOST_TEST(opens(d2, slow) == 1u);
  BOOST_TEST(d2.log().find(slow + ": the late 'open' completed (ok)") !=
             std::string::npos);

  std::string failing = "probe:///slow-fail-1500";
  auto late = c2.call(failing, "connect.open", json::object(), 10s);
  BOOST_TEST(static_cast<int>(late.code) == static_cast<int>(errc::timeout));
  auto again = open_when_done(d2, c2, failing);
  BOOST_TEST(again.ok, again.message); // the second open, at once
  BOOST_TEST(opens(d2, failing) == 2u);
  BOOST_TEST(d2.log().find("the late 'open' completed (probe: the slow open failed)") !=
             std::string::npos);
}
