#define BOOST_TEST_MODULE host_services_integration
#include <boost/test/unit_test.hpp>

#include "daemon.hpp"
#include "domain_calls.hpp"

#include <domus/protocol/client.hpp>

#include <csignal>
#include <fstream>
#include <iterator>
#include <map>
#include <regex>
#include <set>
#include <unistd.h>

// The probe plugin (tests/plugins/probe_driver.cpp) drives every host service through
// the table: spawn and child exit, kill, timers, fd watches, posted work, unsolicited
// reports; and it makes a domain's actor fail, which supervision must absorb.

using namespace domus::testing;
using domus::protocol::json;

namespace {

// A config that lets one connection queue 20000 requests (the long queue below).
std::string roomy_config() {
  std::string path = temp_dir("c") + "/domusd.conf";
  write_file(path, "max_client_requests = 30000\nreply_queue_limit = 60000\n");
  return path;
}

struct fixture : domain_calls<fixture> {
  daemon_process d{{"--plugin-dir", probe_plugin_dir(), "--config", roomy_config()}};
  std::string uri = "probe:///one";
  domus::protocol::connection c{d.socket(), false};
  domus::protocol::subscriber sub{c, {"domain."}};

  fixture() { sub.handshake(std::chrono::seconds(5)); }

  // Guests are child processes that outlive the daemon by design: stop them.
  ~fixture() { destroy_running({uri}); }

  std::string next_event() {
    auto m = sub.next(std::chrono::seconds(10));
    BOOST_TEST_REQUIRE(m.has_value(), "no event within 10 s");
    return m->body["domain"]["name"].get<std::string>() + " " +
           m->body["event"].get<std::string>() + "/" +
           m->body["detail"].get<std::string>();
  }
};

} // namespace

BOOST_FIXTURE_TEST_CASE(every_host_service, fixture) {
  ok("domain.define", {{"xml", probe_xml("g1")}});
  BOOST_TEST(next_event() == "g1 defined/added");
  // define: the driver wrote its copy on a worker thread (queue_work) before completing.
  std::string copy = read_file(d.root() + "/var/lib/domus/probe-one/g1.xml");
  BOOST_TEST(copy.find("<name>g1</name>") != std::string::npos, copy);

  // start: spawn; the completion comes from the loop thread when the child is up.
  json started = ok("domain.start", {{"domain", "g1"}});
  BOOST_TEST(started["state"] == "running");
  BOOST_TEST(started["id"] == 1);
  BOOST_TEST(next_event() == "g1 started/booted");

  // info: completed from a task posted to the loop.
  json info = ok("domain.info", {{"domain", "g1"}});
  BOOST_TEST(info["os_type"] == "probe");
  BOOST_TEST(info["state"] == "running");

  // suspend: completed from a host timer; resume: from an fd watch.
  BOOST_TEST(ok("domain.suspend", {{"domain", "g1"}})["state"] == "paused");
  BOOST_TEST(next_event() == "g1 suspended/paused");
  BOOST_TEST(ok("domain.resume", {{"domain", "g1"}})["state"] == "running");
  BOOST_TEST(next_event() == "g1 resumed/unpaused");

  // destroy: kill through the host, completed when the child's exit is seen.
  BOOST_TEST(ok("domain.destroy", {{"domain", "g1"}})["state"] == "shutoff");
  BOOST_TEST(next_event() == "g1 stopped/destroyed");
  std::string log = d.log();
  BOOST_TEST(log.find("probe:///one: probe: guest 'g1' spawned as pid") !=
                 std::string::npos,
             log);
  BOOST_TEST(log.find("probe:///one: probe: guest 'g1' exited (status 0, signal 15)") !=
                 std::string::npos,
             log);
  BOOST_TEST(log.find("state_dir=" + d.root() + "/var/lib/domus/probe-one") !=
                 std::string::npos,
             log);
}

// Driver events (domus_host_v1.emit): the journaled topics get a seq and are replayed by
// events.since; the balloon samples, emitted every 2 ms, arrive without a seq, at most
// one a second; a topic the catalogue lacks, or a field the topic lacks, is refused. A
// report's live definition becomes the running domain's.
BOOST_FIXTURE_TEST_CASE(driver_events_are_journaled_or_coalesced, fixture) {
  ok("domain.define", {{"xml", probe_xml("chatty-1")}});
  ok("domain.start", {{"domain", "chatty-1"}});
  std::map<std::string, json> seen;
  std::vector<std::pair<std::chrono::steady_clock::time_point, json>> samples;
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while ((seen.size() < 4 || samples.size() < 3) &&
         std::chrono::steady_clock::now() < until) {
    auto m = sub.next(std::chrono::seconds(5));
    BOOST_TEST_REQUIRE(m.has_value(), "no event within 5 s");
    if (m->topic == "domain.balloon-change")
      samples.emplace_back(std::chrono::steady_clock::now(), m->body);
    else if (m->topic != "domain.lifecycle")
      seen[m->topic] = m->body;
  }
  BOOST_TEST_REQUIRE(seen.size() == 4u);
  BOOST_TEST_REQUIRE(samples.size() >= 3u);
  json rtc = seen["domain.rtc-change"];
  BOOST_TEST(rtc["offset_s"] == 3600);
  BOOST_TEST(rtc["domain"]["name"] == "chatty-1");
  BOOST_TEST(rtc["uri"] == uri);
  BOOST_TEST(rtc.contains("seq"));
  BOOST_TEST(seen["domain.device-removed"]["device"] == "probe-disk1");
  BOOST_TEST(seen["domain.block-job"]["status"] == "ready");
  BOOST_TEST(seen["domain.io-error"]["reason"] == "enospc");
  for (size_t i = 1; i < samples.size(); ++i) {
    BOOST_TEST(!samples[i].second.contains("seq"));
    // Coalesced: a second apart (less the delivery jitter), and the samples between
    // them dropped, the latest kept.
    auto gap = std::chrono::duration_cast<std::chrono::milliseconds>(
        samples[i].first - samples[i - 1].first);
    BOOST_TEST(gap.count() >= 800, "samples " << gap.count() << " ms apart");
    BOOST_TEST(samples[i].second["actual_kib"].get<int64_t>() >
               samples[i - 1].second["actual_kib"].get<int64_t>() + 1);
  }
  // The journal holds the state changes, not the samples.
  auto r = c.call("", "events.since", {{"after", 0}, {"topic", "domain."}},
                  std::chrono::seconds(10));
  BOOST_TEST_REQUIRE(r.ok, r.message);
  json since = r.result;
  std::set<std::string> journaled;
  for (auto& e : since["events"])
    journaled.insert(e["topic"].get<std::string>());
  BOOST_TEST(journaled.count("domain.rtc-change") == 1u);
  BOOST_TEST(journaled.count("domain.io-error") == 1u);
  BOOST_TEST(journaled.count("domain.balloon-change") == 0u);
  // The report's live definition.
  BOOST_TEST(ok("domain.xml", {{"domain", "chatty-1"}})["xml"].get<std::string>().find(
                 "<description>live</description>") != std::string::npos);
  BOOST_TEST(ok("domain.xml", {{"domain", "chatty-1"}, {"inactive", true}})["xml"]
                 .get<std::string>()
                 .find("<description>") == std::string::npos);
  std::string log = d.log();
  BOOST_TEST(log.find("probe: refused emits: 17 17") != std::string::npos, log);
  BOOST_TEST(log.find("unknown topic 'domain.bogus'") != std::string::npos, log);
  BOOST_TEST(log.find("event domain.rtc-change: field 'xml' is not one of the topic's") !=
                 std::string::npos,
             log);

  // domsh prints them as virsh does: the journaled ones replayed (--since 0), one-shot,
  // and a live sample.
  auto domsh_event = [&](const std::string& type, bool since) {
    std::vector<std::string> argv = {domsh_path(), "-c",      d.uri("/one", "probe"),
                                     "event",      "--event", type,
                                     "--timeout",  "20"};
    if (since) {
      argv.push_back("--since");
      argv.push_back("0");
    }
    auto r = run(argv);
    BOOST_TEST(r.status == 0, type << ": " << r.err);
    return r.out;
  };
  BOOST_TEST(domsh_event("rtc-change", true) ==
             "event 'rtc-change' for domain 'chatty-1': 3600\nevents received: 1\n\n");
  BOOST_TEST(domsh_event("device-removed", true) ==
             "event 'device-removed' for domain 'chatty-1': probe-disk1\nevents "
             "received: 1\n\n");
  BOOST_TEST(domsh_event("block-job", true) ==
             "event 'block-job' for domain 'chatty-1': Block Copy for vda ready\n"
             "events received: 1\n\n");
  BOOST_TEST(
      domsh_event("io-error", true) ==
      "event 'io-error' for domain 'chatty-1': /probe/disk.img (probe-disk1) pause\n"
      "events received: 1\n\n");
  BOOST_TEST(
      domsh_event("io-error-reason", true) ==
      "event 'io-error-reason' for domain 'chatty-1': /probe/disk.img (probe-disk1) "
      "pause due to enospc\nevents received: 1\n\n");
  std::string balloon = domsh_event("balloon-change", false);
  BOOST_TEST(std::regex_match(
                 balloon, std::regex("event 'balloon-change' for domain "
                                     "'chatty-1': [0-9]+KiB\nevents received: 1\n\n")),
             balloon);
  ok("domain.destroy", {{"domain", "chatty-1"}});
}

// A guest that stops by itself: the child's exit (status 7) becomes an unsolicited report
// from the driver, published as an event; the domain's state follows.
BOOST_FIXTURE_TEST_CASE(unsolicited_state_change_becomes_an_event, fixture) {
  ok("domain.define", {{"xml", probe_xml("selfstop-1")}});
  BOOST_TEST(next_event() == "selfstop-1 defined/added");
  ok("domain.start", {{"domain", "selfstop-1"}});
  BOOST_TEST(next_event() == "selfstop-1 started/booted");
  BOOST_TEST(next_event() == "selfstop-1 stopped/shutdown");
  json st = ok("domain.lookup", {{"domain", "selfstop-1"}});
  BOOST_TEST(st["state"] == "shutoff");
  BOOST_TEST(st["reason"] == "shutdown");
  BOOST_TEST(st["id"].is_null());
}

// A guest that fails by itself: the report's error (ABI 1.2) is the domain's last error,
// in domain.info and under `domsh domstate --reason`, until a start succeeds.
BOOST_FIXTURE_TEST_CASE(a_failure_nobody_asked_for_is_the_last_error, fixture) {
  ok("domain.define", {{"xml", probe_xml("selfcrash-1")}});
  BOOST_TEST(next_event() == "selfcrash-1 defined/added");
  BOOST_TEST(ok("domain.info", {{"domain", "selfcrash-1"}})["last_error"].is_null());
  ok("domain.start", {{"domain", "selfcrash-1"}});
  BOOST_TEST(next_event() == "selfcrash-1 started/booted");
  BOOST_TEST(next_event() == "selfcrash-1 stopped/crashed");
  json e = ok("domain.info", {{"domain", "selfcrash-1"}})["last_error"];
  BOOST_TEST(e["message"] == "probe: the guest of 'selfcrash-1' exited with status 3");
  BOOST_TEST(e["time"].get<std::string>().size() == 24u); // 2026-12-07T00:50:00.123Z
  auto shown = d.domsh({"domstate", "--reason", "selfcrash-1"}, "", "/one", "probe");
  BOOST_TEST(shown.status == 0, shown.err);
  BOOST_TEST(shown.out ==
             "shut off (crashed)\nlast error: " + e["time"].get<std::string>() +
                 ": probe: the guest of 'selfcrash-1' exited with status 3\n\n");
  // Without --reason, virsh's one line.
  BOOST_TEST(d.domsh({"domstate", "selfcrash-1"}, "", "/one", "probe").out ==
             "shut off\n\n");
  // A guest of another name that starts and stays up clears it.
  ok("domain.define", {{"xml", probe_xml("fine-1")}});
  BOOST_TEST(next_event() == "fine-1 defined/added");
  ok("domain.start", {{"domain", "fine-1"}});
  BOOST_TEST(ok("domain.info", {{"domain", "fine-1"}})["last_error"].is_null());
}

// users_of (ABI 1.4): the domains whose definitions use a pool, one of its volumes
// (named, or by path) or a network, every domain or the running ones. The probe's
// "users-of-*" guest fails its reboot with what the host service said.
BOOST_FIXTURE_TEST_CASE(users_of_names_the_domains_that_use_a_pool_or_a_network,
                        fixture) {
  auto guest = [](const std::string& name, const std::string& devices) {
    return "<domain type='probe'><name>" + name +
           "</name><memory>1024</memory><os><type>hvm</type></os><devices>" + devices +
           "</devices></domain>";
  };
  auto disk = [](const std::string& pool, const std::string& volume,
                 const std::string& dev) {
    return "<disk type='volume' device='disk'><source pool='" + pool + "' volume='" +
           volume + "'/><target dev='" + dev + "' bus='virtio'/></disk>";
  };
  std::string net = "<interface type='network'><source network='n1'/></interface>";
  ok("domain.define", {{"xml", guest("a-disk", disk("p1", "v1", "vda"))}});
  ok("domain.define", {{"xml", guest("b-net", net)}});
  ok("domain.define",
     {{"xml", guest("c-both", disk("p1", "v2", "vda") + disk("p2", "v1", "vdb") + net)}});
  ok("domain.define", {{"xml", guest("d-file", "<disk type='file' device='disk'><source "
                                               "file='/srv/other.img'/><target dev='vda' "
                                               "bus='virtio'/></disk>")}});
  auto users = [&](const std::string& what) {
    std::string name = "users-of-" + what;
    ok("domain.define", {{"xml", probe_xml(name)}});
    ok("domain.start", {{"domain", name}});
    auto r = call("domain.reboot", {{"domain", name}});
    BOOST_TEST(!r.ok);
    ok("domain.destroy", {{"domain", name}});
    ok("domain.undefine", {{"domain", name}});
    return r.message;
  };
  BOOST_TEST(users("pool-p1") == "probe: users of pool p1 (0): a-disk c-both");
  BOOST_TEST(users("pool-p2") == "probe: users of pool p2 (0): c-both");
  BOOST_TEST(users("pool-p3") == "probe: users of pool p3 (0):");
  BOOST_TEST(users("vol-p1.v1") == "probe: users of vol p1.v1 (0): a-disk");
  BOOST_TEST(users("vol-p1.v2") == "probe: users of vol p1.v2 (0): c-both");
  BOOST_TEST(users("net-n1") == "probe: users of net n1 (0): b-net c-both");
  BOOST_TEST(users("running-pool-p1") == "probe: users of running-pool p1 (0):");
  ok("domain.start", {{"domain", "a-disk"}});
  BOOST_TEST(users("running-pool-p1") == "probe: users of running-pool p1 (0): a-disk");
  // Undefined, a domain no longer counts.
  ok("domain.destroy", {{"domain", "a-disk"}});
  ok("domain.undefine", {{"domain", "a-disk"}});
  BOOST_TEST(users("pool-p1") == "probe: users of pool p1 (0): c-both");
}

// domxml-to-native (ABI 1.2): the driver's format, changing nothing; an unknown format
// named; a driver built against 1.1 has none; the read-only socket may not ask.
BOOST_FIXTURE_TEST_CASE(a_definition_converts_to_the_drivers_native_format, fixture) {
  json r = ok("connect.domain-xml-to-native",
              {{"format", "probe-argv"}, {"xml", probe_xml("native-1")}});
  BOOST_TEST(r["native"].get<std::string>().find("# native-1") != std::string::npos);
  BOOST_TEST((call("domain.lookup", {{"domain", "native-1"}}).code ==
              domus::protocol::errc::no_domain));
  auto bad = call("connect.domain-xml-to-native",
                  {{"format", "vmx"}, {"xml", probe_xml("native-1")}});
  BOOST_TEST((bad.code == domus::protocol::errc::invalid_argument));
  BOOST_TEST(bad.message == "probe: unknown native format 'vmx' (known: probe-argv)");
  auto broken = call("connect.domain-xml-to-native",
                     {{"format", "probe-argv"}, {"xml", "<domain type='probe'><name>"}});
  BOOST_TEST((broken.code == domus::protocol::errc::xml_error), broken.message);
  std::string file = temp_dir("n") + "/native.xml";
  write_file(file, probe_xml("native-2"));
  auto sh = d.domsh({"domxml-to-native", "probe-argv", file}, "", "/one", "probe");
  BOOST_TEST(sh.status == 0, sh.err);
  BOOST_TEST(sh.out.find("# native-2\n") != std::string::npos, sh.out);
  ok("domain.define", {{"xml", probe_xml("native-3")}});
  BOOST_TEST(next_event() == "native-3 defined/added");
  sh = d.domsh({"domxml-to-native", "probe-argv", "--domain", "native-3"}, "", "/one",
               "probe");
  BOOST_TEST(sh.out.find("# native-3\n") != std::string::npos, sh.out + sh.err);
  sh = d.domsh({"domxml-to-native", "probe-argv"}, "", "/one", "probe");
  BOOST_TEST(sh.status != 0);
  BOOST_TEST(sh.err.find("either --xml or --domain is required") != std::string::npos);
  auto old = c.call("probe11:///one", "connect.domain-xml-to-native",
                    {{"format", "probe-argv"}, {"xml", probe_xml("native-4")}},
                    std::chrono::seconds(10));
  BOOST_TEST((old.code == domus::protocol::errc::unsupported));
  BOOST_TEST(old.message == "the probe11 driver has no native configuration format");
  domus::protocol::connection ro{d.socket() + "-ro", true};
  auto refused = ro.call(uri, "connect.domain-xml-to-native",
                         {{"format", "probe-argv"}, {"xml", probe_xml("native-5")}},
                         std::chrono::seconds(10));
  BOOST_TEST((refused.code == domus::protocol::errc::permission_denied), refused.message);
}

// A driver built against ABI 1.1 loads and runs its guests on this daemon.
BOOST_FIXTURE_TEST_CASE(an_abi_1_1_driver_works, fixture) {
  uri = "probe11:///one";
  ok("domain.define", {{"xml", probe_xml("old-1")}});
  BOOST_TEST(ok("domain.start", {{"domain", "old-1"}})["state"] == "running");
  ok("domain.suspend", {{"domain", "old-1"}});
  ok("domain.resume", {{"domain", "old-1"}});
  BOOST_TEST(ok("domain.destroy", {{"domain", "old-1"}})["state"] == "shutoff");
}

// A transient guest that stops by itself is gone.
BOOST_FIXTURE_TEST_CASE(transient_guest_that_stops_vanishes, fixture) {
  ok("domain.create", {{"xml", probe_xml("selfstop-2")}});
  BOOST_TEST(next_event() == "selfstop-2 started/booted");
  BOOST_TEST(next_event() == "selfstop-2 stopped/shutdown");
  auto r = call("domain.lookup", {{"domain", "selfstop-2"}});
  BOOST_TEST(!r.ok);
  BOOST_TEST(static_cast<int>(r.code) ==
             static_cast<int>(domus::protocol::errc::no_domain));
}

// A driver call that reports an internal error makes the domain's actor fail; the
// supervisor restarts it, resynced from the driver, and nothing else notices.
BOOST_FIXTURE_TEST_CASE(supervision_restarts_a_failed_domain_actor, fixture) {
  ok("domain.define", {{"xml", probe_xml("crash-1")}});
  ok("domain.define", {{"xml", probe_xml("calm")}});
  ok("domain.start", {{"domain", "crash-1"}});
  ok("domain.start", {{"domain", "calm"}});
  auto r = call("domain.reboot", {{"domain", "crash-1"}});
  BOOST_TEST(!r.ok);
  BOOST_TEST(r.message.find("lost track of 'crash-1'") != std::string::npos, r.message);
  // Restarted and resynced: its state is still the driver's.
  json st = ok("domain.lookup", {{"domain", "crash-1"}});
  BOOST_TEST(st["state"] == "running");
  BOOST_TEST(ok("domain.suspend", {{"domain", "crash-1"}})["state"] == "paused");
  BOOST_TEST(ok("domain.lookup", {{"domain", "calm"}})["state"] == "running");
  BOOST_TEST(ok("domain.list", json::object())["domains"].size() == 2u);
  std::string log = d.log();
  BOOST_TEST(log.find("the actor of domain 'crash-1' failed") != std::string::npos, log);
  BOOST_TEST(log.find("restarted and resynced from the driver (1 in the last 60 s)") !=
                 std::string::npos,
             log);
  ok("domain.destroy", {{"domain", "crash-1"}});
  ok("domain.destroy", {{"domain", "calm"}});
}

// Too many failures in the window: the domain is marked in error, a domain.error event
// says so, and the rest keeps working.
BOOST_FIXTURE_TEST_CASE(crash_loop_marks_the_domain_in_error, fixture) {
  ok("domain.define", {{"xml", probe_xml("crash-2")}});
  ok("domain.start", {{"domain", "crash-2"}});
  for (int i = 0; i < 6; ++i)
    BOOST_TEST(!call("domain.reboot", {{"domain", "crash-2"}}).ok);
  std::string seen;
  for (int i = 0; i < 10 && seen.find("domain.error") == std::string::npos; ++i) {
    auto m = sub.next(std::chrono::seconds(10));
    BOOST_TEST_REQUIRE(m.has_value());
    seen += m->topic + " ";
    if (m->topic == "domain.error") {
      BOOST_TEST(m->body["domain"]["name"] == "crash-2");
      BOOST_TEST(m->body["message"].get<std::string>().find("marked in error") !=
                 std::string::npos);
      BOOST_TEST(m->body.contains("seq"));
    }
  }
  BOOST_TEST(seen.find("domain.error") != std::string::npos, seen);
  auto refused = call("domain.suspend", {{"domain", "crash-2"}});
  BOOST_TEST(!refused.ok);
  BOOST_TEST(refused.message.find("marked in error") != std::string::npos,
             refused.message);
  BOOST_TEST(ok("domain.lookup", {{"domain", "crash-2"}})["name"] == "crash-2");
  // Other instances and domains never noticed.
  auto other = c.call("test:///default", "domain.lookup", {{"domain", "test"}},
                      std::chrono::seconds(5));
  BOOST_TEST(other.ok);
}

// SIGTERM with a request in flight that the hypervisor never completes: the request is
// failed with a clear error after shutdown_timeout_ms, new ones are refused meanwhile,
// and the daemon exits cleanly.
BOOST_AUTO_TEST_CASE(shutdown_fails_requests_that_never_complete) {
  std::string conf = temp_dir("s") + "/domusd.conf";
  write_file(conf, "shutdown_timeout_ms = 300\n");
  daemon_process d({"--plugin-dir", probe_plugin_dir(), "--config", conf});
  domus::protocol::connection c(d.socket(), false);
  BOOST_TEST(c.call("probe:///one", "domain.define", {{"xml", probe_xml("hang-1")}},
                    std::chrono::seconds(5))
                 .ok);
  int64_t id = c.send("probe:///one", "domain.start", {{"domain", "hang-1"}});
  // The start is in flight once a later query on the same connection is answered.
  auto q = c.call("probe:///one", "domain.lookup", {{"domain", "hang-1"}},
                  std::chrono::seconds(5));
  BOOST_TEST(q.ok);
  d.process().signal(SIGTERM);
  auto r = c.receive(std::chrono::seconds(10));
  BOOST_TEST_REQUIRE(r.has_value());
  BOOST_TEST(r->id.value_or(-1) == id);
  BOOST_TEST(!r->ok);
  BOOST_TEST(static_cast<int>(r->code) ==
             static_cast<int>(domus::protocol::errc::shutting_down));
  BOOST_TEST(r->message == "the daemon stopped before the request completed");
  BOOST_TEST(d.stop() == 0);
  BOOST_TEST(d.log().find("waiting for 1 request(s) in flight before stopping") !=
             std::string::npos);
}

// A long queue behind a job that completes later drains without recursion: 20000
// requests refused at once after the start completes.
BOOST_FIXTURE_TEST_CASE(long_queue_behind_an_asynchronous_job, fixture) {
  ok("domain.define", {{"xml", probe_xml("q1")}});
  const int n = 20000;
  int64_t first = c.send(uri, "domain.start", {{"domain", "q1"}});
  for (int i = 0; i < n; ++i)
    c.send(uri, "domain.start", {{"domain", "q1"}});
  int refused = 0;
  bool started = false;
  for (int i = 0; i <= n; ++i) {
    auto r = c.receive(std::chrono::seconds(20));
    BOOST_TEST_REQUIRE(r.has_value());
    if (r->id.value_or(0) == first)
      started = r->ok;
    else
      refused += (!r->ok && r->code == domus::protocol::errc::invalid_operation) ? 1 : 0;
  }
  BOOST_TEST(started);
  BOOST_TEST(refused == n);
}

// The driver's handle is released only after every call on it came back: an info
// posted to the loop races the destroy that removes a transient guest.
BOOST_FIXTURE_TEST_CASE(release_waits_for_calls_in_flight, fixture) {
  for (int i = 0; i < 20; ++i) {
    std::string name = "t" + std::to_string(i);
    ok("domain.create", {{"xml", probe_xml(name)}});
    int64_t info = c.send(uri, "domain.info", {{"domain", name}});
    int64_t destroy = c.send(uri, "domain.destroy", {{"domain", name}});
    auto a = c.wait_for(info, std::chrono::seconds(10));
    auto b = c.wait_for(destroy, std::chrono::seconds(10));
    BOOST_TEST(a.ok, a.message);
    BOOST_TEST(b.ok);
    BOOST_TEST(b.result["state"] == "shutoff");
    BOOST_TEST(!call("domain.lookup", {{"domain", name}}).ok);
  }
  BOOST_TEST(ok("domain.list", json::object())["domains"].empty());
}

// A call still out when its actor dies reaches the replacement, which waits for it
// before it calls the driver again.
BOOST_FIXTURE_TEST_CASE(calls_in_flight_survive_a_restart, fixture) {
  ok("domain.define", {{"xml", probe_xml("crash-3")}});
  ok("domain.start", {{"domain", "crash-3"}});
  for (int i = 0; i < 3; ++i) {
    int64_t info = c.send(uri, "domain.info", {{"domain", "crash-3"}});
    int64_t reboot = c.send(uri, "domain.reboot", {{"domain", "crash-3"}});
    auto a =
        c.wait_for(info, std::chrono::seconds(10)); // answered, or failed with the actor
    auto b = c.wait_for(reboot, std::chrono::seconds(10)); // fails: the actor died
    BOOST_TEST(!b.ok);
    BOOST_TEST((a.ok || a.code == domus::protocol::errc::internal));
  }
  BOOST_TEST(ok("domain.suspend", {{"domain", "crash-3"}})["state"] == "paused");
  BOOST_TEST(ok("domain.lookup", {{"domain", "crash-3"}})["state"] == "paused");
}

// As a terminal does it: domusd leads its own process group (a shell's foreground job),
// a probe guest that its driver leaves running runs, and Ctrl-C (SIGINT to the group)
// stops the daemon; the guest lives on, in a session of its own, and is no zombie.
BOOST_AUTO_TEST_CASE(ctrl_c_to_a_foreground_daemon_never_reaches_its_guests) {
  daemon_process d({"--plugin-dir", probe_plugin_dir()});
  BOOST_TEST_REQUIRE(::getpgid(d.pid()) == d.pid());
  domus::protocol::connection c(d.socket(), false);
  auto def = c.call("probe:///one", "domain.define", {{"xml", probe_xml("survivor-1")}},
                    std::chrono::seconds(10));
  BOOST_TEST_REQUIRE(def.ok, def.message);
  auto start = c.call("probe:///one", "domain.start", {{"domain", "survivor-1"}},
                      std::chrono::seconds(10));
  BOOST_TEST_REQUIRE(start.ok, start.message);
  std::smatch m;
  std::string log = d.log();
  BOOST_TEST_REQUIRE(
      std::regex_search(log, m, std::regex("guest 'survivor-1' spawned as pid (\\d+)")));
  pid_t guest = std::stoi(m[1].str());
  BOOST_TEST(::getsid(guest) == guest);
  BOOST_TEST(::kill(-d.pid(), SIGINT) == 0);
  BOOST_TEST(d.process().wait() == 0);
  // The daemon is gone; its guest is not (and not a zombie).
  std::ifstream stat("/proc/" + std::to_string(guest) + "/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), {});
  auto paren = text.rfind(')');
  BOOST_TEST_REQUIRE(paren != std::string::npos, "guest " << guest << " is gone");
  BOOST_TEST(text.substr(paren + 2, 1) != "Z", text);
  BOOST_TEST(::getsid(guest) == guest);
  ::kill(guest, SIGKILL); // ours to stop, by its pid
}
