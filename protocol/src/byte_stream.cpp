#include "domus/protocol/byte_stream.hpp"

#include "time_left.hpp"

namespace domus::protocol {

byte_stream::byte_stream(connection& c, const json& opened)
    : c_(c), id_(opened.value("stream", uint64_t{0})),
      window_(opened.value("window", uint32_t{0})),
      chunk_(opened.value("chunk_bytes", size_t{0})) {
  if (!id_ || !window_ || !chunk_)
    throw error(errc::bad_request,
                "the reply opens no stream (stream, window, chunk_bytes)");
  credit_ = window_;
  granted_ = window_;
  c_.send_stream(id_, "credit", {{"chunks", window_}});
}

void byte_stream::check_open() const {
  if (!over_)
    return;
  if (why_.empty())
    throw error(errc::invalid_operation,
                "stream " + std::to_string(id_) + " was ended by the daemon");
  throw error(code_, why_);
}

bool byte_stream::take(std::chrono::milliseconds timeout) {
  auto m = c_.receive_stream(timeout, id_);
  if (!m)
    return false;
  if (m->op == "data") {
    inbox_.push_back({std::move(m->bytes), 0});
  } else if (m->op == "hole") {
    uint64_t n = m->header.value("bytes", uint64_t{0});
    if (n > 0)
      inbox_.push_back({chunk(), n});
  } else if (m->op == "credit") {
    credit_ += m->header.value("chunks", uint32_t{0});
  } else if (m->op == "end") {
    over_ = true;
  } else if (m->op == "abort") {
    over_ = true;
    code_ =
        errc_from_string(m->header.value("code", std::string())).value_or(errc::internal);
    why_ = m->header.value("message", std::string("aborted"));
  }
  return true;
}

void byte_stream::spend_credit(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!over_ && credit_ == 0) {
    auto left = time_left(deadline);
    if (left.count() == 0 || !take(left))
      throw error(errc::timeout, "stream " + std::to_string(id_) +
                                     ": no credit from the daemon within " +
                                     std::to_string(timeout.count()) + " ms");
  }
  check_open();
  --credit_;
}

void byte_stream::write(std::string_view bytes, std::chrono::milliseconds timeout) {
  spend_credit(timeout);
  c_.send_stream(id_, "data", {}, bytes);
}

void byte_stream::write_hole(uint64_t bytes, std::chrono::milliseconds timeout) {
  spend_credit(timeout);
  c_.send_stream(id_, "hole", {{"bytes", bytes}});
}

std::optional<chunk> byte_stream::read(std::chrono::milliseconds timeout) {
  auto p = read_piece(timeout);
  if (!p)
    return std::nullopt;
  if (p->hole)
    throw error(errc::bad_request, "stream " + std::to_string(id_) +
                                       ": a hole arrived (read it with read_piece)");
  return std::move(p->data);
}

std::optional<stream_piece> byte_stream::read_piece(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (inbox_.empty() && !over_) {
    if (!take(time_left(deadline)))
      break;
  }
  if (inbox_.empty()) {
    if (over_)
      check_open();
    return std::nullopt;
  }
  stream_piece next = std::move(inbox_.front());
  inbox_.pop_front();
  --granted_;
  if (window_ - granted_ >= std::max(1u, window_ / 4) && !over_) {
    c_.send_stream(id_, "credit", {{"chunks", window_ - granted_}});
    granted_ = window_;
  }
  return next;
}

void byte_stream::end() {
  if (!over_)
    c_.send_stream(id_, "end");
  over_ = true;
}

void byte_stream::finish(std::chrono::milliseconds timeout) {
  check_open();
  if (!sent_end_) {
    c_.send_stream(id_, "end");
    sent_end_ = true;
  }
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!over_) {
    auto left = time_left(deadline);
    if (left.count() == 0 || !take(left))
      throw error(errc::timeout, "stream " + std::to_string(id_) +
                                     ": the daemon did not answer its end within " +
                                     std::to_string(timeout.count()) + " ms");
  }
  if (!why_.empty())
    throw error(code_, why_);
}

void byte_stream::abort(const std::string& message) {
  if (!over_)
    c_.send_stream(id_, "abort", {{"message", message}});
  over_ = true;
  why_ = message;
}

void byte_stream::keepalive() {
  if (!over_)
    c_.send_stream(id_, "credit", {{"chunks", 0}});
}

} // namespace domus::protocol
