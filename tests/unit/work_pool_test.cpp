// Blocking work (domus_host_v1.queue_work): off the loop, bounded, cancellable before it
// begins, and never holding up the daemon's stop.
#include <boost/test/unit_test.hpp>

#include "drivers/host_services.hpp"
#include "drivers/work_pool.hpp"
#include "gateway/event_loop.hpp"

#include <domus/driver_v1.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

using namespace domus::runtime;

namespace {

// Work that blocks until the test opens the gate, and counts what happened.
struct gate {
  std::mutex m;
  std::condition_variable cv;
  bool open = false;
  int started = 0;
  int ended = 0;
  std::vector<int32_t> done; // statuses, in order of completion
  bool done_on_loop = true;
  event_loop* loop = nullptr;

  void release() {
    std::lock_guard<std::mutex> lock(m);
    open = true;
    cv.notify_all();
  }
  // Polls (with a bound) until pred holds.
  template <class P> bool wait_until(P pred) {
    std::unique_lock<std::mutex> lock(m);
    return cv.wait_for(lock, std::chrono::seconds(10), [&] { return pred(); });
  }
};

void blocking(void* arg) {
  auto* g = static_cast<gate*>(arg);
  std::unique_lock<std::mutex> lock(g->m);
  ++g->started;
  g->cv.notify_all();
  g->cv.wait(lock, [g] { return g->open; });
  ++g->ended;
  g->cv.notify_all();
}

void finished(void* arg, int32_t status) {
  auto* g = static_cast<gate*>(arg);
  std::lock_guard<std::mutex> lock(g->m);
  g->done.push_back(status);
  if (!g->loop->in_loop_thread())
    g->done_on_loop = false;
  g->cv.notify_all();
}

} // namespace

BOOST_AUTO_TEST_SUITE(work_pool_suite)

// Work runs on a worker thread while the loop goes on; its done runs on the loop.
BOOST_AUTO_TEST_CASE(work_runs_off_the_loop_and_completes_on_it) {
  event_loop loop;
  loop.start();
  host_services host(loop, "test:///work");
  const domus_host_v1* t = host.table();
  BOOST_TEST_REQUIRE(DOMUS_REACHES(t, domus_host_v1, cancel_work));
  gate g;
  g.loop = &loop;
  uint64_t w = t->queue_work(t->ctx, blocking, finished, &g);
  BOOST_TEST_REQUIRE(w != 0u);
  BOOST_TEST(g.wait_until([&] { return g.started == 1; }));
  // The loop is free while the work blocks.
  std::atomic<bool> ran{false};
  loop.post([&] {
    ran = true;
    g.cv.notify_all();
  });
  BOOST_TEST(g.wait_until([&] { return ran.load(); }));
  BOOST_TEST(g.done.empty());
  g.release();
  BOOST_TEST(g.wait_until([&] { return g.done.size() == 1; }));
  BOOST_TEST(g.done[0] == 0);
  BOOST_TEST(g.done_on_loop);
  BOOST_TEST(t->cancel_work(t->ctx, w) == -ENOENT);
  BOOST_TEST(host.stop_work(std::chrono::seconds(10)));
  loop.stop();
}

// DOMUS_WORK_THREADS run at once; DOMUS_WORK_MAX_ITEMS wait or run, one more is refused;
// cancel takes back a waiting item (its done gets -ECANCELED), not a running one.
BOOST_AUTO_TEST_CASE(work_is_bounded_and_cancellable_until_it_begins) {
  event_loop loop;
  loop.start();
  host_services host(loop, "test:///work");
  const domus_host_v1* t = host.table();
  gate g;
  g.loop = &loop;
  std::vector<uint64_t> items;
  for (int i = 0; i < DOMUS_WORK_MAX_ITEMS; ++i) {
    items.push_back(t->queue_work(t->ctx, blocking, finished, &g));
    BOOST_TEST_REQUIRE(items.back() != 0u);
  }
  BOOST_TEST(t->queue_work(t->ctx, blocking, finished, &g) == 0u); // one past the bound
  BOOST_TEST(g.wait_until([&] { return g.started == DOMUS_WORK_THREADS; }));
  {
    std::lock_guard<std::mutex> lock(g.m);
    BOOST_TEST(g.started == DOMUS_WORK_THREADS); // no more than that run at once
  }
  BOOST_TEST(t->cancel_work(t->ctx, items.front()) == -EBUSY); // runs
  BOOST_TEST(t->cancel_work(t->ctx, items.back()) == 0);       // waits
  BOOST_TEST(t->cancel_work(t->ctx, items.back()) == -ENOENT);
  BOOST_TEST(t->cancel_work(t->ctx, 0) == -ENOENT);
  BOOST_TEST(g.wait_until([&] { return g.done.size() == 1; }));
  BOOST_TEST(g.done[0] == -ECANCELED);
  // At the bound again after the cancel: one more fits, and the next does not.
  BOOST_TEST(t->queue_work(t->ctx, blocking, finished, &g) != 0u);
  BOOST_TEST(t->queue_work(t->ctx, blocking, finished, &g) == 0u);
  g.release();
  BOOST_TEST(g.wait_until(
      [&] { return g.done.size() == static_cast<size_t>(DOMUS_WORK_MAX_ITEMS) + 1; }));
  BOOST_TEST(g.started == DOMUS_WORK_MAX_ITEMS);
  BOOST_TEST(g.done_on_loop);
  BOOST_TEST(host.stop_work(std::chrono::seconds(10)));
  loop.stop();
}

// The daemon's stop: waiting work is cancelled, running work gets a grace; work stuck
// past it is left behind (stop says so) and nothing more is taken.
BOOST_AUTO_TEST_CASE(stop_cancels_what_waits_and_leaves_stuck_work_behind) {
  event_loop loop;
  loop.start();
  auto g = std::make_shared<gate>(); // outlives the test: the stuck thread holds it
  g->loop = &loop;
  {
    work_pool pool(loop, "test:///work", 1, 8);
    BOOST_TEST(pool.queue(blocking, finished, g.get()) != 0u);
    BOOST_TEST(pool.queue(blocking, finished, g.get()) != 0u);
    BOOST_TEST(g->wait_until([&] { return g->started == 1; }));
    BOOST_TEST(pool.items() == 2u);
    BOOST_TEST(!pool.stop(std::chrono::milliseconds(50)));
    BOOST_TEST(g->wait_until([&] { return g->done.size() == 1; }));
    BOOST_TEST(g->done[0] == -ECANCELED);
    BOOST_TEST(pool.queue(blocking, finished, g.get()) == 0u);
  }
  // The pool is gone; the stuck work ends now and must not touch it or post its done.
  g->release();
  BOOST_TEST(g->wait_until([&] { return g->ended == 1; }));
  loop.stop();
  std::lock_guard<std::mutex> lock(g->m);
  BOOST_TEST(g->started == 1);
  BOOST_TEST(g->done.size() == 1u); // the stuck item's done was never posted
}

BOOST_AUTO_TEST_SUITE_END()
