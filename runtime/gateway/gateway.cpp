#include "gateway/gateway.hpp"

#include "gateway/client_table.hpp"
#include "gateway/connection_cap.hpp"
#include "gateway/sample_throttle.hpp"
#include "gateway/stream_table.hpp"
#include "persist/event_journal.hpp"

#include "actors/messages.hpp"
#include "daemon/log.hpp"

#include <domus/model/uuid.hpp>
#include <domus/protocol/flags.hpp>
#include <domus/protocol/uri.hpp>

#include <caf/send.hpp>

#include <zmq.hpp>
#include <zmq_addon.hpp>

#include <cerrno>
#include <cstring>
#include <deque>
#include <sys/stat.h>
#include <unistd.h>

namespace domus::runtime {

using protocol::errc;
using protocol::json;

namespace {

enum class sock_kind : int { rw = 0, ro = 1, events = 2 };

// A sample topic's rate per domain: at most one a second (docs/protocol.md).
constexpr uint64_t sample_interval_ms = 1000;

// The routing replica of one driver instance.
struct instance_routes {
  caf::actor registry;
  bool ready = false;
  std::unordered_map<std::string, caf::actor> by_name, by_uuid;
  std::unordered_map<int32_t, caf::actor> by_id;
  std::unordered_map<caf::actor_id, route_entry> by_actor;
  std::vector<uint64_t> waiting; // serials of requests waiting for the instance to open
  std::string late_open; // its open passed its deadline: why later requests are refused
};

struct pending_request {
  sock_kind sock;
  std::string routing_id;
  int64_t client_id = 0;
  caf::actor_id target = 0; // 0: not dispatched yet
  std::string uri;          // normalized
  std::string_view proc_name;
  protocol::request req;     // kept until dispatched
  bool stream_place = false; // holds a place in the stream table (a console, a transfer)
};

} // namespace

struct gateway::impl {
  event_loop& loop;
  instance_factory factory;
  gateway_config cfg;
  zmq::context_t ctx{1};
  std::unique_ptr<zmq::socket_t> socks[3];
  uv_poll_t* polls[3] = {};
  bool pumping = false;
  unsigned dirty = 0; // sockets to drain, a bit per sock_kind
  bool accepting = true;
  std::unique_ptr<event_journal> journal;
  uv_timer_t* flush_timer = nullptr;
  uv_check_t* after_sends = nullptr; // drains the sockets sent on, once per iteration
  uint64_t next_serial = 1;
  std::unordered_map<uint64_t, pending_request> pending;
  std::unordered_map<std::string, instance_routes> instances;
  std::function<void()> on_idle;
  uv_timer_t* drain_timer = nullptr;
  client_table clients;
  std::unique_ptr<connection_cap> caps[3];
  std::unique_ptr<sample_throttle> samples; // created on the first sample
  std::unique_ptr<stream_table> streams;
  bool flush_streams_posted = false;

  impl(event_loop& l, instance_factory f, gateway_config c)
      : loop(l), factory(std::move(f)), cfg(std::move(c)),
        clients(cfg.limits.max_client_requests,
                [](const std::string& line) { log_warning(line); }) {
    stream_bounds b{cfg.limits.stream_window, cfg.limits.max_client_streams,
                    cfg.limits.max_streams, cfg.limits.stream_idle_ms};
    streams = std::make_unique<stream_table>(
        b,
        [this](int sock, const std::string& routing_id, const json& header,
               std::string_view bytes) {
          return send_stream(static_cast<sock_kind>(sock), routing_id, header, bytes);
        },
        [this] {
          if (flush_streams_posted)
            return;
          flush_streams_posted = true;
          loop.post([this] {
            flush_streams_posted = false;
            streams->flush();
          });
        });
  }

  const daemon_limits& limits() const { return cfg.limits; }

  // -- sockets --------------------------------------------------------------------------

  void bind(sock_kind k, zmq::socket_type type, const std::string& path, unsigned mode) {
    auto s = std::make_unique<zmq::socket_t>(ctx, type);
    s->set(zmq::sockopt::linger, 0);
    const daemon_limits& l = limits();
    if (type == zmq::socket_type::router) {
      s->set(zmq::sockopt::router_mandatory, 1);
      s->set(zmq::sockopt::sndhwm, static_cast<int>(l.client_queue()));
      // A client cannot have more in flight; ZeroMQ stops reading from one that sends
      // faster than that is answered (back pressure, nothing dropped).
      s->set(zmq::sockopt::rcvhwm, static_cast<int>(l.max_client_requests));
      // The hard cap, above the limit the daemon answers with message-too-large: twice
      // the limit, at least 1 MiB (what one client can make ZeroMQ hold before the
      // daemon reads is this times max_client_requests).
      s->set(zmq::sockopt::maxmsgsize,
             static_cast<int64_t>(std::max<uint64_t>(l.max_request_bytes * 2, 1u << 20)));
    } else {
      // (Subscriptions are read as they come; one that sends them faster waits: back
      // pressure, nothing dropped.)
      s->set(zmq::sockopt::rcvhwm, 1000);
      s->set(zmq::sockopt::sndhwm, static_cast<int>(l.event_queue_limit));
      s->set(zmq::sockopt::maxmsgsize, int64_t{4096}); // subscriptions only
      // Subscriptions are applied by the daemon (subscribe()), not by ZeroMQ: only those
      // that can match a topic, so that no subscriber can make it hold any other.
      s->set(zmq::sockopt::xpub_manual, 1);
    }
    static const char* const names[] = {"the read-write socket", "the read-only socket",
                                        "the event socket"};
    bool events = k == sock_kind::events;
    caps[static_cast<int>(k)] = std::make_unique<connection_cap>(
        ctx, *s, path, mode, events ? l.max_subscribers : l.max_clients,
        names[static_cast<int>(k)], events ? "max_subscribers" : "max_clients",
        loop.uv());
    auto* p = new uv_poll_t;
    p->data = this;
    uv_poll_init(loop.uv(), p, s->get(zmq::sockopt::fd));
    uv_poll_start(p, UV_READABLE, [](uv_poll_t* h, int, int) {
      auto* self = static_cast<impl*>(h->data);
      for (int j = 0; j < 3; ++j)
        if (self->polls[j] == h)
          self->pump(1u << j);
    });
    polls[static_cast<int>(k)] = p;
    socks[static_cast<int>(k)] = std::move(s);
  }

  // ZMQ_FD is edge-like: a socket whose descriptor fired, or that was sent on (a send
  // may take the edge), is drained until a receive finds nothing; such a receive has
  // processed the socket's pending commands, which re-arms the edge, as a ZMQ_EVENTS
  // check would, one system call less per message. Only the sockets that need it are
  // drained: a reply costs one check of its own socket, not one of each.
  void pump(unsigned which) {
    dirty |= which;
    if (pumping)
      return; // the pump on the stack takes it
    pumping = true;
    // Whatever happens below, the next pump must run: a flag left set would leave the
    // sockets undrained for good (ZMQ_FD only signals edges).
    struct reset {
      bool& flag;
      ~reset() { flag = false; }
    } guard{pumping};
    while (dirty) {
      for (int k = 0; k < 3; ++k) {
        if (dirty & (1u << k)) {
          dirty &= ~(1u << k);
          drain(k);
        }
      }
    }
  }

  void drain(int k) {
    while (socks[k]) {
      std::vector<zmq::message_t> frames;
      try {
        if (!zmq::recv_multipart(*socks[k], std::back_inserter(frames),
                                 zmq::recv_flags::dontwait))
          return;
      } catch (const zmq::error_t& e) {
        if (e.num() == EINTR)
          continue; // a signal (a guest's SIGCHLD) interrupted the call: again
        throw;
      }
      if (k == static_cast<int>(sock_kind::events)) {
        subscribe(frames);
        continue;
      }
      on_message(static_cast<sock_kind>(k), frames);
    }
  }

  static unsigned bit(sock_kind k) { return 1u << static_cast<int>(k); }

  // A (un)subscription just read from the event socket, applied to the subscriber that
  // sent it (XPUB_MANUAL) when it can match a topic the daemon publishes: a subscriber
  // sending a million other prefixes makes the daemon hold none of them.
  void subscribe(const std::vector<zmq::message_t>& frames) {
    if (frames.size() != 1 || frames[0].size() == 0)
      return;
    auto* data = static_cast<const char*>(frames[0].data());
    std::string_view prefix(data + 1, frames[0].size() - 1);
    if ((data[0] != 0 && data[0] != 1) || !protocol::subscription_can_match(prefix))
      return;
    auto& s = socks[static_cast<int>(sock_kind::events)];
    if (data[0] == 1)
      s->set(zmq::sockopt::subscribe, prefix);
    else
      s->set(zmq::sockopt::unsubscribe, prefix);
  }

  // A socket sent on is drained again, once per loop iteration however many replies
  // left on it: when the iteration's callbacks are done (a uv_check handle runs then,
  // before the loop waits again).
  void drain_after_sends(unsigned which) {
    dirty |= which;
    if (pumping)
      return; // the pump on the stack takes it
    if (!after_sends)
      return pump(0);
    if (!uv_is_active(reinterpret_cast<uv_handle_t*>(after_sends)))
      uv_check_start(after_sends, [](uv_check_t* c) {
        uv_check_stop(c);
        static_cast<impl*>(c->data)->pump(0);
      });
  }

  // A reply above max_reply_bytes is replaced by message-too-large (`proc` names what
  // it answered). A reply the client's queue has no room for, or to a client that is
  // gone, is not sent: counted per client, logged once per run (client_table).
  void send_frame(sock_kind k, const std::string& routing_id, const std::string& body,
                  std::string_view proc = {}) {
    auto& s = socks[static_cast<int>(k)];
    if (!s)
      return;
    if (body.size() > limits().max_reply_bytes) {
      // A reply opens as a request does: {"v":1,"id":N.
      auto id = protocol::recover_request_id(body);
      return send_frame(
          k, routing_id,
          protocol::encode_error(
              id, errc::message_too_large,
              "the reply" +
                  (proc.empty() ? std::string() : " to '" + std::string(proc) + "'") +
                  " is " + std::to_string(body.size()) +
                  " bytes, above max_reply_bytes (" +
                  std::to_string(limits().max_reply_bytes) + ")"));
    }
    if (cfg.tap)
      cfg.tap(sent_kind::reply, body);
    std::array<zmq::const_buffer, 3> frames{
        zmq::buffer(routing_id), zmq::const_buffer(nullptr, 0), zmq::buffer(body)};
    client_table::key key{static_cast<int>(k), routing_id};
    while (true) {
      try {
        if (!zmq::send_multipart(*s, frames, zmq::send_flags::dontwait))
          clients.not_sent(key, "its queue is full (it does not read its replies; "
                                "reply_queue_limit is " +
                                    std::to_string(limits().reply_queue_limit) + ")");
      } catch (const zmq::error_t& e) {
        if (e.num() == EINTR)
          continue; // interrupted by a signal: send again
        // ROUTER_MANDATORY: the client is gone.
        clients.not_sent(key, std::string("it is gone (") + e.what() + ")");
      }
      break;
    }
    drain_after_sends(bit(k));
  }

  // One stream message to a client: [routing id, empty, header, bytes]. False when it
  // cannot leave: the client is gone, or (never with the queue sized by client_queue)
  // its queue is full.
  bool send_stream(sock_kind k, const std::string& routing_id, const json& header,
                   std::string_view bytes) {
    auto& s = socks[static_cast<int>(k)];
    if (!s)
      return false;
    std::string h = protocol::json_text(header);
    std::array<zmq::const_buffer, 4> frames{
        zmq::buffer(routing_id), zmq::const_buffer(nullptr, 0), zmq::buffer(h),
        zmq::const_buffer(bytes.data(), bytes.size())};
    bool sent = false;
    while (true) {
      try {
        sent = zmq::send_multipart(*s, frames, zmq::send_flags::dontwait).has_value();
      } catch (const zmq::error_t& e) {
        if (e.num() == EINTR)
          continue;
      }
      break;
    }
    drain_after_sends(bit(k));
    return sent;
  }

  // A stream message from a client: [routing id, empty, header, bytes].
  void on_stream_message(sock_kind k, const std::string& routing_id,
                         const zmq::message_t& header, const zmq::message_t& bytes) {
    // A header is a few fields; a larger one is not read.
    json h = header.size() <= 4096
                 ? json::parse(static_cast<const char*>(header.data()),
                               static_cast<const char*>(header.data()) + header.size(),
                               nullptr, false)
                 : json();
    if (!h.is_object())
      h = json::object();
    streams->on_client(
        static_cast<int>(k), routing_id, h,
        std::string_view(static_cast<const char*>(bytes.data()), bytes.size()));
    streams->flush();
  }

  // -- requests -------------------------------------------------------------------------

  void on_message(sock_kind k, std::vector<zmq::message_t>& frames) {
    std::string routing_id = frames[0].to_string();
    if (frames.size() == 4 && frames[1].size() == 0)
      return on_stream_message(k, routing_id, frames[2], frames[3]);
    if (frames.size() != 3 || frames[1].size() != 0) {
      send_frame(
          k, routing_id,
          protocol::encode_error(std::nullopt, errc::bad_request,
                                 "expected two frames after the routing id: an empty "
                                 "delimiter and one JSON request (or three for a "
                                 "stream message: the delimiter, a JSON header and "
                                 "the bytes)"));
      return;
    }
    std::string_view body(static_cast<const char*>(frames[2].data()), frames[2].size());
    if (body.size() > limits().max_request_bytes) {
      send_frame(k, routing_id,
                 protocol::encode_error(
                     protocol::recover_request_id(body), errc::message_too_large,
                     "the request is " + std::to_string(body.size()) +
                         " bytes, above max_request_bytes (" +
                         std::to_string(limits().max_request_bytes) + ")"));
      return;
    }
    auto decoded = protocol::decode_request(body);
    if (auto* f = std::get_if<protocol::request_failure>(&decoded)) {
      send_frame(k, routing_id, protocol::encode_error(f->id, f->code, f->message));
      return;
    }
    auto& req = std::get<protocol::request>(decoded);
    if (auto refused = refusal(k, req)) {
      send_frame(k, routing_id,
                 protocol::encode_error(req.id, refused->first, refused->second));
      return;
    }
    if (req.proc->target == protocol::proc_target::daemon) {
      handle_daemon_request(k, routing_id, req);
      return;
    }
    protocol::uri u;
    try {
      u = protocol::parse_uri(req.uri);
    } catch (const protocol::error& e) {
      send_frame(k, routing_id, protocol::encode_error(req.id, e.code(), e.what()));
      return;
    }
    if (!clients.admit({static_cast<int>(k), routing_id})) {
      send_frame(k, routing_id,
                 protocol::encode_error(
                     req.id, errc::limit_exceeded,
                     "this connection has " + std::to_string(clients.max_in_flight()) +
                         " requests in flight, as many as max_client_requests (" +
                         std::to_string(clients.max_in_flight()) +
                         ") allows: wait for replies before sending more"));
      return;
    }
    bool stream_place = req.proc->id == protocol::proc::domain_open_console ||
                        req.proc->id == protocol::proc::vol_upload ||
                        req.proc->id == protocol::proc::vol_download;
    if (stream_place) {
      if (auto why = streams->reserve(static_cast<int>(k), routing_id)) {
        clients.done({static_cast<int>(k), routing_id});
        send_frame(k, routing_id,
                   protocol::encode_error(req.id, errc::limit_exceeded, *why));
        return;
      }
    }
    uint64_t serial = next_serial++;
    pending_request p;
    p.stream_place = stream_place;
    p.sock = k;
    p.routing_id = std::move(routing_id);
    p.client_id = req.id;
    p.uri = u.normalized();
    p.proc_name = req.proc->name;
    p.req = std::move(req);
    auto [it, _] = pending.emplace(serial, std::move(p));
    auto inst = instances.find(it->second.uri);
    if (inst == instances.end()) {
      // Opening an instance reads files and creates state (a node file, its
      // directories): only the read-write socket may do it.
      if (k == sock_kind::ro) {
        fail(serial, errc::permission_denied,
             "the driver instance " + it->second.uri +
                 " is not open, and the read-only "
                 "socket cannot open one (use the read-write socket once)");
        return;
      }
      std::string why;
      errc code = errc::internal;
      inst = open_instance(u, why, code);
      if (inst == instances.end()) {
        fail(serial, code, why);
        return;
      }
    }
    if (!inst->second.ready) {
      if (!inst->second.late_open.empty())
        return fail(serial, errc::busy, inst->second.late_open);
      inst->second.waiting.push_back(serial);
      return;
    }
    dispatch(serial, it->second, inst->second);
  }

  // Why a decoded request is refused before anything runs: the daemon stops, a change
  // or a secret asked on the read-only socket, a string above its limit.
  std::optional<std::pair<errc, std::string>> refusal(sock_kind k,
                                                      const protocol::request& req) {
    if (!accepting)
      return std::pair{errc::shutting_down, std::string("the daemon is stopping")};
    std::string_view name = req.proc->name; // (made a string only for a refusal)
    if (k == sock_kind::ro && req.proc->mutating)
      return std::pair{errc::permission_denied,
                       "'" + std::string(name) +
                           "' changes state and is refused on the read-only socket"};
    if (k == sock_kind::ro && !req.proc->rw_only_flag.empty()) {
      auto flag = req.args.find(std::string(req.proc->rw_only_flag));
      if (flag != req.args.end() && flag->is_boolean() && flag->get<bool>())
        return std::pair{errc::permission_denied,
                         "'" + std::string(name) + "' with " +
                             std::string(req.proc->rw_only_flag) +
                             " is refused on the read-only socket: it returns secrets"};
    }
    // Flags no version defines are refused here, for every procedure alike; whether
    // the driver may be passed the others is the actor's to say (drivers/driver_flags).
    try {
      protocol::read_flags(req.proc->id, req.args);
    } catch (const protocol::error& e) {
      return std::pair{e.code(), std::string(e.what())};
    }
    // A change publishes events: none starts while the journal cannot keep them (the
    // driver is never called for it).
    if (req.proc->mutating && !journal->accepting_changes())
      return std::pair{errc::operation_failed,
                       "'" + std::string(name) + "' refused: " + journal->refusal()};
    auto too_large = [&](const std::string& what, size_t size, const char* setting,
                         uint64_t limit) {
      return std::pair{errc::message_too_large, "'" + std::string(name) + "': " + what +
                                                    " is " + std::to_string(size) +
                                                    " bytes, above " + setting + " (" +
                                                    std::to_string(limit) + ")"};
    };
    if (req.uri.size() > limits().max_field_bytes)
      return too_large("the uri", req.uri.size(), "max_field_bytes",
                       limits().max_field_bytes);
    for (auto& [key, value] : req.args.items()) {
      if (!value.is_string())
        continue;
      size_t size = value.get_ref<const std::string&>().size();
      if (key == "xml" && size > limits().max_xml_bytes)
        return too_large("the definition (xml)", size, "max_xml_bytes",
                         limits().max_xml_bytes);
      if (key != "xml" && size > limits().max_field_bytes)
        return too_large("the argument '" + key + "'", size, "max_field_bytes",
                         limits().max_field_bytes);
    }
    return std::nullopt;
  }

  std::unordered_map<std::string, instance_routes>::iterator
  open_instance(const protocol::uri& u, std::string& why, errc& code) {
    caf::actor registry = factory(u, why, code);
    if (!registry)
      return instances.end();
    auto inst = instances.emplace(u.normalized(), instance_routes{}).first;
    inst->second.registry = std::move(registry);
    return inst;
  }

  void handle_daemon_request(sock_kind k, const std::string& routing_id,
                             const protocol::request& req) {
    if (req.proc->id == protocol::proc::events_since)
      return events_since(k, routing_id, req);
    auto tok = req.args.find("token");
    if (tok == req.args.end() || !tok->is_string()) {
      send_frame(k, routing_id,
                 protocol::encode_error(req.id, errc::bad_request,
                                        "events.ping needs a string \"token\""));
      return;
    }
    json pong = {{"topic", protocol::topic_pong}, {"token", *tok}};
    std::string text = protocol::json_text(pong);
    // Every published message is bounded, so that the subscribers' queue limit (in
    // messages) bounds bytes too.
    if (text.size() > limits().max_event_bytes)
      return send_frame(
          k, routing_id,
          protocol::encode_error(
              req.id, errc::message_too_large,
              "events.ping: the pong would be " + std::to_string(text.size()) +
                  " bytes, above max_event_bytes (" +
                  std::to_string(limits().max_event_bytes) + "): use a shorter token"));
    send_event(std::string(protocol::topic_pong), text);
    send_frame(k, routing_id, protocol::encode_reply(req.id, json::object()));
  }

  // events.since: answered from the journal on this thread, no actor involved.
  void events_since(sock_kind k, const std::string& routing_id,
                    const protocol::request& req) {
    auto bad = [&](const std::string& why) {
      send_frame(k, routing_id, protocol::encode_error(req.id, errc::bad_request, why));
    };
    auto after = req.args.find("after");
    if (after == req.args.end() || !after->is_number_unsigned())
      return bad("events.since needs \"after\", a seq (0 for the oldest held)");
    std::string topic;
    if (auto t = req.args.find("topic"); t != req.args.end()) {
      if (!t->is_string())
        return bad("events.since: \"topic\" must be a string (a topic prefix)");
      topic = t->get<std::string>();
    }
    size_t limit = 1000;
    if (auto l = req.args.find("limit"); l != req.args.end()) {
      if (!l->is_number_unsigned() || l->get<uint64_t>() == 0 ||
          l->get<uint64_t>() > 10000)
        return bad("events.since: \"limit\" must be from 1 to 10000");
      limit = l->get<size_t>();
    }
    // A page stops before max_reply_bytes (what the envelope and the page's own fields
    // take aside); its `next` continues.
    uint64_t budget = limits().max_reply_bytes > 512 ? limits().max_reply_bytes - 512 : 0;
    uint64_t from = after->get<uint64_t>();
    auto page = journal->since(from, topic, limit, budget);
    if (page.resync_from) {
      json extra{{"oldest_seq", *page.resync_from}};
      std::string why;
      if (page.lost) {
        extra["lost"] = {{"from", page.lost->from}, {"to", page.lost->to}};
        why = "the events of seq " + std::to_string(page.lost->from) + " to " +
              std::to_string(page.lost->to) +
              " were lost (the journal could not write them, or they were damaged)";
      } else {
        why = "the journal no longer holds the events after seq " + std::to_string(from);
      }
      return send_frame(k, routing_id,
                        protocol::encode_error(req.id, errc::resync,
                                               why + "; resynchronize (list) and follow "
                                                     "from oldest_seq",
                                               extra));
    }
    // Each event exactly as it was published: the journal's text, spliced in.
    std::string result = "{\"events\":[";
    for (size_t i = 0; i < page.frames.size(); ++i)
      result += (i ? "," : "") + *page.frames[i];
    result += "],\"last\":" + std::to_string(page.last) +
              ",\"next\":" + std::to_string(page.next) + "}";
    send_frame(k, routing_id, protocol::encode_reply_text(req.id, result),
               req.proc->name);
  }

  // Resolves args.domain as virsh does: an id, then a UUID, then a name.
  caf::actor resolve(const instance_routes& r, const json& key) {
    if (key.is_number_integer()) {
      int64_t v = key.get<int64_t>();
      if (v < 0 || v > INT32_MAX)
        return {};
      auto it = r.by_id.find(static_cast<int32_t>(v));
      return it == r.by_id.end() ? caf::actor{} : it->second;
    }
    const std::string& s = key.get_ref<const std::string&>();
    if (!s.empty() && s.size() < 10 &&
        s.find_first_not_of("0123456789") == std::string::npos) {
      auto it = r.by_id.find(std::stoi(s));
      if (it != r.by_id.end())
        return it->second;
    }
    if (auto u = model::parse_uuid(s)) {
      auto it = r.by_uuid.find(model::format_uuid(*u));
      if (it != r.by_uuid.end())
        return it->second;
    }
    auto it = r.by_name.find(s);
    return it == r.by_name.end() ? caf::actor{} : it->second;
  }

  void dispatch(uint64_t serial, pending_request& p, instance_routes& r) {
    caf::actor target;
    if (p.req.proc->target == protocol::proc_target::instance) {
      target = r.registry;
    } else {
      auto key = p.req.args.find("domain");
      if (key == p.req.args.end() || !(key->is_string() || key->is_number_integer())) {
        fail(serial, errc::bad_request,
             "'" + std::string(p.req.proc->name) +
                 "' needs args.domain: a name, a UUID or an id");
        return;
      }
      target = resolve(r, *key);
      if (!target) {
        std::string shown = key->is_string() ? key->get<std::string>() : key->dump();
        fail(serial, errc::no_domain,
             "domain '" + shown + "' not found: no domain of " + p.uri +
                 " has that name, UUID or id");
        return;
      }
    }
    p.target = target.id();
    rpc msg;
    msg.serial = serial;
    msg.id = p.req.id;
    msg.proc = p.req.proc->id;
    msg.args = std::move(p.req.args);
    caf::anon_send(target, call_atom::value, std::move(msg));
  }

  void fail(uint64_t serial, errc code, const std::string& message) {
    auto it = pending.find(serial);
    if (it == pending.end())
      return;
    auto p = std::move(it->second);
    pending.erase(it);
    clients.done({static_cast<int>(p.sock), p.routing_id});
    if (p.stream_place)
      streams->unreserve(static_cast<int>(p.sock), p.routing_id);
    send_frame(p.sock, p.routing_id, protocol::encode_error(p.client_id, code, message));
    idle_check();
  }

  // Fails every pending request that `which` selects (serials first: fail() erases).
  template <class Which>
  void fail_all(Which which, errc code, const std::string& message) {
    std::vector<uint64_t> serials;
    for (auto& [s, p] : pending)
      if (which(p))
        serials.push_back(s);
    for (auto s : serials)
      fail(s, code, message);
  }

  void answer(uint64_t serial, const std::string& frame) {
    auto it = pending.find(serial);
    if (it == pending.end())
      return; // already failed (actor gone, shutdown): the late reply is dropped
    auto p = std::move(it->second);
    pending.erase(it);
    clients.done({static_cast<int>(p.sock), p.routing_id});
    if (p.stream_place)
      streams->unreserve(static_cast<int>(p.sock), p.routing_id);
    send_frame(p.sock, p.routing_id, frame, p.proc_name);
    idle_check();
  }

  void send_event(const std::string& topic, const std::string& body) {
    auto& s = socks[static_cast<int>(sock_kind::events)];
    if (!s)
      return;
    if (cfg.tap)
      cfg.tap(sent_kind::event, body);
    std::array<zmq::const_buffer, 2> frames{zmq::buffer(topic), zmq::buffer(body)};
    while (true) {
      try {
        zmq::send_multipart(*s, frames, zmq::send_flags::dontwait);
      } catch (const zmq::error_t& e) {
        if (e.num() == EINTR)
          continue; // interrupted by a signal: send again
        log_warning(std::string("event not sent: ") + e.what());
      }
      break;
    }
    drain_after_sends(bit(sock_kind::events));
  }

  // -- routes ---------------------------------------------------------------------------

  void unroute(instance_routes& r, caf::actor_id a) {
    auto it = r.by_actor.find(a);
    if (it == r.by_actor.end())
      return;
    auto& e = it->second;
    auto erase_if_same = [&](auto& map, const auto& key) {
      auto m = map.find(key);
      if (m != map.end() && m->second.id() == a)
        map.erase(m);
    };
    erase_if_same(r.by_name, e.name);
    erase_if_same(r.by_uuid, e.uuid);
    if (e.id >= 0)
      erase_if_same(r.by_id, e.id);
    r.by_actor.erase(it);
  }

  void route(instance_routes& r, route_entry e) {
    unroute(r, e.actor.id());
    r.by_name[e.name] = e.actor;
    r.by_uuid[e.uuid] = e.actor;
    if (e.id >= 0)
      r.by_id[e.id] = e.actor;
    r.by_actor[e.actor.id()] = std::move(e);
  }

  // -- shutdown -------------------------------------------------------------------------

  void idle_check() {
    if (!on_idle || !pending.empty())
      return;
    auto cb = std::move(on_idle);
    on_idle = nullptr;
    if (drain_timer) {
      event_loop::close_and_delete(drain_timer);
      drain_timer = nullptr;
    }
    cb();
  }
};

gateway::gateway(event_loop& loop, instance_factory factory, gateway_config cfg)
    : impl_(std::make_unique<impl>(loop, std::move(factory), std::move(cfg))),
      loop_(loop) {}

gateway::~gateway() = default;

void gateway::open() {
  // The journal first: no event can leave before it is recorded.
  event_journal::options jo;
  jo.dir = impl_->cfg.journal_dir;
  jo.capacity = impl_->cfg.journal_capacity;
  jo.reserve_bytes = impl_->cfg.journal_reserve_bytes;
  impl_->journal = std::make_unique<event_journal>(jo);
  if (impl_->journal->loaded() > 0)
    log_info("event journal: " + std::to_string(impl_->journal->loaded()) +
             " event(s) held; seq continues at " +
             std::to_string(impl_->journal->next_seq()));
  // What was appended becomes durable within a second.
  impl_->flush_timer = new uv_timer_t;
  uv_timer_init(impl_->loop.uv(), impl_->flush_timer);
  impl_->flush_timer->data = impl_.get();
  uv_timer_start(
      impl_->flush_timer,
      [](uv_timer_t* t) {
        auto* self = static_cast<impl*>(t->data);
        self->journal->flush();
        self->clients.sweep(client_table::clock_type::now());
        self->streams->sweep(stream_table::clock_type::now());
        self->streams->flush();
        log_tick();
      },
      1000, 1000);
  impl_->after_sends = new uv_check_t;
  uv_check_init(impl_->loop.uv(), impl_->after_sends);
  impl_->after_sends->data = impl_.get();
  impl_->bind(sock_kind::events, zmq::socket_type::xpub, impl_->cfg.events_path,
              impl_->cfg.events_mode);
  impl_->bind(sock_kind::ro, zmq::socket_type::router, impl_->cfg.ro_path,
              impl_->cfg.ro_mode);
  impl_->bind(sock_kind::rw, zmq::socket_type::router, impl_->cfg.rw_path,
              impl_->cfg.rw_mode);
}

void gateway::close() {
  impl_->samples.reset();
  if (impl_->flush_timer) {
    uv_timer_stop(impl_->flush_timer);
    event_loop::close_and_delete(impl_->flush_timer);
    impl_->flush_timer = nullptr;
  }
  if (impl_->after_sends) {
    uv_check_stop(impl_->after_sends);
    event_loop::close_and_delete(impl_->after_sends);
    impl_->after_sends = nullptr;
  }
  impl_->journal.reset(); // flushed, and the ceiling set to the last seq
  for (auto& cap : impl_->caps)
    if (cap)
      cap->close();
  for (int k = 0; k < 3; ++k) {
    if (impl_->polls[k]) {
      uv_poll_stop(impl_->polls[k]);
      event_loop::close_and_delete(impl_->polls[k]);
      impl_->polls[k] = nullptr;
    }
  }
  // Replies already queued get a moment to leave before the sockets close.
  for (auto& s : impl_->socks)
    if (s)
      s->set(zmq::sockopt::linger, 1000);
  for (auto& s : impl_->socks)
    s.reset();
  for (auto* p : {&impl_->cfg.rw_path, &impl_->cfg.ro_path, &impl_->cfg.events_path})
    ::unlink(p->c_str());
  impl_->ctx.close();
}

void gateway::drain(std::chrono::milliseconds timeout, std::function<void()> done) {
  impl_->accepting = false;
  // Before any instance closes: drivers hear of each stream's end while they can.
  impl_->streams->abort_all(DOMUS_E_SHUTTING_DOWN, "the daemon is stopping");
  impl_->streams->flush();
  impl_->on_idle = std::move(done);
  if (impl_->pending.empty()) {
    impl_->idle_check();
    return;
  }
  log_info("waiting for " + std::to_string(impl_->pending.size()) +
           " request(s) in flight before stopping");
  impl_->drain_timer = new uv_timer_t;
  impl_->drain_timer->data = impl_.get();
  uv_timer_init(loop_.uv(), impl_->drain_timer);
  uv_timer_start(
      impl_->drain_timer,
      [](uv_timer_t* t) {
        static_cast<impl*>(t->data)->fail_all(
            [](const pending_request&) { return true; }, errc::shutting_down,
            "the daemon stopped before the request completed");
      },
      static_cast<uint64_t>(timeout.count()), 0);
}

void gateway::reply(uint64_t serial, std::string frame) {
  auto* i = impl_.get();
  loop_.post([i, serial, frame = std::move(frame)] { i->answer(serial, frame); });
}

void gateway::reply_stream(uint64_t serial, json result, domus_stream* stream) {
  auto* i = impl_.get();
  loop_.post([i, serial, result = std::move(result), stream]() mutable {
    auto it = i->pending.find(serial);
    if (it == i->pending.end() || !it->second.stream_place)
      // The request was failed meanwhile (the daemon stops).
      return discard_stream(stream, DOMUS_E_ABORTED,
                            "the request that opened it is gone");
    if (!i->accepting) {
      // The daemon stops: its streams were aborted already, and this one never starts.
      discard_stream(stream, DOMUS_E_SHUTTING_DOWN, "the daemon is stopping");
      return i->fail(serial, errc::shutting_down, "the daemon is stopping");
    }
    std::unique_ptr<domus_stream> s(stream);
    // Ended without an error before it opened (an empty download, all of it read at
    // once): the client gets the stream, and its end at once.
    bool ended_ok = s->attached && s->ended && s->early_end.empty();
    if (ended_ok)
      s->ended = false;
    if (!s->attached || s->ended)
      return i->fail(serial, errc::operation_failed,
                     !s->early_end.empty() ? s->early_end
                     : s->ended ? "the driver ended the stream before it opened"
                                : "the driver did not attach the stream (stream_attach)");
    auto& p = it->second;
    p.stream_place = false; // the place is the stream's now
    uint64_t id = i->streams->open(std::move(s), static_cast<int>(p.sock), p.routing_id);
    result["stream"] = id;
    result["window"] = i->limits().stream_window;
    result["chunk_bytes"] = DOMUS_STREAM_CHUNK_BYTES;
    domus_stream* opened = ended_ok ? i->streams->find_open(id) : nullptr;
    i->answer(serial, protocol::encode_reply(p.client_id, result));
    if (opened)
      i->streams->finish(opened, DOMUS_OK, "");
  });
}

void gateway::retarget(uint64_t serial, caf::actor_id actor) {
  auto* i = impl_.get();
  loop_.post([i, serial, actor] {
    auto it = i->pending.find(serial);
    if (it != i->pending.end())
      it->second.target = actor;
  });
}

void gateway::publish(std::string topic, std::string body) {
  auto* i = impl_.get();
  loop_.post([i, topic = std::move(topic), body = std::move(body)] {
    // Every event is bounded (its fields are: names, URIs, messages); one that is not is
    // a bug, refused before it takes a seq.
    if (body.size() + 32 > i->limits().max_event_bytes) {
      log_error("an event of topic " + topic + " is " + std::to_string(body.size()) +
                " bytes, above max_event_bytes (" +
                std::to_string(i->limits().max_event_bytes) + "); not published");
      return;
    }
    // The one place seq is assigned: events are journaled, then leave, in the order
    // they are numbered.
    std::string numbered = "{\"seq\":" + std::to_string(i->journal->next_seq());
    numbered += body.size() > 2 ? "," + body.substr(1) : std::string("}");
    // An event the journal cannot write is not published: its seq is a hole that
    // events.since reports, rather than an event no one can fetch again.
    if (i->journal->append(topic, numbered))
      i->send_event(topic, numbered);
  });
}

void gateway::publish_sample(std::string topic, std::string key, std::string body) {
  auto* i = impl_.get();
  loop_.post([i, topic = std::move(topic), key = std::move(key),
              body = std::move(body)]() mutable {
    if (body.size() + 32 > i->limits().max_event_bytes) {
      log_error("a sample of topic " + topic + " is " + std::to_string(body.size()) +
                " bytes, above max_event_bytes; not published");
      return;
    }
    if (!i->samples)
      i->samples = std::make_unique<sample_throttle>(
          i->loop.uv(), sample_interval_ms,
          [i](const std::string& t, const std::string& b) { i->send_event(t, b); });
    i->samples->offer(key, std::move(topic), std::move(body));
  });
}

void gateway::route_set(std::string uri, route_entry route) {
  auto* i = impl_.get();
  loop_.post([i, uri = std::move(uri), route = std::move(route)]() mutable {
    auto it = i->instances.find(uri);
    if (it != i->instances.end())
      i->route(it->second, std::move(route));
  });
}

void gateway::route_remove(std::string uri, caf::actor_id actor) {
  auto* i = impl_.get();
  loop_.post([i, uri = std::move(uri), actor] {
    auto it = i->instances.find(uri);
    if (it != i->instances.end())
      i->unroute(it->second, actor);
  });
}

void gateway::actor_gone(std::string uri, caf::actor_id actor, errc code,
                         std::string message) {
  auto* i = impl_.get();
  loop_.post([i, uri = std::move(uri), actor, code, message = std::move(message)] {
    auto it = i->instances.find(uri);
    if (it != i->instances.end())
      i->unroute(it->second, actor);
    i->fail_all([actor](const pending_request& p) { return p.target == actor; }, code,
                message);
  });
}

void gateway::actor_replaced(std::string uri, caf::actor_id old, route_entry replacement,
                             errc code, std::string message) {
  auto* i = impl_.get();
  loop_.post([i, uri = std::move(uri), old, replacement = std::move(replacement), code,
              message = std::move(message)]() mutable {
    auto it = i->instances.find(uri);
    if (it != i->instances.end()) {
      i->unroute(it->second, old);
      i->route(it->second, std::move(replacement));
    }
    i->fail_all([old](const pending_request& p) { return p.target == old; }, code,
                message);
  });
}

void gateway::instance_ready(std::string uri, std::vector<route_entry> routes) {
  auto* i = impl_.get();
  loop_.post([i, uri = std::move(uri), routes = std::move(routes)]() mutable {
    auto it = i->instances.find(uri);
    if (it == i->instances.end())
      return;
    auto& r = it->second;
    for (auto& e : routes)
      i->route(r, std::move(e));
    r.ready = true;
    r.late_open.clear();
    auto waiting = std::move(r.waiting);
    for (auto s : waiting) {
      auto p = i->pending.find(s);
      if (p != i->pending.end())
        i->dispatch(s, p->second, r);
    }
  });
}

void gateway::open_instance(const std::string& uri) {
  try {
    auto u = protocol::parse_uri(uri);
    if (impl_->instances.count(u.normalized()))
      return;
    std::string why;
    errc code = errc::internal;
    if (impl_->open_instance(u, why, code) == impl_->instances.end())
      log_error("cannot open " + uri + " at start: " + why);
  } catch (const protocol::error& e) {
    log_error("cannot open " + uri + " at start: " + e.what());
  }
}

void gateway::instance_down(std::string uri, caf::actor_id registry,
                            std::string message) {
  auto* i = impl_.get();
  loop_.post([i, uri = std::move(uri), registry, message = std::move(message)] {
    auto it = i->instances.find(uri);
    if (it == i->instances.end() || it->second.registry.id() != registry)
      return;
    i->instances.erase(it);
    i->fail_all([&uri](const pending_request& p) { return p.uri == uri; }, errc::internal,
                message);
  });
}

void gateway::instance_open_late(std::string uri, std::string message,
                                 std::string still_opening) {
  auto* i = impl_.get();
  loop_.post([i, uri = std::move(uri), message = std::move(message),
              still_opening = std::move(still_opening)]() mutable {
    auto it = i->instances.find(uri);
    if (it == i->instances.end())
      return;
    it->second.late_open = std::move(still_opening);
    auto waiting = std::move(it->second.waiting);
    for (auto s : waiting)
      i->fail(s, errc::timeout, message);
  });
}

void gateway::instance_failed(std::string uri, errc code, std::string message) {
  auto* i = impl_.get();
  loop_.post([i, uri = std::move(uri), code, message = std::move(message)] {
    auto it = i->instances.find(uri);
    if (it == i->instances.end())
      return;
    auto waiting = std::move(it->second.waiting);
    i->instances.erase(it);
    for (auto s : waiting)
      i->fail(s, code, message);
  });
}

} // namespace domus::runtime
