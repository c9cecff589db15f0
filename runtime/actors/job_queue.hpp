// The changes of one domain, one at a time: the jobs that wait, the one that runs, and
// what a job that waited too long is told. The domain actor owns one; no CAF here (the
// actor arms the wait deadlines and runs the jobs).
#pragma once

#include "gateway/rpc.hpp"

#include <domus/model/domain_def.hpp>

#include <chrono>
#include <cstdint>
#include <list>
#include <memory>
#include <optional>
#include <string>

namespace domus::runtime {

/// A mutating request waiting for its turn.
struct job {
  rpc request;
  std::shared_ptr<const model::domain_def> def; ///< define, create, redefine
  enum kind_t { operation = 1, define_new, create_new, redefine } kind = operation;
  /// A destroy that cancelled the start running before it: issued to the driver
  /// whatever the state (the start may have left a half-started guest).
  bool overtakes = false;
  uint64_t token = 0; ///< names it for its wait deadline
  std::chrono::steady_clock::time_point queued{};
};

class job_queue {
public:
  using clock = std::chrono::steady_clock;

  /// A job just queued: its token, and whether it must wait (a job runs, the queue is
  /// being drained, or others wait before it), when the caller arms its deadline.
  struct queued {
    uint64_t token;
    bool waits;
  };
  queued push(job j, clock::time_point now = clock::now());
  /// Queues a job before every waiting one (it is the next to start): its token.
  uint64_t push_front(job j, clock::time_point now = clock::now());

  /// Whether a job can start now: none runs and one waits.
  bool startable() const { return !busy_ && !waiting_.empty(); }
  /// Takes the next job and marks it running (its procedure names it in busy messages).
  job start(clock::time_point now = clock::now());
  /// Marks the queue busy without a job (jobs wait for it), `what` naming it in busy
  /// messages ("the resync after a restart").
  void hold(std::string what, clock::time_point now = clock::now());
  /// The running job (or hold) is over.
  void done() { busy_ = false; }
  bool busy() const { return busy_; }

  /// What runs (its procedure, or nullopt for a hold, and what busy messages call
  /// it) and since when; nullopt when nothing does.
  struct running_job {
    std::optional<protocol::proc> proc;
    std::string what;
    clock::time_point since;
  };
  std::optional<running_job> running() const {
    if (!busy_)
      return std::nullopt;
    return running_job{running_proc_, running_, running_since_};
  }
  /// How many jobs wait.
  size_t waiting() const { return waiting_.size(); }

  /// While draining (the actor's loop that starts jobs is on the stack), a job pushed
  /// is not started by its pusher: the loop takes it.
  void set_draining(bool d) { draining_ = d; }
  bool draining() const { return draining_; }

  /// Job `token` if it still waits, removed, and in `why` what it is told: "domain
  /// 'NAME' is busy: 'PROC' has been running for 1.2 s; gave up after waiting 0.4 s
  /// (job_wait_ms in domusd.conf)". nullopt when it has started meanwhile.
  std::optional<job> give_up(uint64_t token, const std::string& domain, std::string& why,
                             clock::time_point now = clock::now());

  /// Every waiting job, removed (the domain is gone).
  std::list<job> take_all();

private:
  std::list<job> waiting_; // (a deque would allocate 600 bytes up front in every domain)
  bool busy_ = false;
  bool draining_ = false;
  std::string running_;                        // what runs, for busy messages
  std::optional<protocol::proc> running_proc_; // the running job's; none for a hold
  clock::time_point running_since_{};
  uint64_t next_token_ = 0;
};

} // namespace domus::runtime
