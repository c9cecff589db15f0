#define BOOST_TEST_MODULE qemu_conformance_integration
#include <boost/test/unit_test.hpp>

#include "daemon.hpp"
#include "process.hpp"
#include "test_files.hpp"
#include "xml_compare.hpp"

#include <domus/model/xml_tree.hpp>

#include <fcntl.h>
#include <linux/kvm.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <csignal>
#include <map>
#include <regex>
#include <thread>

// The QEMU driver against libvirt and against QEMU itself, on this machine's QEMU:
// libvirt's corpus defined through the real daemon on qemu:///session and dumped with
// domsh equals libvirt's output (tests/unit/qemu_defaults_test.cpp checks the same
// against a fixed capability set; this one runs what the daemon probed), and every
// golden command line of tests/data/qemu is started by Debian's QEMU with -S and quit
// over QMP, so an option QEMU refuses fails here.

using namespace domus::testing;
using namespace std::chrono_literals;
namespace model = domus::model;

namespace {

const std::string corpus = std::string(DOMUS_CONFORMANCE_DIR) + "/domain/";
const std::string sidecars = std::string(DOMUS_TEST_DATA_DIR) + "/conformance/domain/";
const std::string goldens = std::string(DOMUS_SOURCE_DIR) + "/tests/data/qemu/";

// The machine aliases the probed binary has, and what they stand for, from `domsh
// capabilities` (<machine canonical='pc-i440fx-7.2'>pc</machine>).
std::map<std::string, std::string> machine_aliases(daemon_process& d) {
  auto caps = d.domsh({"capabilities"}, "", "/session", "qemu");
  BOOST_TEST_REQUIRE(caps.status == 0, caps.err);
  std::map<std::string, std::string> out;
  std::regex machine("<machine canonical='([^']+)'[^>]*>([^<]+)</machine>");
  for (std::sregex_iterator it(caps.out.begin(), caps.out.end(), machine), end; it != end;
       ++it)
    out[(*it)[2]] = (*it)[1];
  return out;
}

std::string replaced(std::string text, const std::string& from, const std::string& to) {
  for (size_t at = text.find(from); at != std::string::npos;
       at = text.find(from, at + to.size()))
    text.replace(at, from.size(), to);
  return text;
}

bool kvm_usable() {
  int fd = ::open("/dev/kvm", O_RDWR | O_CLOEXEC);
  if (fd < 0)
    return false;
  int vm = ::ioctl(fd, KVM_CREATE_VM, 0);
  if (vm >= 0)
    ::close(vm);
  ::close(fd);
  return vm >= 0;
}

// A unix socket connected to `path`, polled for (bounded) while `qemu` runs.
int connect_when_there(const std::string& path, child& qemu) {
  auto until = std::chrono::steady_clock::now() + 20s;
  while (std::chrono::steady_clock::now() < until) {
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::snprintf(a.sun_path, sizeof a.sun_path, "%s", path.c_str());
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0)
      return fd;
    ::close(fd);
    if (!qemu.running())
      return -1;
    std::this_thread::sleep_for(10ms);
  }
  return -1;
}

// Reads QMP lines until one holds `key` (bounded).
std::string read_until(int fd, const std::string& key) {
  std::string got;
  auto until = std::chrono::steady_clock::now() + 20s;
  while (got.find(key) == std::string::npos && std::chrono::steady_clock::now() < until) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0)
      continue;
    char buf[4096];
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0)
      break;
    got.append(buf, static_cast<size_t>(n));
  }
  return got;
}

void send_line(int fd, const std::string& line) {
  std::string l = line + "\n";
  // QEMU may be gone: an error, not a SIGPIPE.
  BOOST_TEST(::send(fd, l.data(), l.size(), MSG_NOSIGNAL) ==
             static_cast<ssize_t>(l.size()));
}

} // namespace

BOOST_AUTO_TEST_CASE(libvirt_corpus_defined_through_the_daemon_as_libvirt_writes_it) {
  daemon_process d;
  auto aliases = machine_aliases(d);
  BOOST_TEST_REQUIRE(aliases.count("pc"), "the emulator has no 'pc' machine");
  auto cases = files_ending(corpus, ".out.xml");
  BOOST_TEST_REQUIRE(cases.size() >= 25u, "libvirt's corpus not found at " << corpus);
  std::string dir = temp_dir("conf");
  for (auto& name : cases) {
    BOOST_TEST_CONTEXT("case " << name) {
      std::string in = read_file(corpus + name + ".in.xml");
      write_file(dir + "/in.xml", in);
      auto def = d.domsh({"define", dir + "/in.xml"}, "", "/session", "qemu");
      BOOST_TEST_REQUIRE(def.status == 0, def.err);
      std::string dom = model::parse_xml(in, "in").child("name")->trimmed_text();
      auto dump = d.domsh({"dumpxml", "--security-info", dom}, "", "/session", "qemu");
      BOOST_TEST_REQUIRE(dump.status == 0, dump.err);
      auto gone = d.domsh({"undefine", dom}, "", "/session", "qemu");
      BOOST_TEST_REQUIRE(gone.status == 0, gone.err);
      std::string theirs_text = read_file(corpus + name + ".out.xml");
      for (auto& [alias, machine] : aliases)
        theirs_text =
            replaced(theirs_text, "machine='" + alias + "'", "machine='" + machine + "'");
      model::xml_node mine = model::parse_xml(dump.out, "ours");
      model::xml_node theirs = model::parse_xml(theirs_text, "theirs");
      if (!model::parse_xml(in, "in").child("uuid"))
        mine.children.erase(mine.children.begin() +
                            (mine.child("uuid") - mine.children.data()));
      auto why = differs(mine, theirs);
      if (file_exists(sidecars + name + ".qemu-differs"))
        BOOST_TEST(why.has_value());
      else
        BOOST_TEST(!why, "not as libvirt writes it: " << why.value_or(""));
    }
  }
}

// Disk images, logs, sockets and the channel folder move into a temporary folder;
// -kernel, -initrd and -append go (the guest tests of qemu_integration boot a real
// kernel); -accel kvm becomes tcg where KVM is not usable; VNC listens on a unix socket,
// not on a TCP port another test may hold.
BOOST_AUTO_TEST_CASE(every_golden_command_line_is_started_by_qemu) {
  auto cases = files_ending(goldens, ".args");
  BOOST_TEST_REQUIRE(cases.size() >= 3u);
  for (auto& name : cases) {
    BOOST_TEST_CONTEXT("golden " << name << ".args") {
      std::string dir = temp_dir("conf");
      std::vector<std::string> argv;
      std::string text = read_file(goldens + name + ".args");
      for (size_t at = 0; at < text.size();) {
        size_t end = text.find('\n', at);
        argv.push_back(text.substr(at, end - at));
        at = end == std::string::npos ? text.size() : end + 1;
      }
      std::vector<std::string> args;
      for (size_t i = 0; i < argv.size(); ++i) {
        std::string a = argv[i];
        if ((a == "-kernel" || a == "-initrd" || a == "-append") && i + 1 < argv.size()) {
          ++i;
          continue;
        }
        if (a == "kvm" && i > 0 && argv[i - 1] == "-accel" && !kvm_usable())
          a = "tcg";
        if (i > 0 && argv[i - 1] == "-vnc") {
          size_t comma = a.find(',');
          a = "unix:" + dir + "/vnc.sock" +
              (comma == std::string::npos ? "" : a.substr(comma));
        }
        a = replaced(a, "/run/domus/", dir + "/run/");
        a = replaced(a, "/var/log/domus/", dir + "/log/");
        args.push_back(a);
      }
      // What the command line names: its folders, and its images, each a new file of
      // its format in the temporary folder.
      for (const char* sub : {"/run", "/run/qmp", "/run/channel", "/images", "/log"})
        ::mkdir((dir + sub).c_str(), 0700);
      std::regex channel_dir(dir + "/run/channel/[0-9a-f-]+");
      std::regex image("\"filename\":\"([^\"]+)\"");
      int images = 0;
      for (auto& a : args) {
        std::smatch m;
        if (std::regex_search(a, m, channel_dir))
          ::mkdir(m[0].str().c_str(), 0700);
        if (std::regex_search(a, m, image)) {
          std::string from = m[1];
          bool qcow2 = from.size() > 6 && from.compare(from.size() - 6, 6, ".qcow2") == 0;
          std::string file =
              dir + "/images/" + std::to_string(images++) + (qcow2 ? ".qcow2" : ".img");
          a = replaced(a, "\"filename\":\"" + from + "\"",
                       "\"filename\":\"" + file + "\"");
          auto made = run({"/usr/bin/qemu-img", "create", "-q", "-f",
                           qcow2 ? "qcow2" : "raw", file, "16M"});
          BOOST_TEST_REQUIRE(made.status == 0, made.err);
        }
      }
      std::smatch mon;
      std::string all;
      for (auto& a : args)
        all += a + "\n";
      BOOST_TEST_REQUIRE(
          std::regex_search(all, mon, std::regex("id=charmonitor,path=([^,\n]+)")),
          "no monitor socket in " << name << ".args");
      child qemu(args, {}, dir + "/qemu.log");
      int fd = connect_when_there(mon[1].str(), qemu);
      if (fd < 0) {
        qemu.signal(SIGKILL);
        qemu.wait();
        BOOST_ERROR("QEMU refused " << name << ".args: " << read_file(dir + "/qemu.log"));
        continue;
      }
      bool greeted = read_until(fd, "\"QMP\"").find("\"QMP\"") != std::string::npos;
      if (greeted) {
        send_line(fd, R"({"execute":"qmp_capabilities"})");
        greeted = read_until(fd, "\"return\"").find("\"return\"") != std::string::npos;
      }
      if (greeted)
        send_line(fd, R"({"execute":"quit"})");
      else
        qemu.signal(SIGKILL);
      int status = qemu.wait(20s);
      ::close(fd);
      BOOST_TEST((greeted && status == 0), name << ": QEMU ended " << status << ": "
                                                << read_file(dir + "/qemu.log"));
    }
  }
}

// domsh domxml-to-native qemu-argv: each golden definition becomes the golden command
// line (the monitor and channel folders under the daemon's run folder, not /run/domus),
// one shell line that /bin/sh splits back into exactly those words; a VNC password
// never appears in it.
BOOST_AUTO_TEST_CASE(domxml_to_native_prints_the_command_line_a_start_runs) {
  daemon_process d;
  auto cases = files_ending(goldens, ".args");
  BOOST_TEST_REQUIRE(cases.size() >= 3u);
  for (auto& name : cases) {
    BOOST_TEST_CONTEXT("golden " << name) {
      auto native = d.domsh({"domxml-to-native", "qemu-argv", goldens + name + ".xml"},
                            "", "/session", "qemu");
      BOOST_TEST_REQUIRE(native.status == 0, native.err);
      BOOST_TEST(native.out.find("s3cret") == std::string::npos);
      std::string line = native.out.substr(0, native.out.find('\n'));
      auto words = run({"/bin/sh", "-c", "printf '%s\\n' " + line});
      BOOST_TEST_REQUIRE(words.status == 0, words.err);
      std::smatch m;
      BOOST_TEST_REQUIRE(
          std::regex_search(words.out, m, std::regex("charmonitor,path=(/[^\n]*)/qmp/")));
      std::string expected = "LC_ALL=C\nPATH=/usr/sbin:/usr/bin:/sbin:/bin\n" +
                             read_file(goldens + name + ".args");
      BOOST_TEST(replaced(words.out, m[1].str() + "/", "/run/domus/") == expected);
    }
  }
  auto unknown = d.domsh({"domxml-to-native", "vmx", goldens + "diskless.xml"}, "",
                         "/session", "qemu");
  BOOST_TEST(unknown.status != 0);
  BOOST_TEST(unknown.err.find("unknown native format 'vmx' (the QEMU driver converts to: "
                              "qemu-argv)") != std::string::npos,
             unknown.err);
}
