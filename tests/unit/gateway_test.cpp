// The gateway with the real instance and domain actors and the bundled test driver, in
// one process: what it hands to its sockets, and in which order, seen through its tap.
#include <boost/test/unit_test.hpp>

#include "actors/instance_actor.hpp"
#include "daemon/limits.hpp"
#include "daemon/paths.hpp"
#include "drivers/deadline_clock.hpp"
#include "drivers/host_services.hpp"
#include "drivers/plugin_loader.hpp"
#include "gateway/event_loop.hpp"
#include "gateway/gateway.hpp"
#include "persist/store.hpp"
#include "test_files.hpp"

#include <domus/protocol/codec.hpp>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/send.hpp>

#include <zmq.hpp>
#include <zmq_addon.hpp>

#include <future>
#include <mutex>
#include <string>
#include <vector>

using namespace domus::runtime;
using domus::protocol::json;

namespace {

// One frame the gateway handed to a socket.
struct sent_frame {
  sent_kind kind;
  json body;
};

// A gateway serving test:///default, its frames recorded in order.
class tapped_gateway {
public:
  tapped_gateway() : root_(domus::testing::temp_dir("gateway")) {
    BOOST_TEST_REQUIRE(drivers_.load_file(std::string(DOMUS_PLUGIN_DIR) + "/test.so"));
    cfg_.set("scheduler.max-threads", size_t{2});
    sys_ = std::make_unique<caf::actor_system>(cfg_);
    gateway_config g;
    g.rw_path = root_ + "/rw.sock";
    g.ro_path = root_ + "/ro.sock";
    g.events_path = root_ + "/events.sock";
    g.journal_dir = root_;
    g.tap = [this](sent_kind kind, const std::string& frame) {
      std::lock_guard<std::mutex> lock(mutex_);
      sent_.push_back({kind, json::parse(frame)});
    };
    gw_ = std::make_unique<gateway>(
        loop_,
        [this](const domus::protocol::uri& u, std::string&, domus::protocol::errc&) {
          return make_instance(u);
        },
        g);
    std::promise<void> opened;
    loop_.start([&] {
      gw_->open();
      opened.set_value();
    });
    opened.get_future().get();
    client_.connect("ipc://" + root_ + "/rw.sock");
  }

  ~tapped_gateway() {
    for (auto& a : instances_)
      caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    instances_.clear();
    sys_->await_all_actors_done();
    std::promise<void> closed;
    loop_.post([&] {
      for (auto& h : hosts_)
        h->close_instance();
      closed.set_value();
    });
    closed.get_future().wait();
    client_.close();
    loop_.stop([&] { gw_->close(); });
  }

  // Sends a request on the read-write socket and returns its reply (10 s at most).
  json call(int64_t id, std::string_view proc, const json& args) {
    auto text = domus::protocol::encode_request(id, "test:///default", proc, args);
    std::array<zmq::const_buffer, 2> frames{zmq::const_buffer(nullptr, 0),
                                            zmq::buffer(text)};
    zmq::send_multipart(client_, frames);
    client_.set(zmq::sockopt::rcvtimeo, 10000);
    std::vector<zmq::message_t> reply;
    BOOST_TEST_REQUIRE(
        zmq::recv_multipart(client_, std::back_inserter(reply)).has_value());
    BOOST_TEST_REQUIRE(reply.size() == 2u);
    return json::parse(reply[1].to_string());
  }

  std::vector<sent_frame> sent() {
    std::lock_guard<std::mutex> lock(mutex_);
    return sent_;
  }

private:
  // As the daemon makes them, under the test's root; no state left from before.
  caf::actor make_instance(const domus::protocol::uri& u) {
    instance_seed seed;
    seed.uri = u;
    seed.plugin = drivers_.find(u.scheme);
    seed.gw = gw_.get();
    seed.state_dir = root_ + "/lib";
    seed.run_dir = root_ + "/run";
    seed.etc_dir = root_ + "/etc";
    for (auto& d :
         {seed.state_dir, seed.run_dir, seed.etc_dir, seed.etc_dir + "/autostart"})
      make_tree_dir(d, private_dir_mode);
    seed.files = &files_;
    seed.clock = &clock_;
    hosts_.push_back(std::make_unique<host_services>(loop_, u.normalized()));
    seed.host = hosts_.back().get();
    auto a = spawn_instance_actor(*sys_, std::move(seed));
    instances_.push_back(a);
    return a;
  }

  std::string root_;
  driver_table drivers_;
  caf::actor_system_config cfg_;
  std::unique_ptr<caf::actor_system> sys_;
  store files_;
  deadline_clock clock_;
  event_loop loop_;
  std::vector<std::unique_ptr<host_services>> hosts_; // loop thread, then the destructor
  std::vector<caf::actor> instances_;                 // loop thread, then the destructor
  std::unique_ptr<gateway> gw_;
  zmq::context_t ctx_{1};
  zmq::socket_t client_{ctx_, zmq::socket_type::dealer};
  std::mutex mutex_;
  std::vector<sent_frame> sent_;
};

// Where the reply of request `id` is among the frames, or -1.
long reply_index(const std::vector<sent_frame>& frames, int64_t id) {
  for (size_t i = 0; i < frames.size(); ++i)
    if (frames[i].kind == sent_kind::reply &&
        frames[i].body.value("id", int64_t{-1}) == id)
      return static_cast<long>(i);
  return -1;
}

// Where the event `event/detail` of domain `name` is, or -1.
long event_index(const std::vector<sent_frame>& frames, const std::string& name,
                 const std::string& event, const std::string& detail) {
  for (size_t i = 0; i < frames.size(); ++i) {
    auto& b = frames[i].body;
    if (frames[i].kind == sent_kind::event && b.contains("domain") &&
        b["domain"].value("name", "") == name && b.value("event", "") == event &&
        b.value("detail", "") == detail)
      return static_cast<long>(i);
  }
  return -1;
}

} // namespace

BOOST_AUTO_TEST_SUITE(gateway_order)

// A change's event is handed to the event socket before its reply is handed to the
// client's: whoever holds the reply can rely on the event having left (and on
// events.since returning it). Each change of a domain's life, through the real actors.
BOOST_AUTO_TEST_CASE(each_change_hands_its_event_over_before_its_reply) {
  tapped_gateway gw;
  struct step {
    const char* proc;
    const char* event;
    const char* detail;
  };
  const step steps[] = {{"domain.define", "defined", "added"},
                        {"domain.start", "started", "booted"},
                        {"domain.suspend", "suspended", "paused"},
                        {"domain.resume", "resumed", "unpaused"},
                        {"domain.destroy", "stopped", "destroyed"},
                        {"domain.undefine", "undefined", "removed"}};
  int64_t id = 0;
  for (auto& s : steps) {
    json args = {{"domain", "ordered"}};
    if (std::string_view(s.proc) == "domain.define")
      args = {{"xml", "<domain type='test'><name>ordered</name><memory>65536</memory>"
                      "<os><type>hvm</type></os></domain>"}};
    auto reply = gw.call(++id, s.proc, args);
    BOOST_TEST_REQUIRE(reply.contains("result"), s.proc << ": " << reply.dump());
    // The reply has arrived, so it was handed over; so was its event, before it.
    auto frames = gw.sent();
    long r = reply_index(frames, id);
    long e = event_index(frames, "ordered", s.event, s.detail);
    BOOST_TEST_REQUIRE(r >= 0, s.proc);
    BOOST_TEST_REQUIRE(e >= 0, s.proc << ": no " << s.event << "/" << s.detail);
    BOOST_TEST(e < r, s.proc << ": the event was handed over after the reply");
  }
}

BOOST_AUTO_TEST_SUITE_END()
