#define BOOST_TEST_MODULE events_integration
#include <boost/test/unit_test.hpp>

#include "daemon.hpp"

#include <domus/protocol/client.hpp>

#include <csignal>
#include <regex>
#include <sstream>
#include <sys/stat.h>

// The event contract: topic frame, JSON body with seq (+1 each), time, uri, event,
// detail and domain; events of a change published before its reply; the handshake.

using namespace domus::testing;
using domus::protocol::json;

namespace {

const std::string xml = "<domain type='test'><name>ev1</name>"
                        "<uuid>0b5fd4a5-2c1f-4e4c-9e0e-3f8c9a1b2c3d</uuid>"
                        "<memory>1024</memory><os><type>hvm</type></os></domain>";

// The next event, failing the test after 5 s.
domus::protocol::event_message next(domus::protocol::subscriber& s) {
  auto m = s.next(std::chrono::seconds(5));
  BOOST_TEST_REQUIRE(m.has_value(), "no event within 5 s");
  return *m;
}

json call(domus::protocol::connection& c, const std::string& proc, const json& args) {
  auto r = c.call("test:///default", proc, args, std::chrono::seconds(5));
  BOOST_TEST_REQUIRE(r.ok, r.message);
  return r.result;
}

} // namespace

BOOST_AUTO_TEST_CASE(lifecycle_events_with_seq_topic_order_and_fields) {
  daemon_process d;
  domus::protocol::connection c(d.socket(), false);
  domus::protocol::subscriber sub(c, {"domain."});
  sub.handshake(std::chrono::seconds(5));

  const std::vector<std::pair<std::string, json>> steps = {
      {"domain.define", {{"xml", xml}}},        {"domain.start", {{"domain", "ev1"}}},
      {"domain.suspend", {{"domain", "ev1"}}},  {"domain.resume", {{"domain", "ev1"}}},
      {"domain.destroy", {{"domain", "ev1"}}},  {"domain.start", {{"domain", "ev1"}}},
      {"domain.shutdown", {{"domain", "ev1"}}}, {"domain.undefine", {{"domain", "ev1"}}}};
  const std::vector<std::pair<std::string, std::string>> expected = {
      {"defined", "added"},    {"started", "booted"},    {"suspended", "paused"},
      {"resumed", "unpaused"}, {"stopped", "destroyed"}, {"started", "booted"},
      {"stopped", "shutdown"}, {"undefined", "removed"}};
  for (auto& [proc, args] : steps)
    call(c, proc, args);

  const std::regex time_format(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)");
  uint64_t last_seq = 0;
  for (size_t i = 0; i < expected.size(); ++i) {
    auto m = next(sub);
    BOOST_TEST_CONTEXT("event " << i << ": " << m.body.dump()) {
      BOOST_TEST(m.topic == "domain.lifecycle");
      BOOST_TEST(m.body["topic"] == "domain.lifecycle");
      uint64_t seq = m.body["seq"].get<uint64_t>();
      if (i == 0)
        BOOST_TEST(seq == 1u); // a new daemon state starts at 1
      else
        BOOST_TEST(seq == last_seq + 1);
      last_seq = seq;
      BOOST_TEST(std::regex_match(m.body["time"].get<std::string>(), time_format));
      BOOST_TEST(m.body["uri"] == "test:///default");
      BOOST_TEST(m.body["event"] == expected[i].first);
      BOOST_TEST(m.body["detail"] == expected[i].second);
      BOOST_TEST(m.body["domain"]["name"] == "ev1");
      BOOST_TEST(m.body["domain"]["uuid"] == "0b5fd4a5-2c1f-4e4c-9e0e-3f8c9a1b2c3d");
    }
  }
  // Nothing extra: the barrier's pong comes after anything published before it.
  BOOST_TEST(sub.until_now(std::chrono::seconds(5)).empty());
}

// The reply to a change leaves after its events: a subscriber that asks for nothing but
// reads until the event of its own request finds it without waiting long.
// What a client can rely on (it cannot order two sockets): right after a change's reply,
// events.since already returns that change's event.
BOOST_AUTO_TEST_CASE(a_reply_follows_its_event_in_the_journal) {
  daemon_process d;
  domus::protocol::connection c(d.socket(), false);
  auto since = [&](uint64_t after) {
    auto r = c.call("", "events.since", {{"after", after}, {"topic", "domain.lifecycle"}},
                    std::chrono::seconds(5));
    BOOST_TEST_REQUIRE(r.ok, r.message);
    return r.result;
  };
  uint64_t last = since(0)["last"].get<uint64_t>();
  for (int i = 0; i < 50; ++i) {
    call(c, i % 2 ? "domain.resume" : "domain.suspend", {{"domain", "test"}});
    json page = since(last);
    BOOST_TEST_REQUIRE(page["events"].size() == 1u, "after change " << i);
    BOOST_TEST(page["events"][0]["event"] == (i % 2 ? "resumed" : "suspended"));
    last = page["events"][0]["seq"].get<uint64_t>();
  }
}

BOOST_AUTO_TEST_CASE(topic_filters_see_gaps_in_seq) {
  daemon_process d;
  domus::protocol::connection c(d.socket(), false);
  domus::protocol::subscriber only_sys(c, {"nothing."});
  only_sys.handshake(std::chrono::seconds(5));
  call(c, "domain.suspend", {{"domain", "test"}});
  BOOST_TEST(only_sys.until_now(std::chrono::seconds(5)).empty());
  domus::protocol::subscriber all(c, {"domain."});
  all.handshake(std::chrono::seconds(5));
  call(c, "domain.resume", {{"domain", "test"}});
  auto m = next(all);
  BOOST_TEST(m.body["seq"] == 2); // seq 1 went to nobody here
}

BOOST_AUTO_TEST_CASE(python_subscriber_from_the_docs) {
  daemon_process d;
  child py({"/usr/bin/python3",
            std::string(DOMUS_SOURCE_DIR) + "/tests/integration/subscriber.py",
            d.root() + "/run/domus", "4"});
  py.wait_for(1, "READY\n", std::chrono::seconds(20));
  domus::protocol::connection c(d.socket(), false);
  call(c, "domain.define", {{"xml", xml}});
  call(c, "domain.start", {{"domain", "ev1"}});
  call(c, "domain.destroy", {{"domain", "ev1"}});
  call(c, "domain.undefine", {{"domain", "ev1"}});
  BOOST_TEST(py.wait() == 0, py.err());
  std::istringstream lines(py.out());
  std::string line;
  std::getline(lines, line); // READY
  std::vector<std::string> seen;
  while (std::getline(lines, line)) {
    json e = json::parse(line);
    seen.push_back(e["event"].get<std::string>() + "/" + e["detail"].get<std::string>());
  }
  BOOST_TEST(
      (seen == std::vector<std::string>{"defined/added", "started/booted",
                                        "stopped/destroyed", "undefined/removed"}));
}

BOOST_AUTO_TEST_CASE(domsh_event_prints_what_virsh_prints) {
  daemon_process d;
  std::string dir = temp_dir("e");
  write_file(dir + "/ev1.xml", xml);
  child ev({domsh_path(), "-d", "1", "-c", d.uri(), "event", "--all", "--loop",
            "--timestamp"});
  ev.wait_for(2, "listening for events", std::chrono::seconds(10));
  // The second define of the same name and UUID is an update.
  BOOST_TEST(d.domsh({"define " + dir + "/ev1.xml; define " + dir +
                      "/ev1.xml; start ev1; suspend ev1; resume ev1; "
                      "destroy ev1; undefine ev1"})
                 .status == 0);
  ev.wait_for(1, "Undefined Removed\n", std::chrono::seconds(10));
  ev.signal(SIGINT);
  BOOST_TEST(ev.wait() == 0);
  std::regex line(
      R"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}\+0000: event 'lifecycle' for domain 'ev1': (.*))");
  std::istringstream in(ev.out());
  std::vector<std::string> texts;
  std::string l;
  while (std::getline(in, l)) {
    std::smatch m;
    if (std::regex_match(l, m, line))
      texts.push_back(m[1]);
  }
  BOOST_TEST((texts == std::vector<std::string>{"Defined Added", "Defined Updated",
                                                "Started Booted", "Suspended Paused",
                                                "Resumed Unpaused", "Stopped Destroyed",
                                                "Undefined Removed"}));
  BOOST_TEST(ev.out().find("event loop interrupted\nevents received: 7\n") !=
                 std::string::npos,
             ev.out());
}

BOOST_AUTO_TEST_CASE(domsh_event_one_shot_filter_and_timeout) {
  daemon_process d;
  child ev(
      {domsh_path(), "-d", "1", "-c", d.uri(), "event", "test", "--event", "lifecycle"});
  ev.wait_for(2, "listening for events", std::chrono::seconds(10));
  BOOST_TEST(d.domsh({"suspend test"}).status == 0);
  BOOST_TEST(ev.wait() == 0);
  BOOST_TEST(ev.out() == "event 'lifecycle' for domain 'test': Suspended Paused\n"
                         "events received: 1\n\n");
  auto none = d.domsh({"event --all --timeout 1"});
  BOOST_TEST(none.status == 1);
  BOOST_TEST(none.out == "event loop timed out\nevents received: 0\n\n");
  // The types domsh follows, in virsh's order (virsh lists more: those Domus has no
  // topic for yet).
  BOOST_TEST(d.domsh({"event --list"}).out == "lifecycle\nrtc-change\nio-error\n"
                                              "io-error-reason\nblock-job\n"
                                              "balloon-change\ndevice-removed\n"
                                              "device-added\n\n");
  auto bad = d.domsh({"event --event reboot"});
  BOOST_TEST(bad.err == "error: unknown event type reboot\n");
  auto neither = d.domsh({"event"});
  BOOST_TEST(neither.err ==
             "error: one of --list, --all, or --event <type> is required\n");
}

// A follower whose daemon dies does not wait forever: it notices within seconds.
BOOST_AUTO_TEST_CASE(domsh_event_notices_a_dead_daemon) {
  daemon_process d;
  child ev({domsh_path(), "-d", "1", "-c", d.uri(), "event", "--all", "--loop"});
  ev.wait_for(2, "listening for events", std::chrono::seconds(10));
  d.kill9();
  BOOST_TEST(ev.wait(std::chrono::seconds(20)) == 1);
  BOOST_TEST(ev.err().find("stopped answering; 0 event(s) received") != std::string::npos,
             ev.err());
}

// The journal: events.since answers what a subscriber missed, exactly as published, on
// the read-only socket too; seq continues across a restart, even after SIGKILL.
BOOST_AUTO_TEST_CASE(events_since_replays_exactly_what_was_published) {
  std::string root = temp_dir("j");
  daemon_process d({}, root);
  domus::protocol::connection c(d.socket(), false);
  domus::protocol::subscriber sub(c, {"domain."});
  sub.handshake(std::chrono::seconds(5));
  for (int i = 0; i < 6; ++i)
    call(c, i % 2 ? "domain.resume" : "domain.suspend", {{"domain", "test"}});
  std::vector<json> live;
  for (int i = 0; i < 6; ++i)
    live.push_back(next(sub).body);
  domus::protocol::connection ro(root + "/run/domus/domus-sock-ro", true);
  auto r = ro.call("", "events.since", {{"after", 0}}, std::chrono::seconds(5));
  BOOST_TEST_REQUIRE(r.ok, r.message);
  BOOST_TEST((r.result["events"] == json(live)));
  BOOST_TEST(r.result["last"] == live.back()["seq"]);
  auto page =
      ro.call("", "events.since", {{"after", 2}, {"limit", 2}, {"topic", "domain.l"}},
              std::chrono::seconds(5));
  BOOST_TEST_REQUIRE(page.ok, page.message);
  BOOST_TEST((page.result["events"] == json{live[2], live[3]}));
  BOOST_TEST(page.result["next"] == 4);
  auto none = ro.call("", "events.since", {{"after", 0}, {"topic", "sys."}},
                      std::chrono::seconds(5));
  BOOST_TEST(none.result["events"].empty());
  auto bad = ro.call("", "events.since", {{"after", -1}}, std::chrono::seconds(5));
  BOOST_TEST(!bad.ok);
  BOOST_TEST(static_cast<int>(bad.code) ==
             static_cast<int>(domus::protocol::errc::bad_request));

  d.kill9();
  daemon_process again({}, root);
  domus::protocol::connection c2(again.socket(), false);
  domus::protocol::subscriber sub2(c2, {"domain."});
  sub2.handshake(std::chrono::seconds(5));
  call(c2, "domain.suspend", {{"domain", "test"}});
  // Above every seq handed out (the ceiling, reserved ahead: seq may jump), and nothing
  // lost between: events.since from the last one seen answers the new one, no resync.
  uint64_t last = live.back()["seq"].get<uint64_t>();
  uint64_t seq = next(sub2).body["seq"].get<uint64_t>();
  BOOST_TEST(seq > last);
  domus::protocol::connection ro2(root + "/run/domus/domus-sock-ro", true);
  auto after = ro2.call("", "events.since", {{"after", last}}, std::chrono::seconds(5));
  BOOST_TEST_REQUIRE(after.ok, after.message);
  BOOST_TEST_REQUIRE(after.result["events"].size() == 1u);
  BOOST_TEST(after.result["events"][0]["seq"] == seq);
}

BOOST_AUTO_TEST_CASE(a_journal_that_no_longer_holds_the_seq_asks_for_resync) {
  std::string root = temp_dir("j");
  ::mkdir((root + "/etc").c_str(), 0755);
  ::mkdir((root + "/etc/domus").c_str(), 0755);
  write_file(root + "/etc/domus/domusd.conf", "journal_events = 100\n");
  daemon_process d({}, root);
  domus::protocol::connection c(d.socket(), false);
  for (int i = 0; i < 120; ++i)
    call(c, i % 2 ? "domain.resume" : "domain.suspend", {{"domain", "test"}});
  auto r = c.call("", "events.since", {{"after", 3}}, std::chrono::seconds(5));
  BOOST_TEST(!r.ok);
  BOOST_TEST(static_cast<int>(r.code) == static_cast<int>(domus::protocol::errc::resync));
  BOOST_TEST(r.error["oldest_seq"] == 21);
  auto cmd = d.domsh({"event --all --since 3"});
  BOOST_TEST(cmd.status == 1);
  BOOST_TEST(cmd.err.find("(the oldest event held is seq 21)") != std::string::npos,
             cmd.err);
}

// domsh event --since: the journal, then the live stream, with no gap and no duplicate
// even while events are published during the switch.
BOOST_AUTO_TEST_CASE(domsh_event_since_switches_to_live_without_gap_or_duplicate) {
  daemon_process d;
  domus::protocol::connection c(d.socket(), false);
  for (int i = 0; i < 20; ++i)
    call(c, i % 2 ? "domain.resume" : "domain.suspend", {{"domain", "test"}});
  child ev({domsh_path(), "-c", d.uri(), "event", "--all", "--loop", "--since", "10"});
  // Published while it replays and switches over.
  for (int i = 20; i < 60; ++i)
    call(c, i % 2 ? "domain.resume" : "domain.suspend", {{"domain", "test"}});
  std::string expected;
  for (int i = 10; i < 60; ++i)
    expected += std::string("event 'lifecycle' for domain 'test': ") +
                (i % 2 ? "Resumed Unpaused" : "Suspended Paused") + "\n";
  for (int i = 0; i < 200 && ev.out().size() < expected.size(); ++i)
    ev.poll_output(std::chrono::milliseconds(50));
  ev.signal(SIGINT);
  ev.wait();
  BOOST_TEST(ev.out() == expected + "event loop interrupted\nevents received: 50\n\n");
}
