#include "domus/protocol/client.hpp"

#include "time_left.hpp"

#include <zmq.hpp>
#include <zmq_addon.hpp>

#include <cerrno>
#include <cstring>
#include <deque>
#include <poll.h>
#include <random>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <unordered_set>

namespace domus::protocol {

using clock_type = std::chrono::steady_clock;

namespace {

// Whether the socket has a message within timeout; a signal ends the wait early.
bool poll_in(zmq::socket_t& s, std::chrono::milliseconds timeout) {
  zmq::pollitem_t item{s.handle(), 0, ZMQ_POLLIN, 0};
  try {
    zmq::poll(&item, 1, timeout);
  } catch (const zmq::error_t& e) {
    if (e.num() == EINTR)
      return false;
    throw;
  }
  return (item.revents & ZMQ_POLLIN) != 0;
}

} // namespace

struct connection::impl {
  socket_files files;
  std::string target;
  zmq::context_t ctx{1};
  zmq::socket_t sock{ctx, zmq::socket_type::dealer};
  int64_t next_id = 1;
  std::deque<reply> stash;             // replies received while call() waited for another
  std::unordered_set<int64_t> ignored; // ids whose replies nobody wants
  // Stream messages received while a reply was awaited (bounded by the credit granted).
  std::deque<stream_message> stream_stash;

  // One message within timeout: a reply (forgotten ids skipped) or a stream message
  // (when `streams`; else it is kept for receive_stream). False on timeout.
  bool read_any(std::chrono::milliseconds timeout, bool streams, std::optional<reply>& r,
                std::optional<stream_message>& m) {
    auto deadline = clock_type::now() + timeout;
    for (;;) {
      // A message already queued is taken without a poll: a stream's chunks come
      // back to back, and each poll is a system call.
      std::vector<zmq::message_t> frames;
      if (!zmq::recv_multipart(sock, std::back_inserter(frames),
                               zmq::recv_flags::dontwait)) {
        if (!poll_in(sock, time_left(deadline)))
          return false;
        continue;
      }
      if (frames.size() == 3) { // [empty, header, bytes]: a stream message
        stream_message sm;
        sm.header = json::parse(frames[1].to_string_view(), nullptr, false);
        if (!sm.header.is_object())
          continue;
        sm.stream = sm.header.value("stream", uint64_t{0});
        sm.op = sm.header.value("op", std::string());
        auto kept = std::make_shared<zmq::message_t>(std::move(frames[2]));
        sm.bytes = chunk(kept, static_cast<const char*>(kept->data()), kept->size());
        if (streams) {
          m = std::move(sm);
          return true;
        }
        stream_stash.push_back(std::move(sm));
        continue;
      }
      if (frames.empty())
        continue;
      auto& body = frames.back();
      reply rep = decode_reply(
          std::string_view(static_cast<const char*>(body.data()), body.size()));
      if (rep.id && ignored.erase(*rep.id))
        continue;
      if (streams) {
        stash.push_back(std::move(rep));
        continue;
      }
      r = std::move(rep);
      return true;
    }
  }

  std::optional<reply> read_one(std::chrono::milliseconds timeout) {
    std::optional<reply> r;
    std::optional<stream_message> m;
    read_any(timeout, false, r, m);
    return r;
  }
};

connection::connection(const std::string& rw_socket_path, bool read_only)
    : impl_(std::make_unique<impl>()) {
  impl_->files = socket_files::beside(rw_socket_path);
  impl_->target = read_only ? impl_->files.ro : impl_->files.rw;
  impl_->sock.set(zmq::sockopt::linger, 0);
  impl_->sock.set(zmq::sockopt::sndhwm, 0);
  impl_->sock.set(zmq::sockopt::rcvhwm, 0);
  impl_->sock.connect("ipc://" + impl_->target);
}

connection::~connection() = default;

void connection::check_listening() const {
  const std::string& path = impl_->target;
  sockaddr_un addr{};
  if (path.size() >= sizeof addr.sun_path)
    throw error(errc::no_daemon, "the socket path " + path + " is longer than the " +
                                     std::to_string(sizeof addr.sun_path - 1) +
                                     "-byte limit of unix sockets");
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    throw error(errc::no_daemon,
                "no daemon is listening on " + path + ": the socket file does not exist");
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    throw error(errc::internal, std::string("socket(): ") + std::strerror(errno));
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  int rc = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  int err = errno;
  // A daemon greets a connection at once (ZMTP); one at its connection cap closes it at
  // once instead: say so rather than time out later.
  bool closed_at_once = false;
  if (rc == 0) {
    pollfd p{fd, POLLIN, 0};
    char c;
    closed_at_once = ::poll(&p, 1, 1000) == 1 && ::recv(fd, &c, 1, MSG_PEEK) == 0;
  }
  ::close(fd);
  if (closed_at_once)
    throw error(errc::no_daemon,
                "the daemon on " + path +
                    " accepts no more connections now: it has as many as its max_clients "
                    "allows; try again later");
  if (rc != 0)
    throw error(errc::no_daemon,
                "no daemon is listening on " + path + ": " + std::strerror(err) +
                    (err == ECONNREFUSED ? " (a stale socket file left by a daemon that "
                                           "stopped)"
                                         : ""));
}

int64_t connection::send(std::string_view uri, std::string_view proc, const json& args) {
  int64_t id = impl_->next_id++;
  std::string body = encode_request(id, uri, proc, args);
  std::array<zmq::const_buffer, 2> frames{zmq::const_buffer(nullptr, 0),
                                          zmq::buffer(body)};
  zmq::send_multipart(impl_->sock, frames);
  return id;
}

std::optional<reply> connection::receive(std::chrono::milliseconds timeout) {
  if (!impl_->stash.empty()) {
    reply r = std::move(impl_->stash.front());
    impl_->stash.pop_front();
    return r;
  }
  return impl_->read_one(timeout);
}

reply connection::call(std::string_view uri, std::string_view proc, const json& args,
                       std::chrono::milliseconds timeout) {
  return wait_for(send(uri, proc, args), timeout, proc);
}

reply connection::wait_for(int64_t id, std::chrono::milliseconds timeout,
                           std::string_view what) {
  for (auto it = impl_->stash.begin(); it != impl_->stash.end(); ++it)
    if (it->id == id) {
      reply r = std::move(*it);
      impl_->stash.erase(it);
      return r;
    }
  auto deadline = clock_type::now() + timeout;
  for (;;) {
    auto r = impl_->read_one(time_left(deadline));
    if (!r) {
      forget(id);
      throw error(errc::timeout, "the daemon on " + impl_->target + " did not answer '" +
                                     std::string(what) + "' within " +
                                     std::to_string(timeout.count()) + " ms");
    }
    // A reply without an id answers a request the daemon could not read: ours, when
    // nothing else is outstanding, which is how call() is used.
    if (!r->id || *r->id == id)
      return std::move(*r);
    impl_->stash.push_back(std::move(*r));
  }
}

void connection::send_stream(uint64_t stream, std::string_view op, const json& fields,
                             std::string_view bytes) {
  json h = fields.is_object() ? fields : json::object();
  h["v"] = 1;
  h["stream"] = stream;
  h["op"] = op;
  std::string header = h.dump();
  std::array<zmq::const_buffer, 3> frames{zmq::const_buffer(nullptr, 0),
                                          zmq::buffer(header),
                                          zmq::const_buffer(bytes.data(), bytes.size())};
  zmq::send_multipart(impl_->sock, frames);
}

std::optional<stream_message>
connection::receive_stream(std::chrono::milliseconds timeout, uint64_t only) {
  auto& kept = impl_->stream_stash;
  for (auto it = kept.begin(); it != kept.end(); ++it)
    if (!only || it->stream == only) {
      stream_message m = std::move(*it);
      kept.erase(it);
      return m;
    }
  auto deadline = clock_type::now() + timeout;
  for (;;) {
    std::optional<reply> r;
    std::optional<stream_message> m;
    if (!impl_->read_any(time_left(deadline), true, r, m))
      return std::nullopt;
    if (!only || m->stream == only)
      return m;
    kept.push_back(std::move(*m)); // another stream's
  }
}

void connection::forget(int64_t id) {
  impl_->ignored.insert(id);
}

const socket_files& connection::files() const {
  return impl_->files;
}

const std::string& connection::request_socket() const {
  return impl_->target;
}

struct subscriber::impl {
  connection& requests;
  std::vector<std::string> topics;
  zmq::socket_t sock;
  std::deque<event_message> early; // events that arrived during the handshake

  impl(connection& c, std::vector<std::string> t)
      : requests(c), topics(std::move(t)),
        sock(c.internals().ctx, zmq::socket_type::sub) {}

  std::optional<event_message> read_one(std::chrono::milliseconds timeout) {
    if (!poll_in(sock, timeout))
      return std::nullopt;
    std::vector<zmq::message_t> frames;
    if (!zmq::recv_multipart(sock, std::back_inserter(frames),
                             zmq::recv_flags::dontwait) ||
        frames.size() != 2)
      return std::nullopt;
    event_message m;
    m.topic = frames[0].to_string();
    m.body = json::parse(frames[1].to_string_view(), nullptr, false);
    return m;
  }

  static std::string new_token(const std::string& prefix = "") {
    std::random_device rd;
    return prefix + std::to_string(rd()) + "-" + std::to_string(rd());
  }

  void ping(const std::string& token) {
    requests.forget(requests.send("", "events.ping", {{"token", token}}));
  }

  // Reads until the pong that carries `token` (true) or until `until` passes (false);
  // the events read meanwhile go to `early`, sys.* messages are dropped.
  bool await_pong(const std::string& token, clock_type::time_point until) {
    for (;;) {
      auto left = time_left(until);
      if (left.count() == 0)
        return false;
      auto m = read_one(left);
      if (!m)
        return false;
      if (m->topic == topic_pong) {
        if (m->body.is_object() && m->body.value("token", std::string{}) == token)
          return true;
        continue;
      }
      if (m->topic.rfind("sys.", 0) != 0)
        early.push_back(std::move(*m));
    }
  }
};

subscriber::subscriber(connection& requests, std::vector<std::string> topics)
    : impl_(std::make_unique<impl>(requests, std::move(topics))) {
  impl_->sock.set(zmq::sockopt::linger, 0);
  impl_->sock.set(zmq::sockopt::rcvhwm, 0);
}

subscriber::~subscriber() = default;

void subscriber::handshake(std::chrono::milliseconds timeout) {
  auto& s = impl_->sock;
  s.connect("ipc://" + impl_->requests.files().events);
  for (auto& t : impl_->topics)
    s.set(zmq::sockopt::subscribe, t);
  s.set(zmq::sockopt::subscribe, "sys.");
  auto deadline = clock_type::now() + timeout;
  // The ping can overtake the subscription (another connection), so it is re-sent, with
  // a growing interval, until the pong arrives.
  std::string token = impl::new_token();
  auto interval = std::chrono::milliseconds(2);
  while (clock_type::now() < deadline) {
    impl_->ping(token);
    if (impl_->await_pong(token, std::min(deadline, clock_type::now() + interval)))
      return;
    interval = std::min(interval * 2, std::chrono::milliseconds(100));
  }
  throw error(errc::timeout, "no answer to the event handshake from " +
                                 impl_->requests.files().events + " within " +
                                 std::to_string(timeout.count()) + " ms");
}

std::optional<event_message> subscriber::next(std::chrono::milliseconds timeout) {
  if (!impl_->early.empty()) {
    auto m = std::move(impl_->early.front());
    impl_->early.pop_front();
    return m;
  }
  auto deadline = clock_type::now() + timeout;
  for (;;) {
    auto m = impl_->read_one(time_left(deadline));
    if (!m)
      return std::nullopt;
    if (m->topic.rfind("sys.", 0) != 0)
      return m;
  }
}

std::vector<event_message> subscriber::until_now(std::chrono::milliseconds timeout) {
  std::string token = impl::new_token("barrier-");
  impl_->ping(token);
  if (!impl_->await_pong(token, clock_type::now() + timeout))
    throw error(errc::timeout, "no pong for the event barrier from " +
                                   impl_->requests.files().events + " within " +
                                   std::to_string(timeout.count()) + " ms");
  std::vector<event_message> seen(std::make_move_iterator(impl_->early.begin()),
                                  std::make_move_iterator(impl_->early.end()));
  impl_->early.clear();
  return seen;
}

} // namespace domus::protocol
