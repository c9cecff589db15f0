// rpc_bench: request round trips and throughput against a running domusd, through the
// client library (what domsh and every C++ client use).
//
//   rpc_bench --socket PATH [--uri URI] [--requests N] [--cycles N]
//   rpc_bench --socket PATH --defines N --clients C [--prefix P] [--then-undefine 1]
//             (one row: durable defines)
//   rpc_bench --socket PATH --compare 1 [--cycle-uri URI]   (benchmarks/compare.sh)
//   rpc_bench --socket PATH --list-latency N   (one row: domain.list)
//   rpc_bench --socket PATH --repeat lookup|suspend --requests N   (one path, to profile)
//   rpc_bench --socket PATH --large-defines BYTES   (defines of definitions of BYTES/4,
//     BYTES/2 and BYTES, disks mostly, each timed while lookups on another connection
//     are timed too: the largest definition the limits accept, and its cost curve)
//   --json 1 prints JSON lines for benchmarks/compare.py instead of markdown rows.
//
// Prints one markdown row per scenario: latency of one request at a time (p50, p99),
// pipelined throughput with 1 and 4 clients (64 requests in flight each), and
// define-start-destroy-undefine cycles per second.
#include <domus/protocol/client.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <map>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

using namespace domus::protocol;
using clock_type = std::chrono::steady_clock;

namespace {

struct settings {
  std::string socket;
  std::string uri = "test:///default";
  int requests = 20000;
  int cycles = 2000;
  std::string cycle_uri; ///< --cycle-uri: where the cycles run (default: uri)
  int defines = 0;       ///< --defines N: only the persistent define scenario
  int clients = 1;       ///< its clients
  std::string prefix = "def-";
  bool compare = false; ///< --compare 1: the side-by-side scenarios, JSON lines
  int list_latency = 0; ///< --list-latency N: N timed domain.list calls, one JSON row
  /// --then-undefine 1: the defines mode removes its domains after (untimed)
  bool then_undefine = false;
  /// --repeat lookup|suspend: that path alone, one request at a time (to profile)
  std::string repeat;
  /// --large-defines BYTES: defines of large definitions, and lookups beside them
  int large_defines = 0;
};

double percentile(std::vector<double>& v, double p) {
  if (v.empty())
    return 0;
  std::sort(v.begin(), v.end());
  size_t i = static_cast<size_t>(p * static_cast<double>(v.size() - 1));
  return v[i];
}

double us_since(clock_type::time_point t) {
  return std::chrono::duration<double, std::micro>(clock_type::now() - t).count();
}

bool json_rows = false; // --compare: JSON lines for benchmarks/compare.py

void row(const std::string& scenario, const std::string& clients, double p50, double p99,
         double rate) {
  if (json_rows) {
    std::printf("%s\n", json{{"side", "domus"},
                             {"scenario", scenario},
                             {"clients", std::stoi(clients)},
                             {"p50_us", p50},
                             {"p99_us", p99},
                             {"per_second", rate}}
                            .dump()
                            .c_str());
    std::fflush(stdout);
    return;
  }
  std::printf("| %s | %s | %.0f | %.0f | %.0f |\n", scenario.c_str(), clients.c_str(),
              p50, p99, rate);
  std::fflush(stdout);
}

// The row of a scenario whose clients recorded these latencies since `start`.
void summarize(const std::string& scenario, int clients,
               const std::vector<std::vector<double>>& lats,
               clock_type::time_point start) {
  double secs = us_since(start) / 1e6;
  std::vector<double> all;
  for (auto& l : lats)
    all.insert(all.end(), l.begin(), l.end());
  row(scenario, std::to_string(clients), percentile(all, 0.5), percentile(all, 0.99),
      static_cast<double>(all.size()) / secs);
}

json args_for(const std::string& proc) {
  return proc == "domain.list" ? json::object() : json{{"domain", "test"}};
}

// One request at a time.
void latency(const settings& s, const std::string& proc, int n) {
  connection c(s.socket, false);
  std::vector<double> lat;
  lat.reserve(static_cast<size_t>(n));
  for (int i = 0; i < 200; ++i) // warm up
    c.call(s.uri, proc, args_for(proc), std::chrono::seconds(10));
  auto start = clock_type::now();
  for (int i = 0; i < n; ++i) {
    auto t = clock_type::now();
    auto r = c.call(s.uri, proc, args_for(proc), std::chrono::seconds(10));
    if (!r.ok) {
      std::fprintf(stderr, "%s failed: %s\n", proc.c_str(), r.message.c_str());
      std::exit(1);
    }
    lat.push_back(us_since(t));
  }
  double secs = us_since(start) / 1e6;
  row(proc + ", one at a time", "1", percentile(lat, 0.5), percentile(lat, 0.99),
      n / secs);
}

// `clients` connections, each keeping `window` requests in flight.
void pipelined(const settings& s, const std::string& proc, int clients, int window,
               int n) {
  std::vector<std::vector<double>> lats(static_cast<size_t>(clients));
  std::atomic<int> ready{0};
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  for (int k = 0; k < clients; ++k) {
    threads.emplace_back([&, k] {
      connection c(s.socket, false);
      c.call(s.uri, proc, args_for(proc), std::chrono::seconds(10));
      ++ready;
      while (!go)
        std::this_thread::yield();
      std::unordered_map<int64_t, clock_type::time_point> sent;
      int per_client = n / clients;
      int issued = 0, done = 0;
      auto& lat = lats[static_cast<size_t>(k)];
      lat.reserve(static_cast<size_t>(per_client));
      while (done < per_client) {
        while (issued < per_client && issued - done < window) {
          int64_t id = c.send(s.uri, proc, args_for(proc));
          sent[id] = clock_type::now();
          ++issued;
        }
        auto r = c.receive(std::chrono::seconds(10));
        if (!r || !r->ok || !r->id) {
          std::fprintf(stderr, "pipelined %s failed\n", proc.c_str());
          std::exit(1);
        }
        lat.push_back(us_since(sent[*r->id]));
        sent.erase(*r->id);
        ++done;
      }
    });
  }
  while (ready < clients)
    std::this_thread::yield();
  auto start = clock_type::now();
  go = true;
  for (auto& t : threads)
    t.join();
  summarize(proc + ", " + std::to_string(window) + " in flight", clients, lats, start);
}

// The test guest every scenario defines.
std::string guest_xml(const std::string& name) {
  return "<domain type='test'><name>" + name +
         "</name><memory unit='MiB'>64</memory><vcpu>1</vcpu>"
         "<os><type>hvm</type></os></domain>";
}

// A call that must succeed: a failure ends the benchmark, naming it.
void must(connection& c, const std::string& uri, const std::string& proc,
          const json& args, const std::string& name, std::chrono::seconds timeout) {
  auto r = c.call(uri, proc, args, timeout);
  if (!r.ok) {
    std::fprintf(stderr, "%s %s failed: %s\n", proc.c_str(), name.c_str(),
                 r.message.c_str());
    std::exit(1);
  }
}

// Runs body(k, connection, latencies) on `clients` threads at once, each with its own
// connection, then writes the scenario's row.
template <class Body>
void on_clients(const settings& s, const std::string& scenario, int clients, Body body) {
  std::vector<std::thread> threads;
  std::vector<std::vector<double>> lats(static_cast<size_t>(clients));
  auto start = clock_type::now();
  for (int k = 0; k < clients; ++k)
    threads.emplace_back([&, k] {
      connection c(s.socket, false);
      body(k, c, lats[static_cast<size_t>(k)]);
    });
  for (auto& t : threads)
    t.join();
  summarize(scenario, clients, lats, start);
}

// define, start, destroy, undefine of fresh domains, one request at a time per client.
void cycles(const settings& s, int clients, int n) {
  const std::string uri = s.cycle_uri.empty() ? s.uri : s.cycle_uri;
  on_clients(
      s, "define+start+destroy+undefine cycle", clients,
      [&](int k, connection& c, std::vector<double>& lat) {
        for (int i = 0; i < n / clients; ++i) {
          std::string name = "bench-" + std::to_string(k) + "-" + std::to_string(i);
          auto t = clock_type::now();
          must(c, uri, "domain.define", {{"xml", guest_xml(name)}}, name,
               std::chrono::seconds(10));
          for (const char* proc : {"domain.start", "domain.destroy", "domain.undefine"})
            must(c, uri, proc, {{"domain", name}}, name, std::chrono::seconds(10));
          lat.push_back(us_since(t));
        }
      });
}

// Persistent defines: each client defines its share of n domains one at a time, every
// definition written durably before its answer (the store groups concurrent ones).
void defines(const settings& s, int clients, int n, const std::string& prefix) {
  // Client k's share of the n domains, and their names.
  auto share = [&](int k) { return n / clients + (k < n % clients); };
  auto name_of = [&](int k, int i) {
    return prefix + std::to_string(k) + "-" + std::to_string(i);
  };
  on_clients(s, "domain.define, durable", clients,
             [&](int k, connection& c, std::vector<double>& lat) {
               for (int i = 0; i < share(k); ++i) {
                 std::string name = name_of(k, i);
                 auto t = clock_type::now();
                 must(c, s.uri, "domain.define", {{"xml", guest_xml(name)}}, name,
                      std::chrono::seconds(30));
                 lat.push_back(us_since(t));
               }
             });
  if (!s.then_undefine)
    return;
  connection c(s.socket, false); // untimed: leave the instance as it was
  for (int k = 0; k < clients; ++k)
    for (int i = 0; i < share(k); ++i) {
      std::string name = name_of(k, i);
      must(c, s.uri, "domain.undefine", {{"domain", name}}, name,
           std::chrono::seconds(30));
    }
}

// The lifecycle of n domains, each step separately: every client takes its share of the
// domains through the step with `window` requests in flight, all clients at once; one
// row per step.
void steps(const settings& s, int clients, int window, int n) {
  const std::string uri = s.cycle_uri.empty() ? s.uri : s.cycle_uri;
  for (std::string proc : {"domain.define", "domain.start", "domain.suspend",
                           "domain.resume", "domain.destroy", "domain.undefine"}) {
    on_clients(
        s, proc.substr(7) + " (lifecycle step), " + std::to_string(window) + " in flight",
        clients, [&](int k, connection& c, std::vector<double>& lat) {
          std::unordered_map<int64_t, std::pair<clock_type::time_point, std::string>>
              sent;
          for (int i = k; i < n || !sent.empty();) {
            while (i < n && static_cast<int>(sent.size()) < window) {
              std::string name = "step-" + std::to_string(i);
              json args = proc == "domain.define" ? json{{"xml", guest_xml(name)}}
                                                  : json{{"domain", name}};
              sent[c.send(uri, proc, args)] = {clock_type::now(), name};
              i += clients;
            }
            auto r = c.receive(std::chrono::seconds(30));
            auto it = r && r->id ? sent.find(*r->id) : sent.end();
            if (it == sent.end() || !r->ok) {
              std::fprintf(stderr, "%s %s failed: %s\n", proc.c_str(),
                           it == sent.end() ? "?" : it->second.second.c_str(),
                           r ? r->message.c_str() : "no reply");
              std::exit(1);
            }
            lat.push_back(us_since(it->second.first));
            sent.erase(it);
          }
        });
  }
}

// Events: one client starts and destroys a domain n times; `subscribers` subscribers
// (each with its own connection and handshake) record when each event arrives. Latency
// is from the start of the call that caused it; every subscriber must get all n.
void events(const settings& s, int subscribers, int n) {
  const std::string uri = s.cycle_uri.empty() ? s.uri : s.cycle_uri;
  connection c(s.socket, false);
  const std::string name = "events-" + std::to_string(subscribers);
  must(c, uri, "domain.define", {{"xml", guest_xml(name)}}, name,
       std::chrono::seconds(10));
  std::vector<std::unique_ptr<connection>> conns;
  std::vector<std::unique_ptr<subscriber>> subs;
  for (int k = 0; k < subscribers; ++k) {
    conns.push_back(std::make_unique<connection>(s.socket, false));
    subs.push_back(std::make_unique<subscriber>(
        *conns.back(), std::vector<std::string>{"domain.lifecycle"}));
    subs.back()->handshake(std::chrono::seconds(5));
  }
  std::vector<clock_type::time_point> sent(static_cast<size_t>(n));
  std::vector<std::vector<clock_type::time_point>> got(static_cast<size_t>(subscribers));
  std::atomic<bool> done{false};
  std::vector<std::thread> threads;
  for (int k = 0; k < subscribers; ++k)
    threads.emplace_back([&, k] {
      auto& mine = got[static_cast<size_t>(k)];
      while (static_cast<int>(mine.size()) < n) {
        auto m = subs[static_cast<size_t>(k)]->next(std::chrono::milliseconds(200));
        if (!m) {
          if (done)
            break; // nothing more is coming: the rest were lost
          continue;
        }
        if (m->body["domain"].value("name", "") == name)
          mine.push_back(clock_type::now());
      }
    });
  auto start = clock_type::now();
  for (int i = 0; i < n; ++i) {
    sent[static_cast<size_t>(i)] = clock_type::now();
    auto r = c.call(uri, i % 2 ? "domain.destroy" : "domain.start", {{"domain", name}},
                    std::chrono::seconds(10));
    if (!r.ok) {
      std::fprintf(stderr, "events: %s\n", r.message.c_str());
      std::exit(1);
    }
  }
  done = true;
  for (auto& t : threads)
    t.join();
  double secs = us_since(start) / 1e6;
  std::vector<double> lat;
  size_t received = 0;
  for (auto& mine : got) {
    received += mine.size();
    for (size_t i = 0; i < mine.size(); ++i)
      lat.push_back(std::chrono::duration<double, std::micro>(mine[i] - sent[i]).count());
  }
  double lost = static_cast<double>(static_cast<size_t>(n) * got.size() - received);
  std::printf("%s\n", json{{"side", "domus"},
                           {"scenario", "event, from call start to receipt"},
                           {"clients", subscribers},
                           {"p50_us", percentile(lat, 0.5)},
                           {"p99_us", percentile(lat, 0.99)},
                           {"per_second", static_cast<double>(received) / secs},
                           {"lost", lost}}
                          .dump()
                          .c_str());
  std::fflush(stdout);
  c.call(uri, "domain.undefine", {{"domain", name}}, std::chrono::seconds(10));
}

// What benchmarks/compare.sh runs on both sides: the same clients with the same
// requests in flight (one, or four per client; libvirt's side runs a thread per request
// in flight, its API being synchronous).
void compare(const settings& s) {
  for (std::string proc : {"domain.lookup", "domain.info"}) {
    for (int clients : {1, 4, 16})
      pipelined(s, proc, clients, 1, s.requests);
    for (int clients : {4, 16})
      pipelined(s, proc, clients, 4, s.requests);
  }
  for (int clients : {1, 4, 16})
    steps(s, clients, 1, 1000);
  for (int clients : {4, 16})
    steps(s, clients, 4, 1000);
  for (int subscribers : {1, 10})
    events(s, subscribers, 2000);
}

} // namespace

// A definition of about `bytes`, formatted as Domus stores it: disks, each on a bus
// target of its own (vda, vdb, ...).
std::string large_definition(const std::string& name, size_t bytes) {
  auto disk_name = [](size_t i) {
    std::string s;
    for (++i; i > 0; i = (i - 1) / 26)
      s.insert(s.begin(), static_cast<char>('a' + (i - 1) % 26));
    return "vd" + s;
  };
  std::string xml = "<domain type='test'>\n  <name>" + name +
                    "</name>\n  <memory unit='KiB'>1048576</memory>\n  <os>\n    "
                    "<type>hvm</type>\n  </os>\n  <devices>\n";
  for (size_t i = 0; xml.size() + 200 < bytes; ++i)
    xml += "    <disk type='file' device='disk'>\n      <source file='/var/lib/domus/"
           "images/" +
           std::to_string(i) + ".qcow2'/>\n      <target dev='" + disk_name(i) +
           "' bus='virtio'/>\n    </disk>\n";
  return xml + "  </devices>\n</domain>\n";
}

// Each size three times (a fresh name each, median kept), and the slowest lookup of
// `test` another connection saw meanwhile.
void large_defines(const settings& s, size_t max_bytes) {
  std::printf(
      "| definition | disks | define, median of 3 | slowest lookup beside it |\n");
  std::printf("|---|---|---|---|\n");
  connection c(s.socket, false);
  for (size_t bytes : {max_bytes / 4, max_bytes / 2, max_bytes}) {
    std::vector<double> ms;
    double slowest = 0;
    size_t disks = 0;
    for (int run = 0; run < 3; ++run) {
      std::string name = "large-" + std::to_string(bytes) + "-" + std::to_string(run);
      std::string xml = large_definition(name, bytes);
      disks = static_cast<size_t>(std::count(xml.begin(), xml.end(), '<')) / 4;
      std::atomic<bool> done{false};
      std::thread beside([&] {
        connection other(s.socket, false);
        while (!done) {
          auto t = clock_type::now();
          other.call(s.uri, "domain.lookup", json{{"domain", "test"}},
                     std::chrono::seconds(10));
          slowest = std::max(slowest, us_since(t) / 1000);
        }
      });
      auto t = clock_type::now();
      auto r =
          c.call(s.uri, "domain.define", json{{"xml", xml}}, std::chrono::seconds(60));
      ms.push_back(us_since(t) / 1000);
      done = true;
      beside.join();
      if (!r.ok) {
        std::fprintf(stderr, "define of %zu bytes failed: %s\n", bytes,
                     r.message.c_str());
        return;
      }
      c.call(s.uri, "domain.undefine", json{{"domain", name}}, std::chrono::seconds(60));
    }
    std::printf("| %zu KiB | %zu | %.0f ms | %.1f ms |\n", bytes / 1024, disks,
                percentile(ms, 0.5), slowest);
  }
}

int main(int argc, char** argv) {
  settings s;
  // Every option takes a value: one row each.
  using setter = std::function<void(const char*)>;
  const std::map<std::string, setter> options = {
      {"--socket", [&](const char* v) { s.socket = v; }},
      {"--uri", [&](const char* v) { s.uri = v; }},
      {"--requests", [&](const char* v) { s.requests = std::atoi(v); }},
      {"--cycles", [&](const char* v) { s.cycles = std::atoi(v); }},
      {"--cycle-uri", [&](const char* v) { s.cycle_uri = v; }},
      {"--defines", [&](const char* v) { s.defines = std::atoi(v); }},
      {"--clients", [&](const char* v) { s.clients = std::atoi(v); }},
      {"--prefix", [&](const char* v) { s.prefix = v; }},
      {"--compare", [&](const char* v) { s.compare = std::string(v) == "1"; }},
      {"--list-latency", [&](const char* v) { s.list_latency = std::atoi(v); }},
      {"--then-undefine",
       [&](const char* v) { s.then_undefine = std::string(v) == "1"; }},
      {"--json", [&](const char* v) { json_rows = std::string(v) == "1"; }},
      {"--repeat", [&](const char* v) { s.repeat = v; }},
      {"--large-defines", [&](const char* v) { s.large_defines = std::atoi(v); }},
  };
  for (int i = 1; i + 1 < argc; i += 2) {
    auto it = options.find(argv[i]);
    if (it == options.end()) {
      std::fprintf(stderr, "unknown option %s\n", argv[i]);
      return 2;
    }
    it->second(argv[i + 1]);
  }
  if (s.socket.empty()) {
    std::fprintf(stderr, "usage: rpc_bench --socket PATH [--uri URI] [--requests N] "
                         "[--cycles N]\n");
    return 2;
  }
  if (s.defines > 0) {
    defines(s, s.clients, s.defines, s.prefix);
    return 0;
  }
  if (s.large_defines > 0) {
    large_defines(s, static_cast<size_t>(s.large_defines));
    return 0;
  }
  if (!s.repeat.empty()) {
    // One path alone, one request at a time, for a profiler attached to the daemon:
    // lookups of `test`, or suspend and resume of `test` (running in test:///default).
    connection c(s.socket, false);
    std::vector<double> lat;
    auto start = clock_type::now();
    for (int i = 0; i < s.requests; ++i) {
      std::string proc = s.repeat == "lookup" ? "domain.lookup"
                         : i % 2              ? "domain.resume"
                                              : "domain.suspend";
      auto t = clock_type::now();
      must(c, s.uri, proc, {{"domain", "test"}}, "test", std::chrono::seconds(10));
      lat.push_back(us_since(t));
    }
    summarize(s.repeat + ", one at a time", 1, {lat}, start);
    return 0;
  }
  if (s.compare) {
    json_rows = true;
    compare(s);
    return 0;
  }
  if (s.list_latency > 0) {
    connection c(s.socket, false);
    // The whole list, page by page as the daemon cuts them (max_reply_bytes).
    auto list_all = [&] {
      size_t n = 0;
      json args = json::object();
      while (true) {
        auto r = c.call(s.uri, "domain.list", args, std::chrono::seconds(60));
        if (!r.ok)
          break;
        n += r.result["domains"].size();
        if (!r.result.contains("next"))
          break;
        args["after"] = r.result["next"];
      }
      return n;
    };
    size_t n = list_all();
    std::vector<double> lat;
    for (int i = 0; i < s.list_latency; ++i) {
      auto t = clock_type::now();
      list_all();
      lat.push_back(us_since(t));
    }
    std::printf("%s\n",
                json{{"side", "domus"},
                     {"scenario", "domain.list, " + std::to_string(n) + " domains"},
                     {"clients", 1},
                     {"p50_us", percentile(lat, 0.5)}}
                    .dump()
                    .c_str());
    return 0;
  }
  std::printf("| scenario | clients | p50 us | p99 us | per second |\n");
  std::printf("|---|---|---|---|---|\n");
  for (std::string proc : {"domain.lookup", "domain.info"}) {
    latency(s, proc, s.requests / 5);
    pipelined(s, proc, 1, 64, s.requests);
    pipelined(s, proc, 4, 64, s.requests);
  }
  cycles(s, 1, s.cycles);
  cycles(s, 4, s.cycles);
  return 0;
}
