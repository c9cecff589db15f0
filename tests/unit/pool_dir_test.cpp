// A dir pool's directory: volume names, opening beneath the directory (planted symbolic
// links included), what a scan lists and leaves out, the filesystem's sizes.
#include <boost/test/unit_test.hpp>

#include "pool_dir.hpp"
#include "pool_dir_fixture.hpp"
#include "test_files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <memory>

using namespace domus::dir_backend;
using domus::testing::file_exists;
using domus::testing::write_file;

namespace {

// open_beneath's result: "ok", or the errno's name for the failures the tests expect.
std::string opened(int dirfd, const std::string& name, int flags, bool follow) {
  int fd = open_beneath(dirfd, name, flags, follow);
  if (fd >= 0) {
    ::close(fd);
    return "ok";
  }
  switch (errno) {
  case EXDEV:
    return "EXDEV";
  case ELOOP:
    return "ELOOP";
  case EINVAL:
    return "EINVAL";
  case EEXIST:
    return "EEXIST";
  case ENOENT:
    return "ENOENT";
  default:
    return std::to_string(errno);
  }
}

} // namespace

BOOST_AUTO_TEST_SUITE(pool_directories)

BOOST_AUTO_TEST_CASE(volume_names) {
  BOOST_TEST(volume_name_problem("disk1.qcow2") == "");
  BOOST_TEST(volume_name_problem("..hidden") == "");
  BOOST_TEST(volume_name_problem(std::string(255, 'a')) == "");
  BOOST_TEST(volume_name_problem(std::string(256, 'a')) ==
             "a volume name has at most 255 bytes (this one has 256)");
  BOOST_TEST(volume_name_problem("") == "a volume name cannot be empty");
  BOOST_TEST(volume_name_problem(".") == "a volume cannot be named '.'");
  BOOST_TEST(volume_name_problem("..") == "a volume cannot be named '..'");
  BOOST_TEST(volume_name_problem("a/b") == "a volume name cannot hold '/'");
  BOOST_TEST(volume_name_problem("../etc") == "a volume name cannot hold '/'");
  BOOST_TEST(volume_name_problem("a\nb") == "a volume name cannot hold a control byte");
  BOOST_TEST(volume_name_problem(std::string("a\0b", 3)) ==
             "a volume name cannot hold a control byte");
  BOOST_TEST(volume_name_problem("a\x7f") == "a volume name cannot hold a control byte");
}

// Nothing outside the pool is opened, read or created through a name or a link.
BOOST_AUTO_TEST_CASE(opening_never_leaves_the_pool) {
  pool_fixture p;
  write_file(p.pool + "/inside.img", "in");
  write_file(p.outside + "/secret", "out");
  p.link(p.outside + "/secret", "abs-out");
  p.link("../outside/secret", "rel-out");
  p.link("inside.img", "to-inside");
  p.link(p.outside + "/planted-new", "planted");

  BOOST_TEST(opened(p.fd, "inside.img", O_RDONLY, false) == "ok");
  BOOST_TEST(opened(p.fd, "../outside/secret", O_RDONLY, true) == "EINVAL");
  BOOST_TEST(opened(p.fd, "abs-out", O_RDONLY, true) == "EXDEV");
  BOOST_TEST(opened(p.fd, "rel-out", O_RDONLY, true) == "EXDEV");
  BOOST_TEST(opened(p.fd, "abs-out", O_RDONLY, false) == "ELOOP");
  BOOST_TEST(opened(p.fd, "to-inside", O_RDONLY, true) == "ok");
  BOOST_TEST(opened(p.fd, "to-inside", O_RDONLY, false) == "ELOOP");

  // A create through a link planted where a new volume goes: refused, and nothing
  // appears outside.
  BOOST_TEST(opened(p.fd, "planted", O_WRONLY | O_CREAT | O_EXCL, false) == "EEXIST");
  BOOST_TEST(opened(p.fd, "planted", O_WRONLY | O_CREAT, false) == "ELOOP");
  BOOST_TEST(opened(p.fd, "planted", O_WRONLY | O_CREAT, true) == "EXDEV");
  BOOST_TEST(!file_exists(p.outside + "/planted-new"));

  BOOST_TEST(opened(p.fd, "new.img", O_WRONLY | O_CREAT | O_EXCL, false) == "ok");
  struct stat st {};
  BOOST_REQUIRE(::stat((p.pool + "/new.img").c_str(), &st) == 0);
  BOOST_TEST((st.st_mode & 0777) == 0600u);
}

// A scan: files probed, directories and links as libvirt's dir pool lists them, the
// rest left out with the reason.
BOOST_AUTO_TEST_CASE(a_scan_lists_volumes_and_says_what_it_left_out) {
  pool_fixture p;
  std::string raw(3 << 20, '\0');
  write_file(p.pool + "/a.raw", raw);
  BOOST_REQUIRE(
      std::system(("qemu-img create -q -f qcow2 " + p.pool + "/b.qcow2 1G").c_str()) ==
      0);
  ::mkdir((p.pool + "/c-dir").c_str(), 0755);
  p.link("a.raw", "d-link");
  write_file(p.outside + "/e.iso", std::string(5000, 'x'));
  p.link(p.outside + "/e.iso", "e-out.iso");
  p.link(p.outside + "/missing", "f-dangling");
  BOOST_REQUIRE(::mkfifo((p.pool + "/g-fifo").c_str(), 0600) == 0);
  std::string damaged = "QFI\xfb";
  damaged +=
      std::string("\0\0\0\3", 4) + std::string(12, '\0') + std::string("\0\0\0\x1e", 4);
  damaged.resize(4096, '\0'); // version 3, cluster_bits 30
  write_file(p.pool + "/h-damaged.qcow2", damaged);
  write_file(p.pool + "/i\nnewline", "x");

  scan_result s = scan_pool(p.fd);
  BOOST_REQUIRE(s.volumes.size() == 5u);
  const scanned_volume &a = s.volumes[0], &b = s.volumes[1], &c = s.volumes[2],
                       &d = s.volumes[3], &e = s.volumes[4];
  BOOST_TEST(a.name == "a.raw");
  BOOST_TEST(a.image.format == "raw");
  BOOST_TEST(a.capacity == 3u << 20);
  BOOST_TEST(a.allocation >= 3u << 20); // written out, not sparse
  BOOST_TEST(b.name == "b.qcow2");
  BOOST_TEST(b.image.format == "qcow2");
  BOOST_TEST(b.capacity == 1u << 30);
  BOOST_TEST(b.allocation < 1u << 20); // metadata only
  BOOST_TEST(c.name == "c-dir");
  BOOST_TEST(c.directory);
  BOOST_TEST(c.image.format == "dir");
  BOOST_TEST(d.name == "d-link");
  BOOST_TEST(d.symlink);
  BOOST_TEST(!d.outside);
  BOOST_TEST(d.capacity == 3u << 20);
  BOOST_TEST(e.name == "e-out.iso");
  BOOST_TEST(e.symlink);
  BOOST_TEST(e.outside);
  BOOST_TEST(e.image.format == "raw"); // its content is never read
  BOOST_TEST(e.capacity == 5000u);

  BOOST_REQUIRE(s.skipped.size() == 4u);
  BOOST_TEST(s.skipped[0].name == "f-dangling");
  BOOST_TEST(s.skipped[0].reason.find("a symbolic link whose target cannot be reached") ==
             0u);
  BOOST_TEST(s.skipped[1].name == "g-fifo");
  BOOST_TEST(s.skipped[1].reason == "neither a file, a directory nor a symbolic link");
  BOOST_TEST(s.skipped[2].name == "h-damaged.qcow2");
  BOOST_TEST(s.skipped[2].reason == "qcow2 header: cluster_bits 30 (QEMU takes 9 to 21)");
  BOOST_TEST(s.skipped[3].name == "i\nnewline");
  BOOST_TEST(s.skipped[3].reason == "a volume name cannot hold a control byte");
}

// The filesystem's sizes, as `stat -f` reports them.
BOOST_AUTO_TEST_CASE(space_is_the_filesystems) {
  pool_fixture p;
  pool_space s = space_of(p.fd);
  std::string cmd = "stat -f -c '%S %b %f %a' " + p.pool;
  std::unique_ptr<FILE, int (*)(FILE*)> f(::popen(cmd.c_str(), "r"), ::pclose);
  BOOST_REQUIRE(f);
  unsigned long long unit = 0, blocks = 0, free = 0, avail = 0;
  BOOST_REQUIRE(
      std::fscanf(f.get(), "%llu %llu %llu %llu", &unit, &blocks, &free, &avail) == 4);
  BOOST_TEST(s.capacity == unit * blocks);
  // Other writers on the machine move free space between the two reads: within 64 MiB.
  auto near = [](uint64_t x, uint64_t y) {
    return (x > y ? x - y : y - x) <= (64u << 20);
  };
  BOOST_TEST(near(s.allocation, unit * (blocks - free)));
  BOOST_TEST(near(s.available, unit * avail));
  BOOST_TEST(s.available <= s.capacity);
}

BOOST_AUTO_TEST_SUITE_END()
