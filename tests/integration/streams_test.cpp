#define BOOST_TEST_MODULE streams_integration
#include <boost/test/unit_test.hpp>

#include "daemon.hpp"

#include <domus/protocol/byte_stream.hpp>
#include <domus/protocol/client.hpp>

#include <domus/driver_v1.h>

#include <csignal>
#include <fstream>

// Streams (docs/protocol.md, "Streams") through the real daemon, on the probe driver's
// console, which echoes what it is sent: a 1 GiB round trip whose memory stays bounded on
// both sides, credit and chunk bounds at and past their limit, the stream limits per
// connection and per daemon, the end and the abort from either side, the idle bound,
// and the daemon stopping with a stream open.

using namespace domus::testing;
using domus::protocol::byte_stream;
using domus::protocol::connection;
using domus::protocol::errc;
using domus::protocol::json;
using namespace std::chrono_literals;

namespace {

const std::string uri = "probe:///streams";

std::string config(const std::string& text) {
  std::string path = temp_dir("c") + "/domusd.conf";
  write_file(path, text);
  return path;
}

// A kernel figure of a process, in KiB ("VmHWM", "VmRSS").
uint64_t status_kib(int pid, const std::string& field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(field + ":", 0) == 0)
      return std::stoull(line.substr(field.size() + 1));
  return 0;
}

struct fixture {
  daemon_process d;
  connection c{d.socket(), false};

  explicit fixture(const std::string& conf = "")
      : d({"--plugin-dir", probe_plugin_dir(), "--config", config(conf)}) {}
  bool stopped = false; // nothing to clean up: the daemon is gone
  ~fixture() {
    if (stopped)
      return;
    try {
      auto r = c.call(uri, "domain.list", json::object(), 5s);
      if (r.ok)
        for (auto& dom : r.result["domains"])
          if (!dom["id"].is_null())
            c.call(uri, "domain.destroy", {{"domain", dom["name"]}}, 5s);
    } catch (const std::exception&) {
    }
  }

  void guest(const std::string& name) {
    BOOST_TEST_REQUIRE(c.call(uri, "domain.define", {{"xml", probe_xml(name)}}, 10s).ok);
    BOOST_TEST_REQUIRE(c.call(uri, "domain.start", {{"domain", name}}, 10s).ok);
  }
  domus::protocol::reply open(connection& on, const std::string& name,
                              uint32_t flags = 0) {
    json args = {{"domain", name}};
    if (flags)
      args["flags"] = flags;
    return on.call(uri, "domain.open-console", args, 10s);
  }
  json opened(const std::string& name) {
    auto r = open(c, name);
    BOOST_TEST_REQUIRE(r.ok, r.message);
    return r.result;
  }
  json opened_with_force(const std::string& name) {
    auto r = open(c, name, DOMUS_CONSOLE_FORCE);
    BOOST_TEST_REQUIRE(r.ok, r.message);
    return r.result;
  }
  // The next message of a stream, which must come within 10 s.
  domus::protocol::stream_message next(uint64_t id) {
    auto m = c.receive_stream(10s, id);
    BOOST_TEST_REQUIRE(m.has_value(), "no message on stream " << id << " within 10 s");
    return *m;
  }
  // Whether the daemon's log says `text` within 10 s (polled).
  bool logged(const std::string& text) {
    for (auto end = std::chrono::steady_clock::now() + 10s;
         std::chrono::steady_clock::now() < end;) {
      if (d.log().find(text) != std::string::npos)
        return true;
      d.process().poll_output(20ms);
    }
    return false;
  }
};

} // namespace

// 1 GiB there and back through the console's echo, in 256 KiB chunks, each checked.
// Neither side holds more than its window: the daemon's peak resident memory grows by
// far less than what went through it.
BOOST_FIXTURE_TEST_CASE(a_gigabyte_round_trip_in_bounded_memory, fixture) {
  guest("g");
  json o = opened("g");
  BOOST_TEST(o["window"] == 8);
  BOOST_TEST(o["chunk_bytes"] == 262144);
  byte_stream s(c, o);
  uint64_t before = status_kib(d.pid(), "VmHWM");
  const size_t chunks = (1u << 30) / s.chunk_bytes();
  std::string chunk(s.chunk_bytes(), '\0');
  size_t sent = 0, received = 0;
  while (received < chunks) {
    // Write while the daemon gives credit, then take back what has come.
    while (sent < chunks && s.can_write()) {
      std::fill(chunk.begin(), chunk.end(), static_cast<char>(sent % 251));
      s.write(chunk, 10s);
      ++sent;
    }
    auto back = s.read(sent < chunks && s.can_write() ? 0ms : 10s);
    if (!back)
      continue;
    BOOST_TEST_REQUIRE(back->size() == s.chunk_bytes());
    BOOST_TEST_REQUIRE((back->data()[0] == static_cast<char>(received % 251) &&
                        back->data()[back->size() - 1] == back->data()[0]),
                       "chunk " << received << " came back changed");
    ++received;
  }
  uint64_t grown = status_kib(d.pid(), "VmHWM") - before;
  BOOST_TEST_MESSAGE("1 GiB round trip: the daemon's peak RSS grew by " << grown
                                                                        << " KiB");
  BOOST_TEST(grown < 64u * 1024, "the daemon's peak RSS grew by " << grown << " KiB");
  s.end();
  BOOST_TEST(logged("probe: console of 'g' ended (0)"));
}

// The client's bounds: data beyond its credit, a chunk past 256 KiB, an empty one.
BOOST_FIXTURE_TEST_CASE(a_client_past_its_credit_or_chunk_is_aborted, fixture) {
  guest("g");
  json o = opened("g");
  uint64_t id = o["stream"];
  c.send_stream(id, "credit", {{"chunks", 1000}}); // more than the window: clamped
  std::string chunk(262144, 'x');
  for (int i = 0; i < 8; ++i) // the whole window, at once
    c.send_stream(id, "data", {}, chunk);
  // The echo comes back, and the daemon grants more credit as its driver takes half the
  // window: use it all, then one more.
  int echoed = 0;
  uint32_t credit = 0;
  while (echoed < 8 || credit < 8) {
    auto m = next(id);
    if (m.op == "data")
      ++echoed;
    if (m.op == "credit")
      credit += m.header["chunks"].get<uint32_t>();
  }
  BOOST_TEST(credit == 8u);
  for (uint32_t i = 0; i <= credit; ++i)
    c.send_stream(id, "data", {}, "y");
  for (;;) {
    auto m = next(id);
    if (m.op == "data" || m.op == "credit")
      continue;
    BOOST_TEST(m.op == "abort");
    BOOST_TEST(m.header["code"] == "limit-exceeded");
    BOOST_TEST(m.header["message"] ==
               "data sent without credit: the client may send stream_window (8) "
               "messages ahead of its grants");
    break;
  }
  BOOST_TEST(logged("probe: console of 'g' ended (22: data sent without credit"));

  // 262144 bytes pass (above); one more byte does not, nor does none.
  for (std::string bad : {std::string(262145, 'z'), std::string()}) {
    json again = opened("g");
    uint64_t sid = again["stream"];
    c.send_stream(sid, "data", {}, bad);
    auto m = next(sid);
    BOOST_TEST(m.op == "abort");
    BOOST_TEST(m.header["code"] == "message-too-large");
    BOOST_TEST(m.header["message"] == "a data message of " + std::to_string(bad.size()) +
                                          " bytes: each carries 1 to 262144");
  }
  // Another connection cannot touch this one's stream, nor a stream that is not open.
  json mine = opened("g");
  connection other(d.socket(), false);
  other.send_stream(mine["stream"], "abort", {{"message", "not yours"}});
  auto refused = other.receive_stream(10s);
  BOOST_TEST_REQUIRE(refused.has_value());
  BOOST_TEST(refused->op == "abort");
  BOOST_TEST(refused->header["message"] ==
             "no stream " + std::to_string(mine["stream"].get<uint64_t>()) +
                 " is open on this connection");
  byte_stream still(c, mine);
  still.write("ping", 10s);
  BOOST_TEST(still.read(10s)->view() == "ping");
}

// max_client_streams and max_streams, at and past: the next open is refused before the
// driver is called, and a place comes back when a stream ends.
BOOST_AUTO_TEST_CASE(stream_limits_hold_at_and_past) {
  fixture f("max_client_streams = 2\nmax_streams = 3\n");
  for (auto n : {"a", "b", "c", "e"})
    f.guest(n);
  json a = f.opened("a");
  f.opened("b");
  auto third = f.open(f.c, "c");
  BOOST_TEST(!third.ok);
  BOOST_TEST(static_cast<int>(third.code) == static_cast<int>(errc::limit_exceeded));
  BOOST_TEST(third.message == "this connection has 2 streams open, as many as "
                              "max_client_streams (2) allows: end one first");
  connection other(f.d.socket(), false);
  BOOST_TEST(f.open(other, "c").ok);
  auto fourth = f.open(other, "e");
  BOOST_TEST(fourth.message ==
             "the daemon has 3 streams open, as many as max_streams (3) "
             "allows");
  f.c.send_stream(a["stream"], "end");
  BOOST_TEST(f.logged("probe: console of 'a' ended (0)"));
  BOOST_TEST(f.open(other, "e").ok, "a place came back");
}

// Ends and aborts: the client's abort reaches the driver with its message; the guest's
// end (it stopped) reaches the client; force takes a console from another stream; a
// stream that hears nothing from its client is aborted after stream_idle_ms.
BOOST_AUTO_TEST_CASE(either_side_ends_a_stream) {
  fixture f("stream_idle_ms = 1000\n");
  f.guest("g");
  json o = f.opened("g");
  f.c.send_stream(o["stream"], "abort", {{"message", "bye"}});
  BOOST_TEST(f.logged("probe: console of 'g' ended (23: the client aborted the stream: "
                      "bye)"));

  json first = f.opened("g");
  auto busy = f.open(f.c, "g");
  BOOST_TEST(busy.message == "probe: the console of 'g' is in use (force takes it)");
  json second = f.opened_with_force("g");
  auto taken = f.next(first["stream"]);
  BOOST_TEST(taken.op == "abort");
  BOOST_TEST(taken.header["message"] == "another client took the console");

  BOOST_TEST(f.c.call(uri, "domain.destroy", {{"domain", "g"}}, 10s).ok);
  for (;;) {
    auto m = f.next(second["stream"]);
    if (m.op == "credit")
      continue;
    BOOST_TEST(m.op == "end"); // the guest's console closed with it
    break;
  }

  BOOST_TEST(f.c.call(uri, "domain.start", {{"domain", "g"}}, 10s).ok);
  json idle = f.opened("g");
  auto m = f.next(idle["stream"]);
  BOOST_TEST(m.op == "abort");
  BOOST_TEST(m.header["code"] == "timeout");
  BOOST_TEST(m.header["message"] ==
             "the stream heard nothing from its client for 1000 ms (stream_idle_ms)");
  BOOST_TEST(f.logged("probe: console of 'g' ended (19: the stream heard nothing"));
}

// Refusals before any stream exists: a guest that does not run, a console it lacks, a
// flag the driver cannot honour, a 1.0 driver, the read-only socket.
BOOST_FIXTURE_TEST_CASE(what_opens_no_stream, fixture) {
  BOOST_TEST(c.call(uri, "domain.define", {{"xml", probe_xml("off")}}, 10s).ok);
  BOOST_TEST(open(c, "off").message ==
             "cannot open the console of domain 'off': it is not running");
  guest("g");
  auto dev =
      c.call(uri, "domain.open-console", {{"domain", "g"}, {"device", "serial3"}}, 10s);
  BOOST_TEST(dev.message == "probe: no console 'serial3' (it has console0)");
  BOOST_TEST(open(c, "g", DOMUS_CONSOLE_SAFE).message ==
             "probe: cannot keep a console safe");
  BOOST_TEST(
      c.call("probe10:///streams", "domain.define", {{"xml", probe_xml("old")}}, 10s).ok);
  auto old =
      c.call("probe10:///streams", "domain.open-console", {{"domain", "old"}}, 10s);
  BOOST_TEST(old.message == "the probe10 driver does not support 'domain.open-console'");
  connection ro(d.socket(), true);
  BOOST_TEST(static_cast<int>(open(ro, "g").code) ==
             static_cast<int>(errc::permission_denied));
  // After all of them, a stream still opens (no place was kept by a refusal).
  BOOST_TEST(open(c, "g").ok);
}

// The daemon stops with a stream open: the client hears why, the driver its end.
BOOST_FIXTURE_TEST_CASE(a_stopping_daemon_aborts_its_streams, fixture) {
  guest("g");
  json o = opened("g");
  ::kill(d.pid(), SIGTERM);
  auto m = next(o["stream"]);
  BOOST_TEST(m.op == "abort");
  BOOST_TEST(m.header["code"] == "shutting-down");
  BOOST_TEST(m.header["message"] == "the daemon is stopping");
  BOOST_TEST(d.stop() == 0);
  stopped = true;
  BOOST_TEST(d.log().find("probe: console of 'g' ended (16: the daemon is stopping)") !=
             std::string::npos);
}

// The Python client of docs/protocol.md, written from that page alone: 64 MiB there and
// back.
BOOST_FIXTURE_TEST_CASE(python_stream_client_from_the_docs, fixture) {
  guest("g");
  child py({"/usr/bin/python3",
            std::string(DOMUS_SOURCE_DIR) + "/tests/integration/console_echo.py",
            d.socket(), uri, "g", "64"});
  BOOST_TEST(py.wait() == 0, py.err());
  BOOST_TEST(py.out() == "OK 67108864\n");
  BOOST_TEST(logged("probe: console of 'g' ended (0)"));
}
