// stream_bench: a stream's throughput through the real daemon, file to file. Defines
// and starts a probe guest, opens its console (the probe's console echoes), sends SRC
// through it in 256 KiB chunks and writes what comes back to DST, then checks that DST
// is SRC's size. floor_bench --mode stream moves the same bytes the same way over bare
// ZeroMQ (the floor the stream is compared with).
//
//   stream_bench --socket PATH --uri probe:///bench --src FILE --dst FILE
//
// Prints one JSON line: side "domus", its scenario, mib, seconds, mib_per_second.
#include <domus/protocol/byte_stream.hpp>
#include <domus/protocol/client.hpp>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <map>
#include <string>

using domus::protocol::json;
using namespace std::chrono_literals;

int main(int argc, char** argv) {
  std::map<std::string, std::string> opt;
  for (int i = 1; i + 1 < argc; i += 2)
    opt[argv[i]] = argv[i + 1];
  for (auto k : {"--socket", "--uri", "--src", "--dst"})
    if (!opt.count(k)) {
      std::fprintf(stderr, "stream_bench: %s is needed\n", k);
      return 2;
    }
  try {
    domus::protocol::connection c(opt["--socket"], false);
    std::string uri = opt["--uri"];
    std::string xml = "<domain type='probe'><name>bench</name><memory>1024</memory>"
                      "<os><type>hvm</type></os></domain>";
    auto must = [](const domus::protocol::reply& r, const char* what) {
      if (!r.ok)
        throw std::runtime_error(std::string(what) + ": " + r.message);
      return r.result;
    };
    must(c.call(uri, "domain.define", {{"xml", xml}}, 10s), "define");
    must(c.call(uri, "domain.start", {{"domain", "bench"}}, 10s), "start");
    domus::protocol::byte_stream s(
        c, must(c.call(uri, "domain.open-console", {{"domain", "bench"}}, 10s),
                "open-console"));
    FILE* in = std::fopen(opt["--src"].c_str(), "rb");
    FILE* out = std::fopen(opt["--dst"].c_str(), "wb");
    if (!in || !out)
      throw std::runtime_error("cannot open the files: " +
                               std::string(std::strerror(errno)));
    std::string chunk(s.chunk_bytes(), '\0');
    uint64_t sent = 0, received = 0;
    bool eof = false;
    auto start = std::chrono::steady_clock::now();
    while (!eof || received < sent) {
      while (!eof && s.can_write()) {
        size_t n = std::fread(chunk.data(), 1, chunk.size(), in);
        if (n == 0) {
          eof = true;
          break;
        }
        s.write(std::string_view(chunk.data(), n), 10s);
        sent += n;
      }
      // Without credit there is nothing to do but wait for what comes back (which
      // brings credit): block, as the floor's client blocks in recv.
      auto back = s.read(eof || !s.can_write() ? 10000ms : 0ms);
      if (back) {
        std::fwrite(back->data(), 1, back->size(), out);
        received += back->size();
      } else if (eof) {
        throw std::runtime_error("nothing came back within 10 s");
      }
    }
    std::fflush(out);
    double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    s.end();
    std::fclose(in);
    std::fclose(out);
    c.call(uri, "domain.destroy", {{"domain", "bench"}}, 10s);
    c.call(uri, "domain.undefine", {{"domain", "bench"}}, 10s);
    double mib = static_cast<double>(received) / (1 << 20);
    std::printf("%s\n",
                json{{"side", "domus"},
                     {"scenario", "stream round trip, file to file, 256 KiB chunks"},
                     {"mib", mib},
                     {"seconds", secs},
                     {"mib_per_second", mib / secs}}
                    .dump()
                    .c_str());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "stream_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
