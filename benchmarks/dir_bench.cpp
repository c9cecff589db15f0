// The dir backend's file work without the daemon (plugins/dir/), as a refresh and as
// vol-create-as will do it. benchmarks/dir_bench.sh makes the files and runs
// `qemu-img info` beside it. One JSON row per run.
//
//   build-release/bin/dir_bench scan DIR [ROUNDS]   scan_pool and space_of, the median
//   round build-release/bin/dir_bench create DIR N        N raw volumes of 1 MiB
//   (create_file:
//                                                   O_EXCL, ftruncate, fsync of file and
//                                                   directory), then N qcow2 volumes of
//                                                   1 GiB (create_file, then qemu-img
//                                                   writing into its descriptor)
#include "pool_dir.hpp"
#include "qemu_img.hpp"
#include "run_with_fd.hpp"
#include "volume_files.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

using namespace domus::dir_backend;
using clock_type = std::chrono::steady_clock;

namespace {

double ms_since(clock_type::time_point t0) {
  return std::chrono::duration<double, std::milli>(clock_type::now() - t0).count();
}

int scan(int dfd, int rounds) {
  std::vector<double> per_round;
  size_t files = 0, skipped = 0;
  for (int r = 0; r < rounds; ++r) {
    auto t0 = clock_type::now();
    auto s = scan_pool(dfd);
    (void)space_of(dfd);
    per_round.push_back(ms_since(t0));
    files = s.volumes.size();
    skipped = s.skipped.size();
  }
  std::sort(per_round.begin(), per_round.end());
  double ms = per_round[per_round.size() / 2];
  std::printf(
      "{\"scenario\": \"dir pool scan (refresh without the daemon)\", \"files\": %zu, "
      "\"skipped\": %zu, \"ms\": %.1f, \"us_per_file\": %.2f}\n",
      files, skipped, ms, files ? ms * 1000.0 / files : 0.0);
  return skipped == 0 ? 0 : 1;
}

int create(int dfd, int n) {
  auto t0 = clock_type::now();
  for (int i = 0; i < n; ++i)
    ::close(create_file(dfd, "raw" + std::to_string(i), 1 << 20, 0));
  double raw_ms = ms_since(t0);
  std::printf(
      "{\"scenario\": \"raw volume create, 1 MiB sparse, durable\", \"volumes\": %d, "
      "\"ms\": %.1f, \"us_per_volume\": %.1f}\n",
      n, raw_ms, raw_ms * 1000.0 / n);
  qcow2_spec spec;
  spec.capacity = uint64_t{1} << 30;
  t0 = clock_type::now();
  for (int i = 0; i < n; ++i) {
    int fd = create_file(dfd, "qcow" + std::to_string(i), 0, 0);
    bool ok =
        domus::testing::run_with_fd(qcow2_create_argv("qemu-img", 3, spec), fd) == 0;
    ::close(fd);
    if (!ok) {
      std::fprintf(stderr, "qemu-img failed on volume %d\n", i);
      return 1;
    }
  }
  double qcow_ms = ms_since(t0);
  std::printf(
      "{\"scenario\": \"qcow2 volume create, 1 GiB, one qemu-img each\", \"volumes\": "
      "%d, \"ms\": %.1f, \"us_per_volume\": %.1f}\n",
      n, qcow_ms, qcow_ms * 1000.0 / n);
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  if (argc < 3 ||
      (std::strcmp(argv[1], "scan") != 0 && std::strcmp(argv[1], "create") != 0)) {
    std::fprintf(stderr, "usage: dir_bench scan DIR [ROUNDS] | dir_bench create DIR N\n");
    return 2;
  }
  int dfd = ::open(argv[2], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) {
    std::perror(argv[2]);
    return 1;
  }
  try {
    if (std::strcmp(argv[1], "scan") == 0)
      return scan(dfd, argc > 3 ? std::max(1, std::atoi(argv[3])) : 5);
    return create(dfd, argc > 3 ? std::max(1, std::atoi(argv[3])) : 1000);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "dir_bench: %s\n", e.what());
    return 1;
  }
}
