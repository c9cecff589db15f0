// Micro-benchmarks (Google Benchmark): what one request costs before it reaches an actor.
// The domain XML path (parse, check and normalize, format) over libvirt's conformance
// domains, the protocol codec, one CAF actor hop, a deadline, the orphan reaper's look.
// Run: build-release/bin/micro_bench (benchmarks/run.sh runs it and docs/benchmarks.md
// records the figures).
#include <benchmark/benchmark.h>

#include <caf/all.hpp>

#include "drivers/deadline_clock.hpp"
#include "drivers/process_watch.hpp"

#include <domus/model/domain_def.hpp>
#include <domus/protocol/codec.hpp>

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <dirent.h>
#include <fstream>
#include <sstream>
#include <string>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The corpus's valid domains: NAME.in.xml with an NAME.out.xml beside it.
std::vector<std::pair<std::string, std::string>> corpus_domains() {
  const char* env = std::getenv("DOMUS_CONFORMANCE_DIR");
  std::string dir = std::string(env ? env : DOMUS_CONFORMANCE_DIR) + "/domain/";
  std::vector<std::pair<std::string, std::string>> out;
  if (DIR* d = opendir(dir.c_str())) {
    while (dirent* e = readdir(d)) {
      std::string n = e->d_name;
      const std::string suffix = ".out.xml";
      if (n.size() > suffix.size() &&
          n.compare(n.size() - suffix.size(), suffix.size(), suffix) == 0) {
        std::string name = n.substr(0, n.size() - suffix.size());
        out.emplace_back(name, read_file(dir + name + ".in.xml"));
      }
    }
    closedir(d);
  }
  std::sort(out.begin(), out.end());
  return out;
}

// What define does to a document: parse, check, normalize, format.
void domain_round_trip(benchmark::State& state, const std::string& xml) {
  for (auto _ : state) {
    auto def = domus::model::parse_domain(xml, "bench.xml");
    domus::model::normalize(def);
    benchmark::DoNotOptimize(
        domus::model::format_domain(def, domus::model::secrets::keep));
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["lines"] = static_cast<double>(std::count(xml.begin(), xml.end(), '\n'));
}

void domain_parse(benchmark::State& state, const std::string& xml) {
  for (auto _ : state)
    benchmark::DoNotOptimize(domus::model::parse_domain(xml, "bench.xml"));
  state.SetItemsProcessed(state.iterations());
}

void domain_format(benchmark::State& state, const std::string& xml) {
  auto def = domus::model::parse_domain(xml, "bench.xml");
  domus::model::normalize(def);
  for (auto _ : state)
    benchmark::DoNotOptimize(
        domus::model::format_domain(def, domus::model::secrets::keep));
  state.SetItemsProcessed(state.iterations());
}

void codec_request(benchmark::State& state) {
  std::string frame = domus::protocol::encode_request(
      42, "test:///default", "domain.info", {{"domain", "web1"}});
  for (auto _ : state) {
    auto r = domus::protocol::decode_request(frame);
    benchmark::DoNotOptimize(r);
    benchmark::DoNotOptimize(domus::protocol::encode_reply(
        42, {{"name", "web1"}, {"state", "running"}, {"id", 7}}));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(codec_request);

// One CAF actor hop and back, with the scheduler the daemon ships with ("sharing", two
// workers): a blocking caller sends a number to an event-based actor and waits for its
// answer. The daemon's requests take one hop each way between the event loop and an
// actor (a mutex queue and an eventfd on the way back, which floor_bench measures).
void actor_hop(benchmark::State& state) {
  caf::actor_system_config cfg;
  cfg.set("scheduler.policy", caf::atom("sharing"));
  cfg.set("scheduler.max-threads", size_t{2});
  caf::actor_system sys{cfg};
  auto echo =
      sys.spawn([]() -> caf::behavior { return {[](uint64_t x) { return x + 1; }}; });
  caf::scoped_actor self{sys};
  uint64_t n = 0;
  for (auto _ : state)
    self->request(echo, caf::infinite, n)
        .receive([&](uint64_t r) { n = r; },
                 [&](caf::error&) { state.SkipWithError("the actor did not answer"); });
  self->send_exit(echo, caf::exit_reason::user_shutdown);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(actor_hop)->UseRealTime();

// What a driver call's deadline costs when the call completes in time (almost every
// call): arm it on the daemon's deadline clock, then disarm it. The fire function
// captures what the runtime's does (an actor handle, a shared slot, two numbers).
// Goal: under 2 us.
void deadline_arm_disarm(benchmark::State& state) {
  domus::runtime::deadline_clock clock;
  auto slot = std::make_shared<int>(0);
  caf::actor target;
  uint64_t generation = 1, id = 0;
  for (auto _ : state) {
    auto armed = clock.arm(
        domus::runtime::deadline_clock::clock::now() + std::chrono::seconds(120),
        [target, slot, generation, id] { benchmark::DoNotOptimize(id + generation); });
    benchmark::DoNotOptimize(clock.disarm(armed));
    ++id;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(deadline_arm_disarm);

// What the daemon does on each SIGCHLD (it is a subreaper): look for exited orphans to
// reap. Measured with one child running and none exited, the common case (a guest's
// process alive, another child's exit just reaped by its own watch).
void reap_orphans_none_exited(benchmark::State& state) {
  pid_t child = ::fork();
  if (child == 0) {
    ::pause();
    ::_exit(0);
  }
  for (auto _ : state)
    benchmark::DoNotOptimize(domus::runtime::reap_orphans());
  ::kill(child, SIGKILL);
  int status;
  ::waitpid(child, &status, 0);
}
BENCHMARK(reap_orphans_none_exited);

} // namespace

int main(int argc, char** argv) {
  auto domains = corpus_domains();
  for (auto& [name, xml] : domains) {
    benchmark::RegisterBenchmark(("domain_round_trip/" + name).c_str(), domain_round_trip,
                                 xml);
    // The typical 60-line domain of the goal, in its parts.
    if (name == "x86_64-pc-graphics") {
      benchmark::RegisterBenchmark(("domain_parse/" + name).c_str(), domain_parse, xml);
      benchmark::RegisterBenchmark(("domain_format/" + name).c_str(), domain_format, xml);
    }
  }
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
