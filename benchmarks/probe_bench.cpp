// A dir pool's scan over every file of a directory, as a refresh reads them
// (plugins/dir/pool_dir.hpp: readdir, then per entry fstatat, openat2 beneath the
// directory, the image probe's fstat and pread, close), and the filesystem's sizes. One
// JSON row with the files, the time of the median round and the time per file.
// benchmarks/probe.sh makes the files and runs `qemu-img info` beside it.
//
//   build-release/bin/probe_bench DIR [ROUNDS]
#include "pool_dir.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: probe_bench DIR [ROUNDS]\n");
    return 2;
  }
  int rounds = argc > 2 ? std::max(1, std::atoi(argv[2])) : 5;
  int dfd = ::open(argv[1], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) {
    std::perror(argv[1]);
    return 1;
  }
  std::vector<double> per_round;
  size_t files = 0, skipped = 0;
  for (int r = 0; r < rounds; ++r) {
    auto t0 = std::chrono::steady_clock::now();
    auto scan = domus::dir_backend::scan_pool(dfd);
    (void)domus::dir_backend::space_of(dfd);
    per_round.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0)
            .count());
    files = scan.volumes.size();
    skipped = scan.skipped.size();
  }
  std::sort(per_round.begin(), per_round.end());
  double ms = per_round[per_round.size() / 2];
  std::printf(
      "{\"scenario\": \"dir pool scan (refresh without the daemon)\", \"files\": %zu, "
      "\"skipped\": %zu, \"ms\": %.1f, \"us_per_file\": %.2f}\n",
      files, skipped, ms, files ? ms * 1000.0 / files : 0.0);
  return skipped == 0 ? 0 : 1;
}
