#include "actors/job_queue.hpp"
#include "daemon/deadlines.hpp"

#include <domus/protocol/procedures.hpp>

#include <algorithm>

namespace domus::runtime {

job_queue::queued job_queue::push(job j, clock::time_point now) {
  j.token = ++next_token_;
  j.queued = now;
  queued q{j.token, busy_ || draining_ || !waiting_.empty()};
  waiting_.push_back(std::move(j));
  return q;
}

uint64_t job_queue::push_front(job j, clock::time_point now) {
  j.token = ++next_token_;
  j.queued = now;
  waiting_.push_front(std::move(j));
  return next_token_;
}

job job_queue::start(clock::time_point now) {
  job j = std::move(waiting_.front());
  waiting_.pop_front();
  hold("'" + std::string(protocol::entry(j.request.proc).name) + "'", now);
  running_proc_ = j.request.proc;
  return j;
}

void job_queue::hold(std::string what, clock::time_point now) {
  busy_ = true;
  running_proc_.reset();
  running_ = std::move(what);
  running_since_ = now;
}

std::optional<job> job_queue::give_up(uint64_t token, const std::string& domain,
                                      std::string& why, clock::time_point now) {
  auto it = std::find_if(waiting_.begin(), waiting_.end(),
                         [&](const job& j) { return j.token == token; });
  if (it == waiting_.end())
    return std::nullopt;
  auto secs = [&](clock::time_point t) {
    return seconds_text(static_cast<uint32_t>(
        std::chrono::duration_cast<std::chrono::milliseconds>(now - t).count()));
  };
  std::string what = busy_ ? running_ + " has been running for " + secs(running_since_)
                           : "other changes are queued";
  why = "domain '" + domain + "' is busy: " + what + "; gave up after waiting " +
        secs(it->queued) + " (job_wait_ms in domusd.conf)";
  job j = std::move(*it);
  waiting_.erase(it);
  return j;
}

std::list<job> job_queue::take_all() {
  std::list<job> all;
  all.swap(waiting_);
  return all;
}

} // namespace domus::runtime
