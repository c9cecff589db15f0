#include "gateway/stream_table.hpp"

#include <domus/errors.hpp>

#include <algorithm>

namespace domus::runtime {

using nlohmann::json;

namespace {

json header(uint64_t id, const char* op) {
  return json{{"v", 1}, {"stream", id}, {"op", op}};
}

std::string code_name(int32_t status) {
  auto code = domus::errc_from_number(status);
  return std::string(domus::to_string(code.value_or(domus::errc::internal)));
}

} // namespace

void discard_stream(domus_stream* s, int32_t status, const char* message) {
  // A driver that ended it itself hears nothing more (it may have freed what arg is).
  if (s->attached && !s->ended)
    s->cbs.on_end(s->arg, status, message);
  delete s;
}

stream_table::stream_table(stream_bounds bounds, stream_send_fn send,
                           std::function<void()> wake)
    : bounds_(bounds), send_(std::move(send)), wake_(std::move(wake)) {}

stream_table::~stream_table() = default;

std::optional<std::string> stream_table::reserve(int sock,
                                                 const std::string& routing_id) {
  if (total_ >= bounds_.max_streams)
    return "the daemon has " + std::to_string(total_) +
           " streams open, as many as max_streams (" +
           std::to_string(bounds_.max_streams) + ") allows";
  uint32_t& mine = per_client_[{sock, routing_id}];
  if (mine >= bounds_.max_client_streams)
    return "this connection has " + std::to_string(mine) +
           " streams open, as many as max_client_streams (" +
           std::to_string(bounds_.max_client_streams) + ") allows: end one first";
  ++mine;
  ++total_;
  return std::nullopt;
}

void stream_table::unreserve(int sock, const std::string& routing_id) {
  auto it = per_client_.find({sock, routing_id});
  if (it == per_client_.end())
    return;
  if (--it->second == 0)
    per_client_.erase(it);
  --total_;
}

uint64_t stream_table::open(std::unique_ptr<domus_stream> s, int sock,
                            const std::string& routing_id) {
  uint64_t id = next_id_++;
  s->table = this;
  s->id = id;
  s->sock = sock;
  s->routing_id = routing_id;
  s->client_credit = bounds_.window;
  s->heard = clock_type::now();
  open_[id] = std::move(s);
  return id;
}

domus_stream* stream_table::find(int sock, const std::string& routing_id, uint64_t id) {
  auto it = open_.find(id);
  if (it == open_.end() || it->second->sock != sock ||
      it->second->routing_id != routing_id || it->second->ended)
    return nullptr;
  return it->second.get();
}

void stream_table::refuse(int sock, const std::string& routing_id, uint64_t id,
                          const char* code, const std::string& message) {
  json h = header(id, "abort");
  h["code"] = code;
  h["message"] = message;
  send_(sock, routing_id, h, {});
}

void stream_table::on_client(int sock, const std::string& routing_id, const json& h,
                             std::string_view bytes) {
  auto sid = h.find("stream");
  auto op = h.find("op");
  if (sid == h.end() || !sid->is_number_unsigned() || op == h.end() || !op->is_string())
    return refuse(sock, routing_id, 0, "bad-request",
                  "a stream message needs \"stream\", a stream id, and \"op\"");
  uint64_t id = sid->get<uint64_t>();
  domus_stream* s = find(sock, routing_id, id);
  if (!s)
    return refuse(sock, routing_id, id, "bad-request",
                  "no stream " + std::to_string(id) + " is open on this connection");
  s->heard = clock_type::now();
  const std::string& what = op->get_ref<const std::string&>();
  if (s->client_done && what != "credit" && what != "abort")
    return end(s, DOMUS_E_BAD_REQUEST,
               "a '" + what.substr(0, 64) + "' after the client's end of the stream",
               true, true);
  if (what == "data") {
    if (bytes.empty() || bytes.size() > DOMUS_STREAM_CHUNK_BYTES)
      return end(s, DOMUS_E_MESSAGE_TOO_LARGE,
                 "a data message of " + std::to_string(bytes.size()) +
                     " bytes: each carries 1 to " +
                     std::to_string(DOMUS_STREAM_CHUNK_BYTES),
                 true, true);
    if (!spend_client_credit(s))
      return;
    domus_stream::piece p{std::string(), 0};
    if (s->paused || !s->held.empty()) {
      p.data.assign(bytes);
      s->held.push_back(std::move(p));
      return;
    }
    s->cbs.on_data(s->arg, bytes.data(), bytes.size());
    return top_up(s);
  }
  if (what == "hole") {
    auto n = h.find("bytes");
    if (n == h.end() || !n->is_number_unsigned() || n->get<uint64_t>() == 0)
      return end(s, DOMUS_E_BAD_REQUEST, "a hole message needs \"bytes\" (1 or more)",
                 true, true);
    if (!s->holes || !s->cbs.on_hole)
      return end(s, DOMUS_E_BAD_REQUEST,
                 "a hole on a stream that takes none (open it sparse)", true, true);
    if (!spend_client_credit(s))
      return;
    domus_stream::piece p{std::string(), n->get<uint64_t>()};
    if (s->paused || !s->held.empty())
      return s->held.push_back(std::move(p));
    s->cbs.on_hole(s->arg, p.hole);
    return top_up(s);
  }
  if (what == "credit") {
    auto n = h.find("chunks");
    if (n == h.end() || !n->is_number_unsigned())
      return end(s, DOMUS_E_BAD_REQUEST, "a credit message needs \"chunks\" (0 or more)",
                 true, true);
    // More than the window is never held: the daemon sends at most that far ahead.
    uint64_t credit =
        std::min<uint64_t>(bounds_.window, s->daemon_credit + n->get<uint64_t>());
    s->daemon_credit = static_cast<uint32_t>(credit);
    if (s->wants_writable && s->daemon_credit > 0) {
      s->wants_writable = false;
      if (s->cbs.on_writable)
        s->cbs.on_writable(s->arg);
    }
    return;
  }
  if (what == "end") {
    if (!s->cbs.on_eof)
      return end(s, DOMUS_OK, "", false, true);
    // The driver answers it with its finish; held data goes first.
    s->client_done = true;
    if (s->paused || !s->held.empty())
      return s->held.push_back({std::string(), 0});
    return s->cbs.on_eof(s->arg);
  }
  if (what == "abort") {
    std::string why = "the client aborted the stream";
    if (auto m = h.find("message"); m != h.end() && m->is_string())
      why += ": " + m->get<std::string>().substr(0, 1024);
    return end(s, DOMUS_E_ABORTED, why, false, true);
  }
  end(s, DOMUS_E_BAD_REQUEST,
      "unknown stream op '" + what.substr(0, 64) + "' (data, hole, credit, end or abort)",
      true, true);
}

bool stream_table::spend_client_credit(domus_stream* s) {
  if (s->client_credit == 0) {
    end(s, DOMUS_E_LIMIT_EXCEEDED,
        "data sent without credit: the client may send stream_window (" +
            std::to_string(bounds_.window) + ") messages ahead of its grants",
        true, true);
    return false;
  }
  --s->client_credit;
  return true;
}

// Credit back to the client once the driver took half the window, unless it paused.
void stream_table::top_up(domus_stream* s) {
  if (s->ended || s->paused || !s->held.empty() ||
      bounds_.window - s->client_credit < std::max(1u, bounds_.window / 4))
    return;
  uint32_t grant = bounds_.window - s->client_credit;
  s->client_credit = bounds_.window;
  json h = header(s->id, "credit");
  h["chunks"] = grant;
  if (!send_(s->sock, s->routing_id, h, {}))
    end(s, DOMUS_E_ABORTED, "the client went away", false, true);
}

int32_t stream_table::send(domus_stream* s, const void* data, size_t len) {
  if (s->ended)
    return -EPIPE;
  if (len == 0 || len > DOMUS_STREAM_CHUNK_BYTES)
    return -EMSGSIZE;
  if (s->daemon_credit == 0) {
    s->wants_writable = true;
    return -EAGAIN;
  }
  --s->daemon_credit;
  if (send_(s->sock, s->routing_id, header(s->id, "data"),
            std::string_view(static_cast<const char*>(data), len)))
    return 0;
  // The client is gone: -EPIPE tells the driver, no on_end follows.
  end(s, DOMUS_E_ABORTED, "the client went away", false, false);
  return -EPIPE;
}

int32_t stream_table::send_hole(domus_stream* s, uint64_t bytes) {
  if (s->ended)
    return -EPIPE;
  if (!s->holes)
    return -ENOTSUP;
  if (bytes == 0)
    return -EINVAL;
  if (s->daemon_credit == 0) {
    s->wants_writable = true;
    return -EAGAIN;
  }
  --s->daemon_credit;
  json h = header(s->id, "hole");
  h["bytes"] = bytes;
  if (send_(s->sock, s->routing_id, h, {}))
    return 0;
  end(s, DOMUS_E_ABORTED, "the client went away", false, false);
  return -EPIPE;
}

void stream_table::pause(domus_stream* s, bool paused) {
  if (s->ended || s->paused == paused)
    return;
  s->paused = paused;
  if (paused)
    return;
  // Held data goes to the driver from the top of the loop, not inside its call.
  to_deliver_.push_back(s->id);
  wake_();
}

void stream_table::finish(domus_stream* s, int32_t status, const std::string& message) {
  end(s, status, message, true, false);
}

void stream_table::end(domus_stream* s, int32_t status, const std::string& message,
                       bool tell_client, bool tell_driver) {
  if (s->ended)
    return;
  s->ended = true;
  if (tell_client) {
    json h = header(s->id, status == DOMUS_OK ? "end" : "abort");
    if (status != DOMUS_OK) {
      h["code"] = code_name(status);
      h["message"] = message;
    }
    send_(s->sock, s->routing_id, h, {});
  }
  auto it = open_.find(s->id);
  if (it == open_.end())
    return;
  ended_.push_back(std::move(it->second));
  open_.erase(it);
  unreserve(s->sock, s->routing_id);
  if (tell_driver)
    s->cbs.on_end(s->arg, status, message.c_str());
  wake_(); // to free it
}

void stream_table::hand_over(domus_stream* s, domus_stream::piece& p) {
  if (!p.data.empty())
    s->cbs.on_data(s->arg, p.data.data(), p.data.size());
  else if (p.hole)
    s->cbs.on_hole(s->arg, p.hole);
  else
    s->cbs.on_eof(s->arg);
}

void stream_table::deliver(domus_stream* s) {
  while (!s->ended && !s->paused && !s->held.empty()) {
    domus_stream::piece p = std::move(s->held.front());
    s->held.pop_front();
    hand_over(s, p);
  }
  top_up(s);
}

void stream_table::flush() {
  auto due = std::move(to_deliver_);
  to_deliver_.clear();
  for (uint64_t id : due) {
    auto it = open_.find(id);
    if (it != open_.end())
      deliver(it->second.get());
  }
  ended_.clear();
}

void stream_table::sweep(clock_type::time_point now) {
  auto idle = std::chrono::milliseconds(bounds_.idle_ms);
  std::vector<domus_stream*> stale;
  for (auto& [id, s] : open_)
    if (!s->client_done && now - s->heard > idle)
      stale.push_back(s.get());
  for (auto* s : stale)
    end(s, DOMUS_E_TIMEOUT,
        "the stream heard nothing from its client for " +
            std::to_string(bounds_.idle_ms) + " ms (stream_idle_ms)",
        true, true);
}

void stream_table::abort_all(int32_t status, const std::string& message) {
  std::vector<domus_stream*> all;
  for (auto& [id, s] : open_)
    all.push_back(s.get());
  for (auto* s : all)
    end(s, status, message, true, true);
}

} // namespace domus::runtime
