// floor_bench: what the stack under domusd allows on this machine, measured in the same
// run as the daemon, so that each Domus figure can be read against its floor.
//
//   floor_bench --mode echo|json|hop --clients C --window W --requests N
//               [--policy sharing|stealing]
//   floor_bench --mode commit --clients C --files N --size BYTES --dir DIR
//   floor_bench --mode stream|stream-threads --src FILE --dst FILE [--window W]
//
// echo:   DEALER clients, a ROUTER that sends each request back (ZeroMQ over ipc alone);
// json:   the same, and the request is JSON-encoded by the client and decoded by the
//         server, which encodes a 12-field reply the client decodes (the codec's work);
// hop:    the same, and the server thread hands each request to a CAF actor, which
//         encodes the reply and hands it back through a mutex queue and an eventfd (the
//         one hop every daemon request takes: gateway, domain actor, gateway);
// commit: durable files in groups of C (the clients of the daemon's scenario): temporary
//         files, one flush per group (fdatasync per file for up to 2, else syncfs),
//         renames, one fsync of the directory (the daemon's store discipline, nothing
//         else).
// stream: SRC sent in 256 KiB chunks from a DEALER to a ROUTER in another process (two
//         processes, each with its own ZeroMQ I/O thread, as a client and the daemon)
//         that sends each back, at most W chunks (8) in flight, and written to DST: the
//         same bytes, the same way, as stream_bench through the daemon, over bare ZeroMQ
//         ipc;
// stream-threads: the same with the ROUTER a thread of the same process (one I/O thread
//         for both ends: cheaper than any client and daemon can be).
//
// Prints one JSON line: side "floor", its scenario, clients, p50_us, p99_us, per_second.
#include <caf/all.hpp>
#include <nlohmann/json.hpp>
#include <zmq.hpp>
#include <zmq_addon.hpp>

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

using json = nlohmann::json;
using clock_type = std::chrono::steady_clock;

namespace {

struct settings {
  std::string mode;
  int clients = 1;
  int window = 1;
  int requests = 4000;
  std::string policy = "sharing"; ///< the daemon's default
  int files = 1000;
  size_t size = 600;
  std::string dir;
  std::string src, dst;
};

double us_since(clock_type::time_point t) {
  return std::chrono::duration<double, std::micro>(clock_type::now() - t).count();
}

double percentile(std::vector<double> v, double p) {
  if (v.empty())
    return 0;
  std::sort(v.begin(), v.end());
  return v[static_cast<size_t>(p * static_cast<double>(v.size() - 1))];
}

void print_row(const std::string& scenario, int clients, const std::vector<double>& lat,
               double secs) {
  std::printf("%s\n", json{{"side", "floor"},
                           {"scenario", scenario},
                           {"clients", clients},
                           {"p50_us", percentile(lat, 0.5)},
                           {"p99_us", percentile(lat, 0.99)},
                           {"per_second", static_cast<double>(lat.size()) / secs}}
                          .dump()
                          .c_str());
  std::fflush(stdout);
}

// The reply the daemon sends for domain.info: twelve fields.
std::string info_reply(int64_t id) {
  return json{{"v", 1},
              {"id", id},
              {"ok", true},
              {"result",
               {{"name", "test"},
                {"uuid", "6695eb01-f6a4-8304-79aa-97f2502e193f"},
                {"id", 1},
                {"state", "running"},
                {"reason", "booted"},
                {"max_memory_kib", 8388608},
                {"memory_kib", 2097152},
                {"vcpus", 2},
                {"cpu_time_ns", 1000000},
                {"persistent", true},
                {"autostart", false},
                {"os_type", "hvm"}}}}
      .dump();
}

// ---- the server side
// -------------------------------------------------------------------

// Replies made by the actor, waiting for the server thread.
struct reply_queue {
  std::mutex mutex;
  std::vector<std::pair<uint64_t, std::string>> items;
  int wake = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);

  void push(uint64_t serial, std::string frame) {
    {
      std::lock_guard<std::mutex> lock(mutex);
      items.emplace_back(serial, std::move(frame));
    }
    uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(wake, &one, sizeof one);
  }
};

caf::behavior hop_actor(caf::event_based_actor*, reply_queue* q) {
  return {[q](uint64_t serial, int64_t id) { q->push(serial, info_reply(id)); }};
}

// The ROUTER and its loop: poll the socket (and the eventfd in hop mode), answer.
class server {
public:
  server(zmq::context_t& ctx, const std::string& endpoint, const settings& s)
      : s_(s), sock_(ctx, zmq::socket_type::router) {
    sock_.set(zmq::sockopt::sndhwm, 0);
    sock_.set(zmq::sockopt::rcvhwm, 0);
    sock_.set(zmq::sockopt::linger, 0);
    sock_.bind(endpoint);
    if (s.mode == "hop") {
      caf::actor_system_config cfg;
      cfg.set("scheduler.policy",
              s.policy == "sharing" ? caf::atom("sharing") : caf::atom("stealing"));
      system_ = std::make_unique<caf::actor_system>(cfg);
      actor_ = system_->spawn(hop_actor, &queue_);
    }
    thread_ = std::thread([this] { run(); });
  }

  ~server() {
    stop_ = true;
    thread_.join();
    if (actor_)
      caf::anon_send_exit(actor_, caf::exit_reason::user_shutdown);
  }

private:
  void run() {
    zmq::pollitem_t items[2] = {{sock_.handle(), 0, ZMQ_POLLIN, 0},
                                {nullptr, queue_.wake, ZMQ_POLLIN, 0}};
    int n = s_.mode == "hop" ? 2 : 1;
    while (!stop_) {
      zmq::poll(items, static_cast<size_t>(n), std::chrono::milliseconds(100));
      while (receive_one()) {
      }
      if (n == 2 && (items[1].revents & ZMQ_POLLIN))
        drain();
    }
  }

  bool receive_one() {
    std::vector<zmq::message_t> frames;
    if (!zmq::recv_multipart(sock_, std::back_inserter(frames),
                             zmq::recv_flags::dontwait))
      return false;
    if (s_.mode == "echo") {
      zmq::send_multipart(sock_, frames);
      return true;
    }
    json req = json::parse(frames.back().to_string_view());
    int64_t id = req.at("id").get<int64_t>();
    if (s_.mode == "json") {
      send(frames[0].to_string(), info_reply(id));
      return true;
    }
    uint64_t serial = next_serial_++;
    routes_.emplace(serial, frames[0].to_string());
    caf::anon_send(actor_, serial, id);
    return true;
  }

  void drain() {
    uint64_t count;
    [[maybe_unused]] auto r = ::read(queue_.wake, &count, sizeof count);
    std::vector<std::pair<uint64_t, std::string>> ready;
    {
      std::lock_guard<std::mutex> lock(queue_.mutex);
      ready.swap(queue_.items);
    }
    for (auto& [serial, frame] : ready) {
      auto it = routes_.find(serial);
      send(it->second, frame);
      routes_.erase(it);
    }
  }

  void send(const std::string& routing_id, const std::string& body) {
    std::array<zmq::const_buffer, 3> out{
        zmq::buffer(routing_id), zmq::const_buffer(nullptr, 0), zmq::buffer(body)};
    zmq::send_multipart(sock_, out);
  }

  const settings& s_;
  zmq::socket_t sock_;
  reply_queue queue_;
  std::unique_ptr<caf::actor_system> system_;
  caf::actor actor_;
  std::unordered_map<uint64_t, std::string> routes_;
  uint64_t next_serial_ = 1;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// ---- the client side
// -------------------------------------------------------------------

std::string request(int64_t id) {
  return json{{"v", 1},
              {"id", id},
              {"uri", "test:///default"},
              {"proc", "domain.info"},
              {"args", {{"domain", "test"}}}}
      .dump();
}

// One client: `n` requests, `window` in flight; returns each one's latency.
std::vector<double> client(zmq::context_t& ctx, const std::string& endpoint,
                           const settings& s, int n, std::atomic<int>& ready,
                           std::atomic<bool>& go) {
  zmq::socket_t sock(ctx, zmq::socket_type::dealer);
  sock.set(zmq::sockopt::linger, 0);
  sock.connect(endpoint);
  bool encode = s.mode != "echo";
  std::unordered_map<int64_t, clock_type::time_point> sent;
  int64_t next_id = 1;
  auto send_one = [&] {
    std::string body = encode ? request(next_id) : std::string(100, 'x');
    std::array<zmq::const_buffer, 2> out{zmq::const_buffer(nullptr, 0),
                                         zmq::buffer(body)};
    sent[encode ? next_id : 0] = clock_type::now();
    zmq::send_multipart(sock, out);
    ++next_id;
  };
  auto receive_one = [&]() -> double {
    std::vector<zmq::message_t> frames;
    if (!zmq::recv_multipart(sock, std::back_inserter(frames)))
      return -1;
    int64_t id = 0;
    if (encode)
      id = json::parse(frames.back().to_string_view()).at("id").get<int64_t>();
    double us = us_since(sent[id]);
    sent.erase(id);
    return us;
  };
  if (!encode && s.window != 1) {
    std::fprintf(stderr, "echo mode measures one request in flight per client\n");
    std::exit(2);
  }
  for (int i = 0; i < 200; ++i) { // warm up, and know the server is there
    send_one();
    receive_one();
  }
  ++ready;
  while (!go)
    std::this_thread::yield();
  std::vector<double> lat;
  lat.reserve(static_cast<size_t>(n));
  int issued = 0;
  while (static_cast<int>(lat.size()) < n) {
    while (issued < n && issued - static_cast<int>(lat.size()) < s.window) {
      send_one();
      ++issued;
    }
    lat.push_back(receive_one());
  }
  return lat;
}

const std::map<std::string, std::string> request_scenarios = {
    {"echo", "floor: ZeroMQ echo"},
    {"json", "floor: ZeroMQ + JSON"},
    {"hop", "floor: ZeroMQ + JSON + one actor hop"},
};

void requests(const settings& s) {
  char dir[] = "/tmp/domus-floor-XXXXXX";
  if (!mkdtemp(dir)) {
    std::perror("mkdtemp");
    std::exit(1);
  }
  std::string endpoint = std::string("ipc://") + dir + "/sock";
  zmq::context_t ctx{1};
  std::vector<std::vector<double>> lats(static_cast<size_t>(s.clients));
  double secs = 0;
  {
    server srv(ctx, endpoint, s);
    std::atomic<int> ready{0};
    std::atomic<bool> go{false};
    std::vector<std::thread> threads;
    for (int k = 0; k < s.clients; ++k)
      threads.emplace_back([&, k] {
        lats[static_cast<size_t>(k)] =
            client(ctx, endpoint, s, s.requests / s.clients, ready, go);
      });
    while (ready < s.clients)
      std::this_thread::yield();
    auto start = clock_type::now();
    go = true;
    for (auto& t : threads)
      t.join();
    secs = us_since(start) / 1e6;
  }
  ::unlink((std::string(dir) + "/sock").c_str());
  ::rmdir(dir);
  std::vector<double> all;
  for (auto& l : lats)
    all.insert(all.end(), l.begin(), l.end());
  print_row(request_scenarios.at(s.mode) + ", " + std::to_string(s.window) + " in flight",
            s.clients, all, secs);
}

// ---- durable files
// ---------------------------------------------------------------------

void must(bool ok, const char* what, const std::string& path) {
  if (!ok) {
    std::perror((std::string(what) + " " + path).c_str());
    std::exit(1);
  }
}

void sync_path(const std::string& path, bool whole_fs) {
  int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  must(fd >= 0, "open", path);
  must((whole_fs ? ::syncfs(fd) : ::fsync(fd)) == 0, "sync", path);
  ::close(fd);
}

void commit(const settings& s) {
  const std::string content(s.size, 'x');
  const size_t group = static_cast<size_t>(s.clients);
  std::vector<double> lat;
  auto start = clock_type::now();
  for (int first = 0; first < s.files; first += s.clients) {
    auto t = clock_type::now();
    std::vector<std::string> names;
    for (int i = first; i < std::min(s.files, first + s.clients); ++i)
      names.push_back(s.dir + "/floor-" + std::to_string(i) + ".xml");
    bool per_file = group <= 2;
    for (auto& name : names) {
      std::string tmp = name + ".tmp";
      int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
      must(fd >= 0, "open", tmp);
      must(::write(fd, content.data(), content.size()) ==
               static_cast<ssize_t>(content.size()),
           "write", tmp);
      if (per_file)
        must(::fdatasync(fd) == 0, "fdatasync", tmp);
      ::close(fd);
    }
    if (!per_file)
      sync_path(s.dir, true);
    for (auto& name : names)
      must(::rename((name + ".tmp").c_str(), name.c_str()) == 0, "rename", name);
    sync_path(s.dir, false);
    double us = us_since(t);
    for (size_t i = 0; i < names.size(); ++i)
      lat.push_back(us); // every file of the group is durable when the group is
  }
  double secs = us_since(start) / 1e6;
  for (int i = 0; i < s.files; ++i)
    ::unlink((s.dir + "/floor-" + std::to_string(i) + ".xml").c_str());
  print_row("floor: group commit of durable files", s.clients, lat, secs);
}

// Sends each message back until the client's empty one; false if a receive failed.
bool echo_chunks(zmq::socket_t& router) {
  for (;;) {
    std::vector<zmq::message_t> frames;
    if (!zmq::recv_multipart(router, std::back_inserter(frames)))
      return false;
    if (frames.size() == 2 && frames[1].size() == 0)
      return true; // the client is done
    zmq::send_multipart(router, frames);
  }
}

// in_process: the echoing end is a thread of this process, sharing its ZeroMQ I/O thread
// (stream-threads); else another process with its own (stream), as the daemon is.
void stream(const settings& s, bool in_process) {
  const size_t chunk_bytes = 262144;
  std::string endpoint = "ipc:///tmp/domus-floor-stream-" + std::to_string(::getpid());
  pid_t echo_pid = -1;
  if (!in_process) {
    // Forked before any context exists: a ZeroMQ context does not survive a fork.
    echo_pid = ::fork();
    must(echo_pid >= 0, "fork", "the echoing process");
    if (echo_pid == 0) {
      zmq::context_t ctx{1};
      zmq::socket_t router(ctx, zmq::socket_type::router);
      router.bind(endpoint);
      bool ok = echo_chunks(router);
      router.close();
      ctx.close();
      ::_exit(ok ? 0 : 1);
    }
  }
  zmq::context_t ctx{1};
  std::optional<zmq::socket_t> router;
  std::thread echo_thread;
  if (in_process) {
    router.emplace(ctx, zmq::socket_type::router);
    router->bind(endpoint);
    echo_thread = std::thread([&router] { echo_chunks(*router); });
  }
  zmq::socket_t dealer(ctx, zmq::socket_type::dealer);
  dealer.connect(endpoint);
  FILE* in = std::fopen(s.src.c_str(), "rb");
  FILE* out = std::fopen(s.dst.c_str(), "wb");
  must(in && out, "open", s.src + " or " + s.dst);
  std::string chunk(chunk_bytes, '\0');
  uint64_t received = 0;
  int in_flight = 0;
  bool eof = false;
  auto start = clock_type::now();
  while (!eof || in_flight > 0) {
    while (!eof && in_flight < s.window) {
      size_t n = std::fread(chunk.data(), 1, chunk.size(), in);
      if (n == 0) {
        eof = true;
        break;
      }
      dealer.send(zmq::const_buffer(chunk.data(), n));
      ++in_flight;
    }
    if (in_flight == 0)
      break;
    zmq::message_t back;
    if (!dealer.recv(back))
      break;
    std::fwrite(back.data(), 1, back.size(), out);
    received += back.size();
    --in_flight;
  }
  std::fflush(out);
  double secs = us_since(start) / 1e6;
  dealer.send(zmq::const_buffer(nullptr, 0));
  if (in_process) {
    echo_thread.join();
  } else {
    int status = 0;
    ::waitpid(echo_pid, &status, 0);
    must(WIFEXITED(status) && WEXITSTATUS(status) == 0, "wait", "the echoing process");
  }
  std::fclose(in);
  std::fclose(out);
  double mib = static_cast<double>(received) / (1 << 20);
  std::printf("%s\n",
              json{{"side", "floor"},
                   {"scenario", in_process ? "stream round trip, file to file, 256 KiB "
                                             "chunks, echoed by a thread"
                                           : "stream round trip, file to file, 256 KiB "
                                             "chunks"},
                   {"mib", mib},
                   {"seconds", secs},
                   {"mib_per_second", mib / secs}}
                  .dump()
                  .c_str());
}

} // namespace

int main(int argc, char** argv) {
  settings s;
  using setter = std::function<void(const char*)>;
  const std::map<std::string, setter> options = {
      {"--mode", [&](const char* v) { s.mode = v; }},
      {"--clients", [&](const char* v) { s.clients = std::max(1, std::atoi(v)); }},
      {"--window", [&](const char* v) { s.window = std::max(1, std::atoi(v)); }},
      {"--requests", [&](const char* v) { s.requests = std::atoi(v); }},
      {"--policy", [&](const char* v) { s.policy = v; }},
      {"--files", [&](const char* v) { s.files = std::atoi(v); }},
      {"--size", [&](const char* v) { s.size = static_cast<size_t>(std::atol(v)); }},
      {"--dir", [&](const char* v) { s.dir = v; }},
      {"--src", [&](const char* v) { s.src = v; }},
      {"--dst", [&](const char* v) { s.dst = v; }},
  };
  for (int i = 1; i < argc; i += 2) {
    auto it = options.find(argv[i]);
    if (it == options.end() || i + 1 >= argc) {
      std::fprintf(stderr, "floor_bench: unknown option or missing value: %s\n", argv[i]);
      return 2;
    }
    it->second(argv[i + 1]);
  }
  if (s.mode == "stream" || s.mode == "stream-threads") {
    if (s.window == 1)
      s.window = 8; // stream_window's default, unless asked otherwise
    stream(s, s.mode == "stream-threads");
    return 0;
  }
  if (s.mode == "commit") {
    if (s.dir.empty()) {
      std::fprintf(stderr, "floor_bench: --mode commit needs --dir\n");
      return 2;
    }
    commit(s);
    return 0;
  }
  if (!request_scenarios.count(s.mode)) {
    std::fprintf(stderr, "floor_bench: --mode must be echo, json, hop, commit, stream or "
                         "stream-threads\n");
    return 2;
  }
  requests(s);
  return 0;
}
