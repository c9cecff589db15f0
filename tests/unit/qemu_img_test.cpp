// qemu-img's command lines for a dir pool's qcow2 volumes: what they say, what they
// refuse, and what Debian's qemu-img makes of them, written into a descriptor the test
// opened beneath the pool as the backend will.
#include <boost/test/unit_test.hpp>

#include "image_probe.hpp"
#include "pool_dir.hpp"
#include "pool_dir_fixture.hpp"
#include "qemu_img.hpp"
#include "run_with_fd.hpp"
#include "volume_files.hpp"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

using namespace domus::dir_backend;
using domus::testing::run_with_fd;

namespace {

// Makes volume `name` from `spec` in the pool and probes it.
image_info made(const pool_fixture& p, const std::string& name, const qcow2_spec& spec) {
  int fd = create_file(p.fd, name, 0, 0);
  int status = run_with_fd(qcow2_create_argv("qemu-img", 3, spec), fd);
  BOOST_REQUIRE_MESSAGE(status == 0, "qemu-img exited with " << status);
  image_info info = probe_fd(fd);
  ::close(fd);
  return info;
}

std::string refusal(const qcow2_spec& spec) {
  return message_of<qemu_img_error>([&] { qcow2_create_argv("qemu-img", 3, spec); });
}

} // namespace

BOOST_AUTO_TEST_SUITE(qemu_img_commands)

BOOST_AUTO_TEST_CASE(the_command_lines) {
  qcow2_spec s;
  s.capacity = 1 << 30;
  BOOST_TEST(
      qcow2_create_argv("/usr/bin/qemu-img", 7, s) ==
          (std::vector<std::string>{"/usr/bin/qemu-img", "create", "-q", "-f", "qcow2",
                                    "-o", "compat=1.1", "/dev/fd/7", "1073741824"}),
      boost::test_tools::per_element());
  s.backing_path = "/pool/base.img";
  s.backing_format = "raw";
  s.prealloc_metadata = s.lazy_refcounts = true;
  BOOST_TEST(
      qcow2_create_argv("qemu-img", 3, s) ==
          (std::vector<std::string>{"qemu-img", "create", "-q", "-f", "qcow2", "-u", "-b",
                                    "/pool/base.img", "-F", "raw", "-o",
                                    "compat=1.1,preallocation=metadata,lazy_refcounts=on",
                                    "/dev/fd/3", "1073741824"}),
      boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(requests_it_refuses) {
  qcow2_spec s;
  s.capacity = 1 << 20;
  s.backing_format = "raw";
  s.backing_path = "base.img";
  BOOST_TEST(refusal(s) == "the backing volume's path 'base.img' is not absolute");
  s.backing_path = "json:{\"driver\":\"file\",\"filename\":\"/etc/shadow\"}";
  BOOST_TEST(refusal(s).find("is not absolute") != std::string::npos);
  s.backing_path = "/pool/a\nb";
  BOOST_TEST(refusal(s) == "the backing volume's path holds a control byte");
  s.backing_path = "/pool/base.img";
  s.backing_format = "host_device";
  BOOST_TEST(
      refusal(s) ==
      "backing format 'host_device' is not one of raw, qcow2, qcow, qed, vmdk, vdi, "
      "vpc, luks");
  s = qcow2_spec{};
  s.capacity = 1 << 20;
  s.compat = "0.10";
  s.lazy_refcounts = true;
  BOOST_TEST(refusal(s) ==
             "qcow2 compat 0.10 has no lazy_refcounts (it needs compat 1.1)");
  s.compat = "2";
  BOOST_TEST(refusal(s) == "qcow2 compat '2' is not 0.10 or 1.1");
  s = qcow2_spec{};
  BOOST_TEST(refusal(s) == "a qcow2 volume's capacity must be 1 to 2^63-1 bytes, not 0");
}

// What qemu-img writes through the descriptor: the probe reads back what was asked.
BOOST_AUTO_TEST_CASE(qemu_img_makes_what_was_asked) {
  pool_fixture p;
  qcow2_spec s;
  s.capacity = uint64_t{3} << 30;
  image_info plain = made(p, "plain.qcow2", s);
  BOOST_TEST(plain.format == "qcow2");
  BOOST_TEST(*plain.virtual_size == uint64_t{3} << 30);
  BOOST_TEST(plain.compat == "1.1");
  BOOST_TEST(plain.backing_path == "");

  s.compat = "0.10";
  BOOST_TEST(made(p, "old.qcow2", s).compat == "0.10");

  ::close(create_file(p.fd, "base.raw", 8 << 20, 0));
  s = qcow2_spec{};
  s.capacity = 8 << 20;
  s.backing_path = p.pool + "/base.raw";
  s.backing_format = "raw";
  s.lazy_refcounts = true;
  image_info top = made(p, "top.qcow2", s);
  BOOST_TEST(top.backing_path == p.pool + "/base.raw");
  BOOST_TEST(top.backing_format == "raw");
  BOOST_TEST(*top.virtual_size == 8u << 20);
  BOOST_TEST(top.features == std::vector<std::string>{"lazy_refcounts"});

  // -u: a backing file that does not exist (yet) is not opened, only recorded.
  s.backing_path = p.pool + "/not-there.raw";
  BOOST_TEST(made(p, "later.qcow2", s).backing_path == p.pool + "/not-there.raw");

  s = qcow2_spec{};
  s.capacity = 1 << 30;
  s.prealloc_metadata = true;
  made(p, "meta.qcow2", s);
  BOOST_TEST(p.stat_of("meta.qcow2").st_blocks > p.stat_of("plain.qcow2").st_blocks);
}

// A resize through the descriptor: grown, refused smaller without --shrink (qemu-img's
// own refusal), shrunk with it.
BOOST_AUTO_TEST_CASE(qemu_img_resizes_through_the_descriptor) {
  BOOST_TEST(qcow2_resize_argv("qemu-img", 4, 1 << 20, true) ==
                 (std::vector<std::string>{"qemu-img", "resize", "-q", "-f", "qcow2",
                                           "--shrink", "/dev/fd/4", "1048576"}),
             boost::test_tools::per_element());
  BOOST_TEST(message_of<qemu_img_error>([] {
               qcow2_resize_argv("qemu-img", 3, 0, false);
             }) == "a qcow2 volume's capacity must be 1 to 2^63-1 bytes, not 0");
  pool_fixture p;
  qcow2_spec s;
  s.capacity = 1 << 30;
  made(p, "r.qcow2", s);
  auto resize = [&](uint64_t size, bool shrink) {
    int fd = open_beneath(p.fd, "r.qcow2", O_RDWR, false);
    BOOST_REQUIRE(fd >= 0);
    int status = run_with_fd(qcow2_resize_argv("qemu-img", 3, size, shrink), fd);
    image_info info = probe_fd(fd);
    ::close(fd);
    return std::make_pair(status, *info.virtual_size);
  };
  BOOST_TEST((resize(uint64_t{2} << 30, false) == std::make_pair(0, uint64_t{2} << 30)));
  BOOST_TEST(resize(1 << 20, false).first != 0);
  BOOST_TEST((resize(1 << 20, true) == std::make_pair(0, uint64_t{1} << 20)));
}

// A copy through two descriptors: qcow2 into raw and back, what the guest sees kept.
BOOST_AUTO_TEST_CASE(qemu_img_converts_between_descriptors) {
  BOOST_TEST(convert_argv("qemu-img", 3, "raw", 4, "qcow2") ==
                 (std::vector<std::string>{"qemu-img", "convert", "-q", "-f", "raw", "-O",
                                           "qcow2", "-o", "compat=1.1", "/dev/fd/3",
                                           "/dev/fd/4"}),
             boost::test_tools::per_element());
  BOOST_TEST(message_of<qemu_img_error>([] {
               convert_argv("qemu-img", 3, "host_device", 4, "raw");
             }).find("cannot copy from format 'host_device'") == 0u);
  BOOST_TEST(message_of<qemu_img_error>([] {
               convert_argv("qemu-img", 3, "raw", 4, "vmdk");
             }) == "cannot copy into format 'vmdk' (raw, qcow2)");
  pool_fixture p;
  int raw = create_file(p.fd, "src.raw", 4 << 20, 0);
  BOOST_REQUIRE(::pwrite(raw, "guest data", 10, 1 << 20) == 10);
  int q = create_file(p.fd, "copy.qcow2", 0, 0);
  // Both descriptors at 3 and 4 in the child, as the driver passes them.
  auto argv = convert_argv("qemu-img", 3, "raw", 4, "qcow2");
  pid_t pid = ::fork();
  if (pid == 0) {
    int a = ::fcntl(raw, F_DUPFD, 10), b = ::fcntl(q, F_DUPFD, 10);
    if (a < 0 || b < 0 || ::dup2(a, 3) != 3 || ::dup2(b, 4) != 4)
      ::_exit(126);
    std::vector<char*> args;
    for (auto& x : argv)
      args.push_back(const_cast<char*>(x.c_str()));
    args.push_back(nullptr);
    ::execvp(args[0], args.data());
    ::_exit(127);
  }
  int status = -1;
  BOOST_REQUIRE(::waitpid(pid, &status, 0) == pid);
  BOOST_TEST(status == 0);
  image_info info = probe_fd(q);
  BOOST_TEST(info.format == "qcow2");
  BOOST_TEST(*info.virtual_size == 4u << 20);
  ::close(raw);
  ::close(q);
  auto back = domus::testing::read_file(p.pool + "/copy.qcow2");
  BOOST_TEST(back.find("guest data") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
