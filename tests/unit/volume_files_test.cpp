// A dir pool's raw volume files: made, resized, wiped and removed through the pool's
// descriptor, never through a link, and nothing half-made left when the disk refuses.
#include <boost/test/unit_test.hpp>

#include "pool_dir.hpp"
#include "pool_dir_fixture.hpp"
#include "test_files.hpp"
#include "volume_files.hpp"

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>

using namespace domus::dir_backend;
using domus::testing::file_exists;
using domus::testing::read_file;
using domus::testing::write_file;

namespace {

// The message of the volume_error fn throws ("" when it throws none).
template <class F> std::string refusal(F&& fn) {
  return message_of<volume_error>(fn);
}

} // namespace

BOOST_AUTO_TEST_SUITE(volume_files)

BOOST_AUTO_TEST_CASE(creates_sparse_and_allocated_files) {
  pool_fixture p;
  ::close(create_file(p.fd, "sparse.img", 64 << 20, 0));
  struct stat st = p.stat_of("sparse.img");
  BOOST_TEST(st.st_size == 64 << 20);
  BOOST_TEST(st.st_blocks * 512 < 1 << 20);
  BOOST_TEST((st.st_mode & 0777) == 0600u);

  ::close(create_file(p.fd, "full.img", 8 << 20, 8 << 20));
  st = p.stat_of("full.img");
  BOOST_TEST(st.st_size == 8 << 20);
  BOOST_TEST(st.st_blocks * 512 >= 8 << 20);

  // Part of it allocated (<allocation> below the capacity), the rest sparse; an
  // allocation past the capacity allocates the capacity.
  ::close(create_file(p.fd, "part.img", 8 << 20, 2 << 20));
  st = p.stat_of("part.img");
  BOOST_TEST(st.st_size == 8 << 20);
  BOOST_TEST(st.st_blocks * 512 >= 2 << 20);
  BOOST_TEST(st.st_blocks * 512 < 4 << 20);
  ::close(create_file(p.fd, "over.img", 1 << 20, 64 << 20));
  BOOST_TEST(p.stat_of("over.img").st_blocks * 512 < 2 << 20);

  BOOST_TEST(refusal([&] { create_file(p.fd, "sparse.img", 1, 0); }) ==
             "cannot create volume 'sparse.img': File exists");
  BOOST_TEST(refusal([&] { create_file(p.fd, "../x.img", 1, 0); }) ==
             "a volume name cannot hold '/'");
  BOOST_TEST(refusal([&] { create_file(p.fd, "huge.img", ~uint64_t{0}, 0); }) ==
             "volume 'huge.img': a capacity of 18446744073709551615 bytes is larger than "
             "any file can be");
}

// A link planted where a new volume goes: the create fails, and its target is neither
// made nor touched.
BOOST_AUTO_TEST_CASE(a_planted_link_is_never_followed) {
  pool_fixture p;
  p.link(p.outside + "/made", "new.img");
  BOOST_TEST(refusal([&] { create_file(p.fd, "new.img", 1 << 20, 0); }) ==
             "cannot create volume 'new.img': File exists");
  BOOST_TEST(!file_exists(p.outside + "/made"));

  write_file(p.outside + "/kept", "precious");
  p.link(p.outside + "/kept", "link.img");
  BOOST_TEST(refusal([&] { zero_file(p.fd, "link.img"); })
                 .find("cannot wipe volume "
                       "'link.img'") == 0u);
  BOOST_TEST(refusal([&] {
               resize_file(p.fd, "link.img", 1, false, true);
             }).find("cannot resize volume 'link.img'") == 0u);
  remove_file(p.fd, "link.img", false); // the link goes, its target stays
  BOOST_TEST(read_file(p.outside + "/kept") == "precious");
  BOOST_TEST(!file_exists(p.pool + "/link.img"));
}

// A create the filesystem refuses half-way (here the file size limit, as a full disk
// would) leaves no file behind.
BOOST_AUTO_TEST_CASE(a_refused_create_leaves_nothing) {
  pool_fixture p;
  struct rlimit before {};
  ::getrlimit(RLIMIT_FSIZE, &before);
  struct rlimit limit = before;
  limit.rlim_cur = 1 << 20;
  auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
  BOOST_REQUIRE(::setrlimit(RLIMIT_FSIZE, &limit) == 0);
  std::string msg = refusal([&] { create_file(p.fd, "big.img", 4 << 20, 0); });
  ::setrlimit(RLIMIT_FSIZE, &before);
  std::signal(SIGXFSZ, old_handler);
  BOOST_TEST(msg == "cannot create volume 'big.img': File too large");
  BOOST_TEST(!file_exists(p.pool + "/big.img"));
}

BOOST_AUTO_TEST_CASE(resizes_grow_and_shrink_only_when_asked) {
  pool_fixture p;
  ::close(create_file(p.fd, "r.img", 1 << 20, 0));
  resize_file(p.fd, "r.img", 4 << 20, false, false);
  BOOST_TEST(p.stat_of("r.img").st_size == 4 << 20);
  BOOST_TEST(
      refusal([&] { resize_file(p.fd, "r.img", 2 << 20, false, false); }) ==
      "volume 'r.img' has 4194304 bytes: shrinking it to 2097152 destroys data, and "
      "needs the shrink flag");
  BOOST_TEST(p.stat_of("r.img").st_size == 4 << 20);
  resize_file(p.fd, "r.img", 2 << 20, false, true);
  BOOST_TEST(p.stat_of("r.img").st_size == 2 << 20);
  resize_file(p.fd, "r.img", 6 << 20, true, false);
  struct stat st = p.stat_of("r.img");
  BOOST_TEST(st.st_size == 6 << 20);
  BOOST_TEST(st.st_blocks * 512 >= 4 << 20); // what grew is allocated
  BOOST_TEST(refusal([&] { resize_file(p.fd, "none.img", 1, false, false); }) ==
             "cannot resize volume 'none.img': No such file or directory");
}

BOOST_AUTO_TEST_CASE(wipes_write_zeros_and_keep_the_size) {
  pool_fixture p;
  std::string data(3 << 20, 'd');
  write_file(p.pool + "/w.img", data);
  zero_file(p.fd, "w.img");
  std::string after = read_file(p.pool + "/w.img");
  BOOST_TEST(after.size() == data.size());
  BOOST_TEST(after.find_first_not_of('\0') == std::string::npos);
  // A thin file stays thin: emptied and grown back.
  int thin = create_file(p.fd, "thin.img", 8 << 20, 0);
  BOOST_REQUIRE(::pwrite(thin, "data", 4, 1 << 20) == 4);
  ::close(thin);
  zero_file(p.fd, "thin.img");
  BOOST_TEST(p.stat_of("thin.img").st_size == 8 << 20);
  BOOST_TEST(p.stat_of("thin.img").st_blocks == 0);
  BOOST_TEST(read_file(p.pool + "/thin.img").find_first_not_of('\0') ==
             std::string::npos);
  ::mkdir((p.pool + "/sub").c_str(), 0755);
  BOOST_TEST(refusal([&] { zero_file(p.fd, "sub"); }).find("cannot wipe volume 'sub'") ==
             0u);
}

BOOST_AUTO_TEST_CASE(removes_files_and_empty_directories) {
  pool_fixture p;
  ::close(create_file(p.fd, "gone.img", 1, 0));
  remove_file(p.fd, "gone.img", false);
  BOOST_TEST(!file_exists(p.pool + "/gone.img"));
  BOOST_TEST(refusal([&] { remove_file(p.fd, "gone.img", false); }) ==
             "cannot delete volume 'gone.img': No such file or directory");
  ::mkdir((p.pool + "/d").c_str(), 0755);
  remove_file(p.fd, "d", true);
  BOOST_TEST(refusal([&] { remove_file(p.fd, "..", true); }) ==
             "a volume cannot be named '..'");
}

// A raw clone: the data copied, the holes left holes, the copy at least its capacity.
BOOST_AUTO_TEST_CASE(copies_keep_holes_and_grow_to_the_capacity) {
  pool_fixture p;
  int from = create_file(p.fd, "src.img", 64 << 20, 0);
  BOOST_REQUIRE(::pwrite(from, "head", 4, 0) == 4);
  BOOST_REQUIRE(::pwrite(from, "middle", 6, 32 << 20) == 6);
  BOOST_REQUIRE(::pwrite(from, "tail", 4, (64 << 20) - 4) == 4);
  int to = create_file(p.fd, "copy.img", 0, 0);
  copy_data(from, to, 64 << 20, 128 << 20, "copy.img");
  ::close(from);
  ::close(to);
  struct stat st = p.stat_of("copy.img");
  BOOST_TEST(st.st_size == 128 << 20);
  BOOST_TEST(st.st_blocks * 512 < 4 << 20); // three small extents, not 64 MiB
  std::string copy = read_file(p.pool + "/copy.img");
  BOOST_TEST(copy.compare(0, 4, "head") == 0);
  BOOST_TEST(copy.compare(32 << 20, 6, "middle") == 0);
  BOOST_TEST(copy.compare((64 << 20) - 4, 4, "tail") == 0);
  BOOST_TEST(copy.find_first_not_of('\0', 4) == size_t{32 << 20});
}

// Long copies and wipes tell how far they are, 64 MiB at a time, and stop when told to
// (a long-running job aborted): volume_error with ECANCELED.
BOOST_AUTO_TEST_CASE(copies_and_wipes_report_progress_and_stop_when_told) {
  pool_fixture p;
  std::string data(150u << 20, 'x');
  write_file(p.pool + "/big.img", data);
  int from = open_beneath(p.fd, "big.img", O_RDONLY, false);
  BOOST_REQUIRE(from >= 0);
  int to = create_file(p.fd, "c.img", 0, 0);
  std::vector<uint64_t> seen;
  copy_data(from, to, data.size(), 0, "c.img", [&](uint64_t done, uint64_t total) {
    BOOST_TEST(total == data.size());
    seen.push_back(done);
    return true;
  });
  BOOST_TEST(seen.size() >= 3u); // 0, 64 MiB, 128 MiB
  BOOST_TEST(std::is_sorted(seen.begin(), seen.end()));
  BOOST_TEST(read_file(p.pool + "/c.img") == data);
  int again = create_file(p.fd, "d.img", 0, 0);
  int calls = 0;
  try {
    copy_data(from, again, data.size(), 0, "d.img", [&](uint64_t, uint64_t) {
      return ++calls < 2; // the second report says stop
    });
    BOOST_FAIL("a copy told to stop went on");
  } catch (const volume_error& e) {
    BOOST_TEST(e.error_number() == ECANCELED);
    BOOST_TEST(std::string(e.what()) == "the copy of volume 'd.img' was aborted");
  }
  ::close(from);
  ::close(to);
  ::close(again);
  int reports = 0;
  BOOST_TEST(refusal([&] {
               zero_file(p.fd, "big.img",
                         [&](uint64_t, uint64_t) { return ++reports < 2; });
             }) == "the wipe of volume 'big.img' was aborted");
  reports = 0;
  zero_file(p.fd, "big.img", [&](uint64_t, uint64_t) { return ++reports > 0; });
  BOOST_TEST(reports >= 3);
  BOOST_TEST(read_file(p.pool + "/big.img").find_first_not_of('\0') == std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
