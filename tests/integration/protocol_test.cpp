#define BOOST_TEST_MODULE protocol_integration
#include <boost/test/unit_test.hpp>

#include "daemon.hpp"

#include <domus/protocol/client.hpp>

#include <atomic>
#include <random>
#include <set>
#include <thread>
#include <zmq.hpp>
#include <zmq_addon.hpp>

// The wire contract through a raw ZeroMQ DEALER: whatever a client sends, it gets an
// answer (or the daemon carries on), never a crash or a hang.

using namespace domus::testing;
using domus::protocol::json;

namespace {

struct raw_client {
  zmq::context_t ctx{1};
  zmq::socket_t sock{ctx, zmq::socket_type::dealer};
  explicit raw_client(const std::string& path) {
    sock.set(zmq::sockopt::linger, 0);
    sock.connect("ipc://" + path);
  }
  void send(std::vector<std::string> frames) {
    std::vector<zmq::const_buffer> bufs;
    for (auto& f : frames)
      bufs.push_back(zmq::buffer(f));
    zmq::send_multipart(sock, bufs);
  }
  // The frames of the next message; fails the test after 5 s.
  std::vector<zmq::message_t> message() {
    zmq::pollitem_t item{sock.handle(), 0, ZMQ_POLLIN, 0};
    zmq::poll(&item, 1, std::chrono::seconds(5));
    BOOST_TEST_REQUIRE((item.revents & ZMQ_POLLIN) != 0, "no reply within 5 s");
    std::vector<zmq::message_t> frames;
    BOOST_TEST_REQUIRE(zmq::recv_multipart(sock, std::back_inserter(frames)).has_value());
    return frames;
  }
  // The JSON of the next reply.
  json reply() {
    auto frames = message();
    BOOST_TEST_REQUIRE(frames.size() == 2u);
    BOOST_TEST(frames[0].size() == 0u);
    return json::parse(frames[1].to_string());
  }
  json call(const std::string& body) {
    send({"", body});
    return reply();
  }
};

std::string request(int64_t id, const std::string& proc,
                    const json& args = json::object(),
                    const std::string& uri = "test:///default") {
  return json{{"v", 1}, {"id", id}, {"uri", uri}, {"proc", proc}, {"args", args}}.dump();
}

void is_error(const json& r, const char* code, int number) {
  BOOST_TEST(r["v"] == 1);
  BOOST_TEST(r["ok"] == false);
  BOOST_TEST(r["error"]["code"] == code);
  BOOST_TEST(r["error"]["number"] == number);
  BOOST_TEST(!r["error"]["message"].get<std::string>().empty());
}

} // namespace

BOOST_AUTO_TEST_CASE(envelope) {
  daemon_process d;
  raw_client c(d.socket());
  json ok = c.call(request(17, "domain.lookup", {{"domain", "test"}}));
  BOOST_TEST(ok["v"] == 1);
  BOOST_TEST(ok["id"] == 17);
  BOOST_TEST(ok["ok"] == true);
  BOOST_TEST(ok["result"]["name"] == "test");
  BOOST_TEST(ok["result"]["uuid"] == "6695eb01-f6a4-8304-79aa-97f2502e193f");
  BOOST_TEST(ok["result"]["id"] == 1);
  BOOST_TEST(ok["result"]["state"] == "running");
  BOOST_TEST(ok["result"]["reason"] == "unknown");
  // Any of name, UUID (any spelling) or id finds it; ids as numbers too.
  for (json key : {json("1"), json(1), json("6695EB01F6A4830479AA97F2502E193F")})
    BOOST_TEST(c.call(request(1, "domain.lookup", {{"domain", key}}))["result"]["name"] ==
               "test");
  // The URI is normalized: transport and query do not matter.
  BOOST_TEST(c.call(request(2, "domain.lookup", {{"domain", "test"}},
                            "test+unix:///default?socket=/elsewhere"))["ok"] == true);
}

BOOST_AUTO_TEST_CASE(bad_requests_get_error_replies) {
  daemon_process d;
  raw_client c(d.socket());
  json r = c.call("this is not json");
  is_error(r, "bad-request", 8);
  BOOST_TEST(r["id"].is_null());
  r = c.call(R"({"v":1,"id":5,"uri":"test:///default","proc":"domain.list","args":)");
  is_error(r, "bad-request", 8);
  BOOST_TEST(r["id"] == 5); // recovered from the prefix
  is_error(c.call(R"({"v":9,"id":6,"uri":"test:///default","proc":"domain.list"})"),
           "version-mismatch", 13);
  is_error(c.call(request(7, "domain.teleport")), "unknown-procedure", 12);
  is_error(c.call(request(8, "domain.start")), "bad-request", 8); // no args.domain
  is_error(c.call(request(9, "domain.start", {{"domain", "ghost"}})), "no-domain", 1);
  is_error(c.call(request(10, "domain.define", {{"xml", 5}})), "bad-request", 8);
  is_error(c.call(request(11, "domain.define", {{"xml", "<domain"}})), "xml-error", 3);
  is_error(c.call(request(12, "domain.start", {{"domain", "test"}})), "invalid-operation",
           2);
  is_error(c.call(request(13, "domain.lookup", {{"domain", "x"}}, "bogus uri")),
           "invalid-argument", 17);
  is_error(c.call(request(14, "domain.autostart", {{"domain", "test"}})), "bad-request",
           8);
  is_error(
      c.call(request(15, "domain.define",
                     {{"xml", "<domain type='test'><name>.</name><memory>1</memory><os>"
                              "<type>hvm</type></os></domain>"}})),
      "invalid-name", 4);
  // The daemon is still fine.
  BOOST_TEST(c.call(request(16, "domain.list"))["ok"] == true);
}

// Arguments of the wrong type are bad requests: they never take an actor down, so the
// domain and its instance keep working (and the daemon still stops cleanly).
BOOST_AUTO_TEST_CASE(wrongly_typed_arguments) {
  daemon_process d;
  raw_client c(d.socket());
  for (int i = 0; i < 8; ++i) {
    is_error(c.call(request(i, "domain.list", {{"active", "yes"}})), "bad-request", 8);
    is_error(c.call(request(i, "domain.xml", {{"domain", "test"}, {"inactive", 1}})),
             "bad-request", 8);
    is_error(
        c.call(request(i, "domain.autostart", {{"domain", "test"}, {"enable", "on"}})),
        "bad-request", 8);
    is_error(c.call(request(i, "domain.define", {{"xml", "<x/>"}, {"origin", 5}})),
             "bad-request", 8);
  }
  BOOST_TEST(c.call(request(50, "domain.list"))["result"]["domains"].size() == 1u);
  BOOST_TEST(c.call(request(51, "domain.suspend", {{"domain", "test"}}))["ok"] == true);
  BOOST_TEST(d.log().find("failed") == std::string::npos, d.log());
  BOOST_TEST(d.stop() == 0);
}

BOOST_AUTO_TEST_CASE(ids_out_of_range) {
  daemon_process d;
  raw_client c(d.socket());
  is_error(c.call(request(1, "domain.lookup", {{"domain", 4294967297}})), "no-domain", 1);
  is_error(c.call(request(2, "domain.lookup", {{"domain", -1}})), "no-domain", 1);
  BOOST_TEST(c.call(request(3, "domain.lookup", {{"domain", 1}}))["result"]["name"] ==
             "test");
}

// Opening an instance reads files: only the read-write socket may do it.
BOOST_AUTO_TEST_CASE(read_only_socket_cannot_open_instances) {
  daemon_process d;
  raw_client ro(d.root() + "/run/domus/domus-sock-ro");
  raw_client rw(d.socket());
  std::string node =
      "test://" + std::string(DOMUS_CONFORMANCE_DIR) + "/test-driver/testnode.xml";
  json refused = ro.call(request(1, "domain.list", json::object(), node));
  is_error(refused, "permission-denied", 5);
  BOOST_TEST(refused["error"]["message"].get<std::string>().find("is not open") !=
             std::string::npos);
  BOOST_TEST(rw.call(request(2, "domain.list", json::object(), node))["ok"] == true);
  BOOST_TEST(ro.call(request(3, "domain.list", json::object(), node))["ok"] == true);
  // test:///default is open from the start (open_at_start).
  BOOST_TEST(d.log().find("test:///default is open") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(garbage_frames) {
  daemon_process d;
  raw_client c(d.socket());
  c.send({"just one frame, no delimiter"});
  is_error(c.reply(), "bad-request", 8);
  c.send({"", "a", "b", "c"});
  is_error(c.reply(), "bad-request", 8);
  // Three frames are a stream's message: one whose header is not one is answered with
  // a stream abort (docs/protocol.md, "Streams").
  c.send({"", "a", "b"});
  auto frames = c.message();
  BOOST_TEST_REQUIRE(frames.size() == 3u);
  json abort = json::parse(frames[1].to_string());
  BOOST_TEST(abort["op"] == "abort");
  BOOST_TEST(abort["code"] == "bad-request");
  BOOST_TEST(abort["message"] ==
             "a stream message needs \"stream\", a stream id, and \"op\"");
  c.send({"", std::string("\0\xff\xfe\x01", 4)});
  is_error(c.reply(), "bad-request", 8);
  BOOST_TEST(c.call(request(1, "domain.list"))["ok"] == true);
}

BOOST_AUTO_TEST_CASE(oversized_request) {
  std::string dir = temp_dir("o");
  write_file(dir + "/small.conf", "max_request_bytes = 4096\n");
  daemon_process d({"--config", dir + "/small.conf"});
  raw_client c(d.socket());
  // Written as the client library writes requests, "v" and "id" first: the id comes back.
  std::string huge = domus::protocol::encode_request(
      33, "test:///default", "domain.define", {{"xml", std::string(10000, 'x')}});
  json r = c.call(huge);
  is_error(r, "message-too-large", 7);
  BOOST_TEST(r["id"] == 33);
  // Other key orders are not guessed at.
  json r2 = c.call(request(35, "domain.define", {{"xml", std::string(10000, 'x')}}));
  is_error(r2, "message-too-large", 7);
  BOOST_TEST(r2["id"].is_null());
  BOOST_TEST(r["error"]["message"].get<std::string>().find(
                 "above max_request_bytes (4096)") != std::string::npos);
  // The connection stays usable.
  BOOST_TEST(c.call(request(34, "domain.list"))["ok"] == true);
}

BOOST_AUTO_TEST_CASE(read_only_socket) {
  daemon_process d;
  raw_client ro(d.root() + "/run/domus/domus-sock-ro");
  // Every procedure that changes state, whatever its arguments.
  int id = 100;
  for (auto& p : domus::protocol::proc_catalogue())
    if (p.mutating)
      is_error(ro.call(request(id++, std::string(p.name),
                               {{"domain", "test"}, {"xml", "<x/>"}})),
               "permission-denied", 5);
  BOOST_TEST(id == 135); // all thirty-five of them
  is_error(ro.call(request(1, "domain.suspend", {{"domain", "test"}})),
           "permission-denied", 5);
  is_error(ro.call(request(2, "domain.define", {{"xml", "<x/>"}})), "permission-denied",
           5);
  BOOST_TEST(ro.call(request(3, "domain.info", {{"domain", "test"}}))["ok"] == true);
  BOOST_TEST(ro.call(json{
                 {"v", 1}, {"id", 4}, {"proc", "events.ping"}, {"args", {{"token", "t"}}}}
                         .dump())["ok"] == true);
}

// Many requests in flight on one connection, each answered once under its own id.
BOOST_AUTO_TEST_CASE(pipelined_requests) {
  std::string dir = temp_dir("p");
  write_file(dir + "/roomy.conf",
             "max_client_requests = 500\nreply_queue_limit = 1000\n");
  daemon_process d({"--config", dir + "/roomy.conf"});
  raw_client c(d.socket());
  std::mt19937 rng(7);
  std::set<int64_t> ids;
  for (int i = 0; i < 500; ++i) {
    int64_t id = static_cast<int64_t>(rng() % 1000000000) * (i % 2 ? 1 : -1);
    ids.insert(id);
    c.send(
        {"", request(id, i % 3 ? "domain.info" : "domain.list", {{"domain", "test"}})});
  }
  std::set<int64_t> answered;
  for (size_t i = 0; i < ids.size(); ++i) {
    json r = c.reply();
    BOOST_TEST(r["ok"] == true);
    answered.insert(r["id"].get<int64_t>());
  }
  BOOST_TEST((answered == ids));
}

BOOST_AUTO_TEST_CASE(clients_that_vanish) {
  daemon_process d;
  for (int i = 0; i < 20; ++i) {
    raw_client gone(d.socket());
    gone.send({"", request(i, "domain.info", {{"domain", "test"}})});
    gone.send({"", request(i, "domain.suspend", {{"domain", "test"}})});
    gone.send({"", request(i, "domain.resume", {{"domain", "test"}})});
  } // closed with linger 0: the replies have nobody to go to
  raw_client c(d.socket());
  BOOST_TEST(c.call(request(1, "domain.lookup", {{"domain", "test"}}))["ok"] == true);
  BOOST_TEST(d.log().find("error") == std::string::npos, d.log());
}

BOOST_AUTO_TEST_CASE(concurrent_clients) {
  daemon_process d;
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      domus::protocol::connection c(d.socket(), false);
      std::string name = "c" + std::to_string(t);
      std::string xml = "<domain type='test'><name>" + name +
                        "</name><memory>1024</memory><os><type>hvm</type></os></domain>";
      for (int i = 0; i < 25; ++i) {
        bool good = c.call("test:///default", "domain.define", {{"xml", xml}},
                           std::chrono::seconds(5))
                        .ok &&
                    c.call("test:///default", "domain.start", {{"domain", name}},
                           std::chrono::seconds(5))
                        .ok &&
                    c.call("test:///default", "domain.destroy", {{"domain", name}},
                           std::chrono::seconds(5))
                        .ok &&
                    c.call("test:///default", "domain.undefine", {{"domain", name}},
                           std::chrono::seconds(5))
                        .ok;
        ok += good ? 1 : 0;
      }
    });
  for (auto& th : threads)
    th.join();
  BOOST_TEST(ok == 100);
  BOOST_TEST(d.domsh({"list --all --name"}).out == "test\n\n");
}

// A list sent after a change's reply shows the change: the instance actor reads each
// domain's last announced state, published before the reply left. Four clients change
// their own domains while checking, so that the actors run on both workers.
BOOST_AUTO_TEST_CASE(a_list_after_a_reply_shows_the_change) {
  daemon_process d;
  std::vector<std::thread> threads;
  std::atomic<int> stale{0}, failed{0};
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      domus::protocol::connection c(d.socket(), false);
      std::string name = "l" + std::to_string(t);
      auto call = [&](const char* proc, const json& args) {
        auto r = c.call("test:///default", proc, args, std::chrono::seconds(5));
        failed += r.ok ? 0 : 1;
        return r.result;
      };
      call("domain.define", {{"xml", "<domain type='test'><name>" + name +
                                         "</name><memory>1024</memory><os><type>hvm"
                                         "</type></os></domain>"}});
      const char* steps[][2] = {{"domain.start", "running"},
                                {"domain.suspend", "paused"},
                                {"domain.resume", "running"},
                                {"domain.destroy", "shutoff"}};
      for (int i = 0; i < 25; ++i)
        for (auto& [proc, state] : steps) {
          call(proc, {{"domain", name}});
          json listed = call("domain.list", json::object());
          for (auto& row : listed["domains"])
            if (row["name"] == name && row["state"] != state)
              ++stale;
        }
      call("domain.undefine", {{"domain", name}});
    });
  for (auto& th : threads)
    th.join();
  BOOST_TEST(failed == 0);
  BOOST_TEST(stale == 0);
}

// A define and the requests that race it from other connections: every request is
// answered, none reaches a half-made domain.
BOOST_AUTO_TEST_CASE(racing_a_define) {
  daemon_process d;
  raw_client a(d.socket()), b(d.socket());
  std::string xml = "<domain type='test'><name>r</name><memory>1024</memory>"
                    "<os><type>hvm</type></os></domain>";
  for (int i = 0; i < 50; ++i) {
    a.send({"", request(i, "domain.define", {{"xml", xml}})});
    b.send({"", request(i, "domain.start", {{"domain", "r"}})});
    json ra = a.reply();
    json rb = b.reply();
    BOOST_TEST((ra["ok"] == true || ra["error"]["code"] == "busy"));
    BOOST_TEST((rb["ok"] == true || rb["error"]["code"] == "no-domain" ||
                rb["error"]["code"] == "invalid-operation"));
    a.call(request(1000 + i, "domain.destroy", {{"domain", "r"}}));
    a.call(request(2000 + i, "domain.undefine", {{"domain", "r"}}));
  }
  BOOST_TEST(d.domsh({"list --all --name"}).out == "test\n\n");
}
