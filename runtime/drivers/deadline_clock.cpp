#include "drivers/deadline_clock.hpp"

namespace domus::runtime {

deadline_clock::deadline_clock() : thread_([this] { run(); }) {}

deadline_clock::~deadline_clock() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  thread_.join();
}

deadline_clock::armed deadline_clock::arm(clock::time_point when,
                                          std::function<void()> fire) {
  armed a;
  bool earliest;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    a = {when, next_id_++};
    auto it = armed_.emplace(std::make_pair(a.when, a.id), std::move(fire)).first;
    earliest = it == armed_.begin();
  }
  // The thread sleeps until the earliest deadline: only a new earliest one moves it.
  if (earliest)
    wake_.notify_one();
  return a;
}

bool deadline_clock::disarm(const armed& a) {
  if (a.id == 0)
    return false;
  std::lock_guard<std::mutex> lock(mutex_);
  return armed_.erase({a.when, a.id}) == 1;
}

size_t deadline_clock::size() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return armed_.size();
}

void deadline_clock::run() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (!stopping_) {
    if (armed_.empty()) {
      wake_.wait(lock);
      continue;
    }
    auto first = armed_.begin();
    if (first->first.first > clock::now()) {
      wake_.wait_until(lock, first->first.first);
      continue;
    }
    auto fire = std::move(first->second);
    armed_.erase(first);
    lock.unlock();
    fire();
    lock.lock();
  }
}

} // namespace domus::runtime
