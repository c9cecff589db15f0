#include "qmp_client.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace domus::qemu_driver {

namespace {
// A reply or event larger than this is not QMP talking: the connection is dropped.
constexpr size_t max_line_bytes = 16u << 20;
} // namespace

qmp_client::qmp_client(const domus_host_v1* host, int fd, uint32_t timeout_ms,
                       event_fn on_event, closed_fn on_closed)
    : host_(host), fd_(fd), timeout_ms_(timeout_ms), on_event_(std::move(on_event)),
      on_closed_(std::move(on_closed)) {
  int fl = ::fcntl(fd_, F_GETFL);
  ::fcntl(fd_, F_SETFL, fl | O_NONBLOCK);
  watching_ = DOMUS_FD_READABLE;
  watch_ = host_->watch_fd(host_->ctx, fd_, watching_, readable, this);
}

qmp_client::~qmp_client() {
  *alive_ = false;
  for (auto& [id, p] : pending_)
    if (p.timer)
      host_->timer_stop(host_->ctx, p.timer);
  if (greeting_timer_)
    host_->timer_stop(host_->ctx, greeting_timer_);
  if (watch_)
    host_->unwatch_fd(host_->ctx, watch_);
  if (fd_ >= 0)
    ::close(fd_);
}

void qmp_client::negotiate(std::function<void(bool, const std::string&)> ready) {
  greeting_ = std::move(ready);
  auto arg = std::make_unique<timer_arg>(timer_arg{this, 0});
  greeting_timer_ = host_->timer_start(host_->ctx, timeout_ms_, 0, timed_out, arg.get());
  timer_args_[0] = std::move(arg);
}

void qmp_client::execute(const std::string& command, const nlohmann::json& args,
                         reply_fn reply) {
  if (fd_ < 0) {
    reply(false, nullptr, "the monitor is closed");
    return;
  }
  uint64_t id = next_id_++;
  nlohmann::json msg = {{"execute", command}, {"id", id}};
  if (args.is_object())
    msg["arguments"] = args;
  out_ += msg.dump();
  out_ += "\r\n";
  auto arg = std::make_unique<timer_arg>(timer_arg{this, id});
  uint64_t timer = host_->timer_start(host_->ctx, timeout_ms_, 0, timed_out, arg.get());
  timer_args_[id] = std::move(arg);
  pending_[id] = pending{command, std::move(reply), timer};
  flush();
}

void qmp_client::timed_out(void* arg) {
  try {
    expire(static_cast<timer_arg*>(arg));
  } catch (const std::exception&) {
  }
}

void qmp_client::expire(timer_arg* t) {
  qmp_client* self = t->self;
  uint64_t id = t->id;
  auto alive = self->alive_;
  if (id == 0) {
    self->greeting_timer_ = 0;
    auto ready = std::move(self->greeting_);
    self->greeting_ = nullptr;
    self->timer_args_.erase(0);
    if (ready)
      ready(false, "QEMU's monitor did not greet within " +
                       std::to_string(self->timeout_ms_ / 1000) + " s");
    return;
  }
  auto it = self->pending_.find(id);
  if (it == self->pending_.end())
    return;
  pending p = std::move(it->second);
  self->pending_.erase(it);
  self->timer_args_.erase(id);
  p.reply(false, nullptr,
          "QMP command '" + p.command + "' got no answer within " +
              std::to_string(self->timeout_ms_ / 1000) + " s");
}

void qmp_client::readable(void* arg, int, uint32_t revents) {
  static_cast<qmp_client*>(arg)->on_readable(revents);
}

void qmp_client::flush() {
  while (!out_.empty() && fd_ >= 0) {
    ssize_t n = ::send(fd_, out_.data(), out_.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      out_.erase(0, static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
      break;
    close_with(std::string("writing to QEMU's monitor failed: ") + std::strerror(errno));
    return;
  }
  uint32_t want = DOMUS_FD_READABLE | (out_.empty() ? 0u : DOMUS_FD_WRITABLE);
  if (fd_ >= 0 && want != watching_) {
    host_->unwatch_fd(host_->ctx, watch_);
    watching_ = want;
    watch_ = host_->watch_fd(host_->ctx, fd_, watching_, readable, this);
  }
}

void qmp_client::on_readable(uint32_t revents) {
  auto alive = alive_;
  if (revents & DOMUS_FD_WRITABLE) {
    flush();
    if (!*alive || fd_ < 0)
      return;
  }
  char buf[65536];
  for (;;) {
    ssize_t n = ::recv(fd_, buf, sizeof buf, MSG_DONTWAIT);
    if (n > 0) {
      in_.append(buf, static_cast<size_t>(n));
      if (in_.size() > max_line_bytes && in_.find('\n') == std::string::npos)
        return close_with("QEMU's monitor sent a line over 16 MiB");
      continue;
    }
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
      break;
    // Lines already read still count (QEMU's SHUTDOWN comes just before it closes).
    size_t nl;
    while (*alive && fd_ >= 0 && (nl = in_.find('\n')) != std::string::npos) {
      std::string line = in_.substr(0, nl);
      in_.erase(0, nl + 1);
      on_line(line);
    }
    if (*alive && fd_ >= 0)
      close_with(n == 0 ? "QEMU closed its monitor"
                        : std::string("reading QEMU's monitor failed: ") +
                              std::strerror(errno));
    return;
  }
  size_t nl;
  while (*alive && fd_ >= 0 && (nl = in_.find('\n')) != std::string::npos) {
    std::string line = in_.substr(0, nl);
    in_.erase(0, nl + 1);
    on_line(line);
  }
}

void qmp_client::on_line(const std::string& line) {
  // What a QEMU sends (or a reply handler does with it) never throws into the loop: a
  // message that does not fit is dropped.
  try {
    dispatch(line);
  } catch (const std::exception&) {
  }
}

void qmp_client::dispatch(const std::string& line) {
  if (line.find_first_not_of(" \r\t") == std::string::npos)
    return;
  nlohmann::json msg = nlohmann::json::parse(line, nullptr, false);
  if (msg.is_discarded() || !msg.is_object())
    return close_with("QEMU's monitor sent something that is not JSON: " +
                      line.substr(0, 200));
  auto alive = alive_;
  if (msg.contains("QMP")) {
    if (!greeting_)
      return;
    if (greeting_timer_) {
      host_->timer_stop(host_->ctx, greeting_timer_);
      greeting_timer_ = 0;
      timer_args_.erase(0);
    }
    auto ready = std::move(greeting_);
    greeting_ = nullptr;
    execute("qmp_capabilities", nullptr,
            [ready](bool ok, const nlohmann::json&, const std::string& error) {
              ready(ok, ok ? "" : "qmp_capabilities: " + error);
            });
    return;
  }
  if (msg.contains("event")) {
    if (on_event_ && msg["event"].is_string())
      on_event_(msg["event"].get<std::string>(),
                msg.contains("data") ? msg["data"] : nlohmann::json::object());
    return;
  }
  if (!msg.contains("id") || !msg["id"].is_number_unsigned())
    return; // an answer to nothing we sent
  auto it = pending_.find(msg["id"].get<uint64_t>());
  if (it == pending_.end())
    return; // its timeout passed already
  pending p = std::move(it->second);
  uint64_t id = it->first;
  pending_.erase(it);
  if (p.timer)
    host_->timer_stop(host_->ctx, p.timer);
  timer_args_.erase(id);
  if (msg.contains("error")) {
    const auto& e = msg["error"];
    std::string desc = e.contains("desc") && e["desc"].is_string()
                           ? e["desc"].get<std::string>()
                           : e.dump();
    p.reply(false, nullptr, desc);
  } else {
    p.reply(true, msg.contains("return") ? msg["return"] : nlohmann::json::object(), "");
  }
  (void)alive;
}

void qmp_client::close_with(const std::string& why, bool notify) {
  if (fd_ < 0)
    return;
  host_->unwatch_fd(host_->ctx, watch_);
  watch_ = 0;
  ::close(fd_);
  fd_ = -1;
  auto alive = alive_;
  auto waiting = std::move(pending_);
  pending_.clear();
  for (auto& [id, p] : waiting) {
    if (p.timer)
      host_->timer_stop(host_->ctx, p.timer);
    timer_args_.erase(id);
  }
  if (greeting_timer_) {
    host_->timer_stop(host_->ctx, greeting_timer_);
    greeting_timer_ = 0;
    timer_args_.erase(0);
  }
  if (auto ready = std::move(greeting_)) {
    greeting_ = nullptr;
    ready(false, why);
    if (!*alive)
      return;
  }
  for (auto& [id, p] : waiting) {
    p.reply(false, nullptr, "QMP command '" + p.command + "': " + why);
    if (!*alive)
      return;
  }
  if (notify && on_closed_)
    on_closed_(why);
}

} // namespace domus::qemu_driver
