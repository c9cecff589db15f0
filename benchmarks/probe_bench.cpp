// The dir backend's image probe over every file of a directory, as a refresh of a dir
// pool will read them: open, probe (fstat, one or two preads), close. One JSON row with
// the files, the whole time and the time per file. benchmarks/probe.sh makes the files
// and runs `qemu-img info` beside it.
//
//   build-release/bin/probe_bench DIR [ROUNDS]
#include "image_probe.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: probe_bench DIR [ROUNDS]\n");
    return 2;
  }
  int rounds = argc > 2 ? std::atoi(argv[2]) : 5;
  int dfd = ::open(argv[1], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) {
    std::perror(argv[1]);
    return 1;
  }
  std::vector<double> per_round;
  size_t files = 0, failed = 0;
  for (int r = 0; r < rounds; ++r) {
    auto t0 = std::chrono::steady_clock::now();
    files = failed = 0;
    DIR* d = ::fdopendir(::openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    while (dirent* e = ::readdir(d)) {
      if (e->d_name[0] == '.')
        continue;
      int fd = ::openat(dfd, e->d_name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
      if (fd < 0) {
        ++failed;
        continue;
      }
      try {
        (void)domus::dir_backend::probe_fd(fd);
      } catch (const std::exception&) {
        ++failed;
      }
      ::close(fd);
      ++files;
    }
    ::closedir(d);
    per_round.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0)
            .count());
  }
  std::sort(per_round.begin(), per_round.end());
  double ms = per_round[per_round.size() / 2];
  std::printf(
      "{\"scenario\": \"image probe of every file\", \"files\": %zu, \"failed\": %zu, "
      "\"ms\": %.1f, \"us_per_file\": %.2f}\n",
      files, failed, ms, files ? ms * 1000.0 / files : 0.0);
  return failed == 0 ? 0 : 1;
}
