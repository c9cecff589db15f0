#define BOOST_TEST_MODULE qemu_integration
#include <boost/test/unit_test.hpp>

#include "daemon.hpp"
#include "process.hpp"
#include "qemu_processes.hpp"
#include "test_files.hpp"

#include <domus/protocol/client.hpp>

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <fstream>
#include <netinet/in.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>

// The QEMU driver (plugins/qemu/) running real QEMU on TCG under qemu:///session: the
// real daemon, driven through domsh and the protocol, and the QEMU processes checked in
// /proc. Guests here are diskless (SeaBIOS idles); every QEMU a test starts is killed
// by its pid at teardown, pass or fail.

using namespace domus::testing;
using domus::protocol::errc;
using domus::protocol::json;
using namespace std::chrono_literals;

namespace {

const std::string session = "qemu:///session";

std::string guest_xml(const std::string& name, const std::string& extra_devices = "",
                      const std::string& type = "qemu") {
  return "<domain type='" + type + "'><name>" + name +
         "</name><memory unit='MiB'>64</memory><vcpu>1</vcpu>"
         "<os><type arch='x86_64' machine='pc'>hvm</type></os>"
         "<devices><serial type='pty'/><console type='pty'/>"
         "<memballoon model='none'/>" +
         extra_devices + "</devices></domain>";
}

struct fixture {
  std::unique_ptr<daemon_process> d;
  std::unique_ptr<domus::protocol::connection> c;
  qemu_reaper reaper;

  explicit fixture(const std::string& root = "") { boot(root); }
  void boot(const std::string& root) {
    c.reset();
    d = std::make_unique<daemon_process>(std::vector<std::string>{}, root);
    c = std::make_unique<domus::protocol::connection>(d->socket(), false);
  }
  void restart_after_kill9() {
    std::string root = d->root();
    c.reset();
    d->kill9();
    d.reset(); // the root stays: it was given
    boot(root);
  }
  run_result sh(const std::vector<std::string>& args) {
    return d->domsh(args, "", "/session", "qemu");
  }
  domus::protocol::reply call(const std::string& proc,
                              const json& args = json::object()) {
    return c->call(session, proc, args, 60s);
  }
  json ok(const std::string& proc, const json& args = json::object()) {
    auto r = call(proc, args);
    BOOST_TEST_REQUIRE(r.ok, proc << " " << args.dump() << ": " << r.message);
    return r.result;
  }
  void refused(const std::string& proc, const json& args, errc code,
               const std::string& part) {
    auto r = call(proc, args);
    BOOST_TEST_REQUIRE(!r.ok, proc << " " << args.dump() << " was accepted");
    BOOST_TEST((r.code == code), proc << ": " << r.message);
    BOOST_TEST(r.message.find(part) != std::string::npos,
               "'" << r.message << "' does not name '" << part << "'");
  }
  void define(const std::string& name, const std::string& xml) {
    reaper.names.push_back(name);
    ok("domain.define", {{"xml", xml}});
  }
  std::string state(const std::string& name) {
    auto r = sh({"domstate", "--reason", name});
    BOOST_TEST_REQUIRE(r.status == 0, r.err);
    return r.out;
  }
  // The lifecycle events of `name` in the journal, "event/detail" each.
  std::vector<std::string> events(const std::string& name) {
    auto r =
        c->call("", "events.since", {{"after", 0}, {"topic", "domain.lifecycle"}}, 10s);
    BOOST_TEST_REQUIRE(r.ok, r.message);
    std::vector<std::string> out;
    for (const auto& e : r.result["events"])
      if (e.value("domain", json::object()).value("name", "") == name)
        out.push_back(e["event"].get<std::string>() + "/" +
                      e["detail"].get<std::string>());
    return out;
  }
  // Polls (bounded) until the journal holds `n` events of `name`.
  std::vector<std::string> wait_events(const std::string& name, size_t n) {
    auto until = std::chrono::steady_clock::now() + 30s;
    std::vector<std::string> got;
    while (std::chrono::steady_clock::now() < until) {
      got = events(name);
      if (got.size() >= n)
        return got;
      std::this_thread::sleep_for(20ms);
    }
    return got;
  }
};

std::string joined(const std::vector<std::string>& v) {
  std::string out;
  for (auto& s : v)
    out += (out.empty() ? "" : " ") + s;
  return out;
}

} // namespace

BOOST_AUTO_TEST_CASE(a_guest_runs_pauses_resumes_and_is_destroyed) {
  fixture f;
  f.define("q1", guest_xml("q1"));
  // The definition as the QEMU driver completes it: the concrete machine, the emulator.
  auto xml = f.sh({"dumpxml", "q1"});
  BOOST_TEST(xml.out.find("machine='pc-i440fx-") != std::string::npos, xml.out);
  BOOST_TEST(xml.out.find("<emulator>/usr/bin/qemu-system-x86_64</emulator>") !=
                 std::string::npos,
             xml.out);

  auto r = f.sh({"start", "q1"});
  BOOST_TEST_REQUIRE(r.status == 0, r.err);
  BOOST_TEST(r.out == "Domain 'q1' started\n\n");
  BOOST_TEST(f.state("q1") == "running (booted)\n\n");
  auto pids = qemu_pids("q1");
  BOOST_TEST_REQUIRE(pids.size() == 1u);
  // The live definition knows the serial port's pty.
  auto live = f.sh({"dumpxml", "q1"});
  BOOST_TEST(live.out.find("<source path='/dev/pts/") != std::string::npos, live.out);
  BOOST_TEST(live.out.find("id='") != std::string::npos, live.out);

  BOOST_TEST(f.sh({"suspend", "q1"}).status == 0);
  BOOST_TEST(f.state("q1") == "paused (user)\n\n");
  BOOST_TEST(f.sh({"resume", "q1"}).status == 0);
  BOOST_TEST(f.state("q1") == "running (unpaused)\n\n");

  auto info = f.sh({"dominfo", "q1"});
  BOOST_TEST(info.out.find("State:          running") != std::string::npos, info.out);
  BOOST_TEST(info.out.find("Max memory:     65536 KiB") != std::string::npos, info.out);

  // SeaBIOS alone ignores the power button: shutdown returns, the guest runs on, and
  // destroy still ends it.
  r = f.sh({"shutdown", "q1"});
  BOOST_TEST(r.status == 0, r.err);
  BOOST_TEST(r.out == "Domain 'q1' is being shutdown\n\n");
  BOOST_TEST(f.state("q1") == "running (unpaused)\n\n");
  r = f.sh({"destroy", "q1"});
  BOOST_TEST_REQUIRE(r.status == 0, r.err);
  BOOST_TEST(f.state("q1") == "shut off (destroyed)\n\n");
  BOOST_TEST(qemu_pids("q1").empty());
  BOOST_TEST(::kill(pids[0], 0) != 0, "QEMU's pid is gone (reaped by the daemon)");

  // libvirt's events for the same steps on real QEMU (../shared/libvirt-anchor.md).
  BOOST_TEST(joined(f.wait_events("q1", 7)) ==
             "defined/added resumed/unpaused started/booted suspended/paused "
             "resumed/unpaused shutdown/host stopped/destroyed");

  // The log: a header line with the command line per start, then what QEMU said.
  std::string log = read_file(f.d->root() + "/var/log/domus/qemu-session/q1.log");
  BOOST_TEST(
      log.find(": starting up\nLC_ALL=C PATH=/usr/sbin:/usr/bin:/sbin:/bin "
               "/usr/bin/qemu-system-x86_64 -name guest=q1,debug-threads=on -S ") !=
          std::string::npos,
      log);
}

BOOST_AUTO_TEST_CASE(a_guest_started_paused_runs_on_resume) {
  fixture f;
  f.define("q2", guest_xml("q2"));
  auto r = f.sh({"start", "--paused", "q2"});
  BOOST_TEST_REQUIRE(r.status == 0, r.err);
  BOOST_TEST(f.state("q2") == "paused (user)\n\n");
  BOOST_TEST(f.sh({"resume", "q2"}).status == 0);
  BOOST_TEST(f.state("q2") == "running (unpaused)\n\n");
  BOOST_TEST(f.sh({"destroy", "q2"}).status == 0);
  BOOST_TEST(joined(f.wait_events("q2", 6)) ==
             "defined/added started/booted suspended/paused resumed/unpaused "
             "shutdown/host stopped/destroyed");
}

// SIGKILL of the daemon while two guests run, one paused: both run on, and the next
// daemon takes them back with the same pids and states, then destroys them normally.
BOOST_AUTO_TEST_CASE(guests_outlive_a_killed_daemon_and_are_taken_back) {
  fixture f(temp_dir("qemu"));
  f.define("r1", guest_xml("r1"));
  f.define("r2", guest_xml("r2"));
  BOOST_TEST_REQUIRE(f.sh({"start", "r1"}).status == 0);
  BOOST_TEST_REQUIRE(f.sh({"start", "r2"}).status == 0);
  BOOST_TEST_REQUIRE(f.sh({"suspend", "r2"}).status == 0);
  auto p1 = qemu_pids("r1"), p2 = qemu_pids("r2");
  BOOST_TEST_REQUIRE(p1.size() == 1u);
  BOOST_TEST_REQUIRE(p2.size() == 1u);

  f.restart_after_kill9();
  BOOST_TEST(qemu_pids("r1") == p1);
  BOOST_TEST(qemu_pids("r2") == p2);
  BOOST_TEST(f.state("r1").rfind("running", 0) == 0u, f.state("r1"));
  BOOST_TEST(f.state("r2").rfind("paused", 0) == 0u, f.state("r2"));
  // The monitor is back: a resume reaches the paused guest.
  BOOST_TEST_REQUIRE(f.sh({"resume", "r2"}).status == 0);
  BOOST_TEST(f.state("r2") == "running (unpaused)\n\n");
  BOOST_TEST(f.sh({"destroy", "r1"}).status == 0);
  BOOST_TEST(f.sh({"destroy", "r2"}).status == 0);
  BOOST_TEST(qemu_pids("r1").empty());
  BOOST_TEST(qemu_pids("r2").empty());
  BOOST_TEST(f.state("r1") == "shut off (destroyed)\n\n");
}

// A QEMU that died while the daemon was down, and stays a zombie (this test process is
// its subreaper and does not reap it, as a PID 1 that never reaps): shut off with
// reason daemon and event stopped/failed; a pid now held by another process is never
// signalled (the zombie's pid is still taken, so nothing else holds it here).
BOOST_AUTO_TEST_CASE(a_guest_gone_while_the_daemon_was_down_is_shut_off) {
  BOOST_TEST_REQUIRE(::prctl(PR_SET_CHILD_SUBREAPER, 1) == 0);
  fixture f(temp_dir("qemu"));
  f.define("z1", guest_xml("z1"));
  BOOST_TEST_REQUIRE(f.sh({"start", "z1"}).status == 0);
  auto pids = qemu_pids("z1");
  BOOST_TEST_REQUIRE(pids.size() == 1u);
  std::string root = f.d->root();
  f.c.reset();
  f.d->kill9();
  f.d.reset();
  BOOST_TEST_REQUIRE(::kill(pids[0], SIGKILL) == 0);
  // Now our child (we are its subreaper): a zombie until we reap it, which we do only
  // after the daemon looked at it.
  auto until = std::chrono::steady_clock::now() + 10s;
  while (!qemu_pids("z1").empty() && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(10ms);
  BOOST_TEST_REQUIRE(qemu_pids("z1").empty());
  BOOST_TEST(::kill(pids[0], 0) == 0, "the zombie still holds its pid");
  f.boot(root);
  BOOST_TEST(f.state("z1") == "shut off (daemon)\n\n");
  auto ev = f.wait_events("z1", 4);
  BOOST_TEST(ev.back() == "stopped/failed", joined(ev));
  // The domain starts again.
  BOOST_TEST_REQUIRE(f.sh({"start", "z1"}).status == 0);
  BOOST_TEST(f.sh({"destroy", "z1"}).status == 0);
  int status = 0;
  ::waitpid(pids[0], &status, 0);
  ::prctl(PR_SET_CHILD_SUBREAPER, 0);
}

// What the driver cannot or will not run fails with an error naming it, and leaves
// nothing running.
BOOST_AUTO_TEST_CASE(bad_definitions_are_refused_naming_what_is_wrong) {
  fixture f;
  f.refused("domain.define",
            {{"xml", "<domain type='qemu'><name>m1</name><memory>65536</memory>"
                     "<os><type machine='pc-nonesuch'>hvm</type></os></domain>"}},
            errc::invalid_argument, "no machine type 'pc-nonesuch' (it has: ");
  f.refused("domain.define",
            {{"xml", "<domain type='xen'><name>m2</name><memory>65536</memory>"
                     "<os><type>hvm</type></os></domain>"}},
            errc::unsupported, "not 'xen'");

  // An element the driver does not apply yet fails start, named.
  f.define("u1", guest_xml("u1", "<sound model='ich9'/>"));
  f.refused("domain.start", {{"domain", "u1"}}, errc::unsupported, "<sound>");
  BOOST_TEST(qemu_pids("u1").empty());

  // A disk file that is not there: named, with the reason, before QEMU is spawned.
  f.define("u2", guest_xml("u2", "<disk type='file' device='disk'><driver name='qemu' "
                                 "type='raw'/><source file='/nonexistent/d.img'/>"
                                 "<target dev='vda' bus='virtio'/></disk>"));
  f.refused("domain.start", {{"domain", "u2"}}, errc::operation_failed,
            "disk 'vda' of domain 'u2': cannot open /nonexistent/d.img");

  // QEMU refusing an option: its own words in the error, nothing left running.
  f.define("u3",
           "<domain type='qemu' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>"
           "<name>u3</name><memory unit='MiB'>64</memory>"
           "<os><type arch='x86_64' machine='pc'>hvm</type></os>"
           "<devices><memballoon model='none'/></devices>"
           "<qemu:commandline><qemu:arg value='-no-such-option'/></qemu:commandline>"
           "</domain>");
  f.refused("domain.start", {{"domain", "u3"}}, errc::operation_failed,
            "-no-such-option");
  BOOST_TEST(qemu_pids("u3").empty());
  // The failed start is the domain's last error: QEMU's own words.
  std::string state = f.state("u3");
  BOOST_TEST(state.rfind("shut off (unknown)\nlast error: ", 0) == 0, state);
  BOOST_TEST(state.find("-no-such-option: invalid option") != std::string::npos, state);
}

// The monitor vanishing mid-command: QEMU, stopped so that it cannot answer, holds a
// `stop` (domsh suspend) when it is killed. The suspend fails naming QEMU's end, the
// domain is shut off (failed), and its last error says how QEMU ended.
BOOST_AUTO_TEST_CASE(a_qemu_killed_mid_command_fails_the_command_and_the_domain) {
  fixture f;
  f.define("q9", guest_xml("q9"));
  BOOST_TEST_REQUIRE(f.sh({"start", "q9"}).status == 0);
  auto pids = qemu_pids("q9");
  BOOST_TEST_REQUIRE(pids.size() == 1u);
  BOOST_TEST_REQUIRE(::kill(pids[0], SIGSTOP) == 0);
  child suspend({domsh_path(), "-c", f.d->uri("/session", "qemu"), "suspend", "q9"});
  // Bounded: until the suspend is the domain's running change, its `stop` sent.
  auto until = std::chrono::steady_clock::now() + 20s;
  bool out = false;
  while (!out && std::chrono::steady_clock::now() < until) {
    auto job = f.ok("domain.jobinfo", {{"domain", "q9"}})["job"];
    out = job.is_object() && job.value("proc", "") == "domain.suspend";
    if (!out)
      std::this_thread::sleep_for(10ms);
  }
  BOOST_TEST_REQUIRE(out, "the suspend never became the running change");
  BOOST_TEST_REQUIRE(::kill(pids[0], SIGKILL) == 0);
  BOOST_TEST(suspend.wait(20s) != 0);
  BOOST_TEST(suspend.err().find("QEMU") != std::string::npos, suspend.err());
  // The exit reaches the domain apart from the suspend's failure: polled, bounded.
  std::string state = f.state("q9");
  for (auto until = std::chrono::steady_clock::now() + 20s;
       state.rfind("shut off", 0) != 0 && std::chrono::steady_clock::now() < until;
       state = f.state("q9"))
    std::this_thread::sleep_for(10ms);
  BOOST_TEST(state.rfind("shut off (failed)\nlast error: ", 0) == 0, state);
  BOOST_TEST(state.find("was killed by signal 9") != std::string::npos, state);
  auto ev = f.wait_events("q9", 4);
  BOOST_TEST(!ev.empty());
  BOOST_TEST(ev.back() == "stopped/failed", joined(ev));
}

BOOST_AUTO_TEST_CASE(a_missing_emulator_is_named_at_start) {
  std::string root = temp_dir("qemu");
  ::mkdir((root + "/etc").c_str(), 0755);
  ::mkdir((root + "/etc/domus").c_str(), 0755);
  std::ofstream(root + "/etc/domus/qemu.conf") << "emulator = \"/nonexistent/qemu\"\n";
  fixture f(root);
  auto r = f.call("domain.define", {{"xml", guest_xml("e1")}});
  BOOST_TEST_REQUIRE(!r.ok);
  BOOST_TEST(
      r.message.find("the emulator /nonexistent/qemu: No such file or directory") !=
          std::string::npos,
      r.message);
}

// Type kvm: runs where /dev/kvm works, else start names /dev/kvm and why.
BOOST_AUTO_TEST_CASE(kvm_guests_run_where_kvm_works) {
  fixture f;
  f.define("k1", guest_xml("k1", "", "kvm"));
  auto r = f.call("domain.start", {{"domain", "k1"}});
  if (!r.ok) {
    BOOST_TEST(r.message.find("/dev/kvm") != std::string::npos, r.message);
    BOOST_TEST_MESSAGE("skipped: kvm_guests_run_where_kvm_works (KVM is not usable here: "
                       << r.message << ")");
    return;
  }
  BOOST_TEST(qemu_pids("k1").size() == 1u);
  std::string cmd =
      read_file("/proc/" + std::to_string(qemu_pids("k1").at(0)) + "/cmdline");
  BOOST_TEST(cmd.find(std::string("-accel") + '\0' + "kvm") != std::string::npos);
  BOOST_TEST(f.sh({"destroy", "k1"}).status == 0);
}

namespace {

// The pids of live processes whose command line starts with `argv0`.
std::vector<int> pids_named(const std::string& argv0) {
  std::vector<int> out;
  DIR* dir = ::opendir("/proc");
  while (dirent* e = dir ? ::readdir(dir) : nullptr) {
    int pid = std::atoi(e->d_name);
    if (pid <= 0)
      continue;
    std::string cmd = read_file("/proc/" + std::to_string(pid) + "/cmdline");
    std::string stat = read_file("/proc/" + std::to_string(pid) + "/stat");
    size_t paren = stat.rfind(')');
    bool zombie =
        paren != std::string::npos && stat.size() > paren + 2 && stat[paren + 2] == 'Z';
    if (!zombie && cmd.rfind(argv0 + '\0', 0) == 0)
      out.push_back(pid);
  }
  if (dir)
    ::closedir(dir);
  return out;
}

} // namespace

// A QEMU that never greets (an emulator that answers the probe, then hangs): the start's
// deadline passes, the driver ends what it spawned, and the domain is shut off; a
// destroy during such a start overtakes it. Nothing is left running either way.
BOOST_AUTO_TEST_CASE(a_hung_start_times_out_or_is_overtaken_by_a_destroy) {
  std::string root = temp_dir("qemu");
  ::mkdir((root + "/etc").c_str(), 0755);
  ::mkdir((root + "/etc/domus").c_str(), 0755);
  std::string tag = "qemu-hang-" + std::to_string(::getpid());
  std::string wrapper = root + "/hang-qemu";
  std::ofstream(wrapper) << "#!/bin/bash\n"
                            "case \" $* \" in *\" none,accel=tcg \"*) exec "
                            "/usr/bin/qemu-system-x86_64 \"$@\";; esac\n"
                            "exec -a "
                         << tag << " sleep 1000\n";
  ::chmod(wrapper.c_str(), 0755);
  std::ofstream(root + "/etc/domus/qemu.conf") << "emulator = \"" << wrapper << "\"\n";
  std::ofstream(root + "/etc/domus/domusd.conf") << "deadline_start_ms = 1500\n";
  struct cleanup {
    std::string tag;
    ~cleanup() {
      for (int pid : pids_named(tag))
        ::kill(pid, SIGKILL);
    }
  } reap{tag};
  fixture f(root);
  f.define("h1", guest_xml("h1"));

  // A destroy overtakes the start while it waits for QEMU's greeting.
  int64_t id = f.c->send(session, "domain.start", {{"domain", "h1"}});
  auto until = std::chrono::steady_clock::now() + 10s;
  while (pids_named(tag).empty() && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(5ms);
  BOOST_TEST_REQUIRE(pids_named(tag).size() == 1u);
  auto destroyed = f.call("domain.destroy", {{"domain", "h1"}});
  BOOST_TEST(destroyed.ok, destroyed.message);
  auto start = f.c->wait_for(id, 30s);
  BOOST_TEST(!start.ok);
  BOOST_TEST(pids_named(tag).empty());
  BOOST_TEST(f.state("h1").rfind("shut off", 0) == 0u, f.state("h1"));

  // The deadline passes: the caller hears timeout, and the driver ends the QEMU.
  auto r = f.call("domain.start", {{"domain", "h1"}});
  BOOST_TEST(!r.ok);
  BOOST_TEST((r.code == errc::timeout), r.message);
  until = std::chrono::steady_clock::now() + 30s;
  while (f.state("h1").rfind("shut off", 0) != 0 &&
         std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(20ms);
  BOOST_TEST(f.state("h1").rfind("shut off", 0) == 0u, f.state("h1"));
  until = std::chrono::steady_clock::now() + 30s;
  while (!pids_named(tag).empty() && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(20ms);
  BOOST_TEST(pids_named(tag).empty());
  // And the domain starts again once the call is back (refused as busy until then).
  until = std::chrono::steady_clock::now() + 30s;
  for (;;) {
    auto again = f.call("domain.start", {{"domain", "h1"}});
    if (again.code != errc::busy || std::chrono::steady_clock::now() > until) {
      BOOST_TEST((again.code == errc::timeout), again.message);
      break;
    }
    std::this_thread::sleep_for(20ms);
  }
}

// ---- against a real guest -------------------------------------------------------------
// The test guest (tests/guest/build.sh: Debian's cloud kernel and a busybox initramfs)
// powers off on the ACPI button, and reboots or panics when told so on its serial port,
// which QEMU offers here on a unix socket the test talks to.

namespace {

std::string guest_cache() {
  const char* env = std::getenv("DOMUS_TEST_CACHE");
  // Versioned: a guest built by an earlier tests/guest/build.sh is not reused.
  std::string dir =
      std::string(env && *env ? env : "/var/cache/domus-tests") + "/guest-2";
  auto r =
      run({"/bin/bash", std::string(DOMUS_SOURCE_DIR) + "/tests/guest/build.sh", dir});
  BOOST_TEST_REQUIRE(r.status == 0, "tests/guest/build.sh: " << r.err);
  return dir;
}

std::string real_guest_xml(const std::string& name, const std::string& serial_socket,
                           const std::string& extra = "",
                           const std::string& balloon = "none") {
  std::string dir = guest_cache();
  return "<domain type='qemu' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>"
         "<name>" +
         name +
         "</name><memory unit='MiB'>256</memory><vcpu>1</vcpu>"
         "<os><type arch='x86_64' machine='pc'>hvm</type><kernel>" +
         dir + "/vmlinuz</kernel><initrd>" + dir +
         "/initrd.gz</initrd><cmdline>console=ttyS0 quiet panic=0</cmdline></os>"
         "<features><acpi/></features>" +
         extra + "<devices><serial type='unix'><source mode='bind' path='" +
         serial_socket + "'/></serial><memballoon model='" + balloon +
         "'/><panic model='isa'/></devices></domain>";
}

// The guest's serial port: lines from it, requests to it.
class serial_port {
public:
  explicit serial_port(const std::string& path) {
    fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path.c_str());
    BOOST_TEST_REQUIRE(::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) ==
                           0,
                       path << ": " << std::strerror(errno));
  }
  ~serial_port() { ::close(fd_); }
  // Waits (bounded) until the guest printed `marker` since the last wait.
  void wait_for(const std::string& marker, std::chrono::seconds bound = 120s) {
    auto until = std::chrono::steady_clock::now() + bound;
    for (;;) {
      size_t at = seen_.find(marker);
      if (at != std::string::npos) {
        seen_.erase(0, at + marker.size());
        return;
      }
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          until - std::chrono::steady_clock::now());
      BOOST_TEST_REQUIRE(left.count() > 0, "no '" << marker << "' from the guest: "
                                                  << seen_.substr(0, 2000));
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0)
        continue;
      char buf[4096];
      ssize_t n = ::read(fd_, buf, sizeof buf);
      BOOST_TEST_REQUIRE(n > 0, "the guest's serial port closed: " << seen_);
      seen_.append(buf, static_cast<size_t>(n));
    }
  }
  void send(const std::string& line) {
    std::string text = line + "\n";
    BOOST_TEST_REQUIRE(::write(fd_, text.data(), text.size()) ==
                       static_cast<ssize_t>(text.size()));
  }

private:
  int fd_ = -1;
  std::string seen_;
};

// Polls (bounded) until domstate --reason says `want`.
void wait_state(fixture& f, const std::string& name, const std::string& want) {
  auto until = std::chrono::steady_clock::now() + 60s;
  std::string now;
  while (std::chrono::steady_clock::now() < until) {
    now = f.state(name);
    if (now == want)
      return;
    std::this_thread::sleep_for(20ms);
  }
  BOOST_TEST(now == want, "events: " << joined(f.events(name)));
}

// Defines and starts a real guest `name`; its serial port once it printed its marker.
std::unique_ptr<serial_port> boot_real_guest(fixture& f, const std::string& name,
                                             const std::string& extra = "",
                                             const std::string& balloon = "none") {
  std::string sock = f.d->root() + "/" + name + ".serial";
  f.define(name, real_guest_xml(name, sock, extra, balloon));
  auto r = f.sh({"start", name});
  BOOST_TEST_REQUIRE(r.status == 0, r.err);
  auto serial = std::make_unique<serial_port>(sock);
  serial->wait_for("DOMUS-GUEST-READY");
  return serial;
}

} // namespace

// `domsh shutdown`: the guest powers off on the ACPI button; libvirt's events, and the
// domain shut off (shutdown).
BOOST_AUTO_TEST_CASE(a_real_guest_powers_off_on_shutdown) {
  fixture f;
  auto serial = boot_real_guest(f, "g1");
  auto r = f.sh({"shutdown", "g1"});
  BOOST_TEST(r.status == 0, r.err);
  BOOST_TEST(r.out == "Domain 'g1' is being shutdown\n\n");
  wait_state(f, "g1", "shut off (shutdown)\n\n");
  BOOST_TEST(qemu_pids("g1").empty());
  BOOST_TEST(
      joined(f.wait_events("g1", 5)) ==
      "defined/added resumed/unpaused started/booted shutdown/guest stopped/shutdown");
}

// `domsh reboot` (libvirt's fake reboot: the power button, then a reset) and a reboot
// the guest does itself: it boots again each time and keeps running.
BOOST_AUTO_TEST_CASE(a_real_guest_reboots) {
  fixture f;
  auto serial = boot_real_guest(f, "g2");
  auto r = f.sh({"reboot", "g2"});
  BOOST_TEST(r.status == 0, r.err);
  BOOST_TEST(r.out == "Domain 'g2' is being rebooted\n\n");
  serial->wait_for("DOMUS-GUEST-POWEROFF");
  serial->wait_for("DOMUS-GUEST-READY");
  BOOST_TEST(f.state("g2") == "running (booted)\n\n");
  serial->send("reboot");
  serial->wait_for("DOMUS-GUEST-REBOOTING");
  serial->wait_for("DOMUS-GUEST-READY");
  BOOST_TEST(f.state("g2").rfind("running", 0) == 0u, f.state("g2"));
  BOOST_TEST(qemu_pids("g2").size() == 1u);
  BOOST_TEST(f.sh({"destroy", "g2"}).status == 0);
  // No stop or shutdown between: the reboots are no lifecycle events in libvirt.
  BOOST_TEST(
      joined(f.wait_events("g2", 5)) ==
      "defined/added resumed/unpaused started/booted shutdown/host stopped/destroyed");
}

// A guest that panics (pvpanic): crashed (panicked), then on_crash destroy shuts it off
// (crashed); with on_crash preserve it stays crashed until destroyed.
BOOST_AUTO_TEST_CASE(a_real_guest_panics) {
  fixture f;
  // The port is closed once the request is out: QEMU then drops what the guest prints,
  // and the panic's long report never waits for a reader.
  boot_real_guest(f, "g3")->send("panic");
  wait_state(f, "g3", "shut off (crashed)\n\n");
  BOOST_TEST(
      joined(f.wait_events("g3", 5)) ==
      "defined/added resumed/unpaused started/booted crashed/panicked stopped/crashed");
  BOOST_TEST(qemu_pids("g3").empty());

  boot_real_guest(f, "g4", "<on_crash>preserve</on_crash>")->send("panic");
  wait_state(f, "g4", "crashed (panicked)\n\n");
  BOOST_TEST(qemu_pids("g4").size() == 1u);
  BOOST_TEST(f.sh({"destroy", "g4"}).status == 0);
  BOOST_TEST(f.state("g4") == "shut off (destroyed)\n\n");
}

// What virt-install writes for a Debian guest (q35, virtio disk on qcow2, user NIC, the
// guest agent's channel, a VNC display with autoport and a password, an RNG, timers and
// power management), started for real: the display answers on its port, the password is
// nowhere on the command line or in the log, the agent's socket is there.
BOOST_AUTO_TEST_CASE(a_virt_install_definition_runs) {
  fixture f;
  std::string image = f.d->root() + "/vi1.qcow2";
  auto made = run({"/usr/bin/qemu-img", "create", "-q", "-f", "qcow2", image, "1G"});
  BOOST_TEST_REQUIRE(made.status == 0, made.err);
  std::string xml =
      read_file(std::string(DOMUS_SOURCE_DIR) + "/tests/data/qemu/virt_install.xml");
  auto swap = [&](const std::string& from, const std::string& to) {
    size_t at = xml.find(from);
    BOOST_TEST_REQUIRE(at != std::string::npos, from);
    xml.replace(at, from.size(), to);
  };
  swap("<name>debian12</name>", "<name>vi1</name>");
  swap("<uuid>5d7bd8b7-9c2b-4d4e-8c3e-2d1f2b9a7c11</uuid>", "");
  swap("/var/lib/domus/images/debian12.qcow2", image);
  swap("port='5901' autoport='no'", "port='-1' autoport='yes'");
  f.define("vi1", xml);
  auto r = f.sh({"start", "vi1"});
  BOOST_TEST_REQUIRE(r.status == 0, r.err);
  auto pids = qemu_pids("vi1");
  BOOST_TEST_REQUIRE(pids.size() == 1u);

  // The display's port, in the live definition; VNC's greeting on it.
  auto live = f.sh({"dumpxml", "--security-info", "vi1"}).out;
  size_t at = live.find("<graphics type='vnc' port='");
  BOOST_TEST_REQUIRE(at != std::string::npos, live);
  int port = std::atoi(live.c_str() + at + std::strlen("<graphics type='vnc' port='"));
  BOOST_TEST(port >= 5900);
  // Used memory from the balloon (query-balloon): all of it, no guest driver moved it.
  BOOST_TEST(f.sh({"dominfo", "vi1"}).out.find("Used memory:    2097152 KiB\n") !=
             std::string::npos);
  BOOST_TEST(f.sh({"vncdisplay", "vi1"}).out ==
             "127.0.0.1:" + std::to_string(port - 5900) + "\n\n");
  BOOST_TEST(f.sh({"domblklist", "vi1"}).out.find(" vda      " + image + "\n") !=
             std::string::npos);
  BOOST_TEST(f.sh({"domiflist", "vi1"})
                 .out.find("   user   -        virtio   52:54:00:6b:3c:58\n") !=
             std::string::npos);
  BOOST_TEST(live.find("passwd='s3cret'") != std::string::npos, live);
  BOOST_TEST(f.sh({"dumpxml", "vi1"}).out.find("s3cret") == std::string::npos);
  int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  BOOST_TEST_REQUIRE(::connect(s, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0,
                     std::strerror(errno));
  char greeting[12] = {};
  BOOST_TEST(::recv(s, greeting, sizeof greeting, MSG_WAITALL) == 12);
  BOOST_TEST(std::string(greeting, 4) == "RFB ");
  ::close(s);

  std::string cmd = read_file("/proc/" + std::to_string(pids[0]) + "/cmdline");
  BOOST_TEST(cmd.find("s3cret") == std::string::npos);
  BOOST_TEST(
      read_file(f.d->root() + "/var/log/domus/qemu-session/vi1.log").find("s3cret") ==
      std::string::npos);
  // The guest agent's socket, where libvirt would make it for a channel without a path.
  auto uuid = f.sh({"domuuid", "vi1"}).out;
  uuid = uuid.substr(0, uuid.find('\n'));
  struct stat st {};
  BOOST_TEST(::stat((f.d->root() + "/run/domus/qemu-session/channel/" + uuid +
                     "/org.qemu.guest_agent.0")
                        .c_str(),
                    &st) == 0);
  BOOST_TEST(S_ISSOCK(st.st_mode));
  BOOST_TEST(f.sh({"destroy", "vi1"}).status == 0);
}

// `domsh version` and `domsh capabilities` from the probed emulator, as virsh shows them
// for libvirt's QEMU driver.
BOOST_AUTO_TEST_CASE(version_and_capabilities_come_from_the_emulator) {
  fixture f;
  auto v = f.sh({"version"});
  BOOST_TEST_REQUIRE(v.status == 0, v.err);
  auto probed = run({"/usr/bin/qemu-system-x86_64", "--version"});
  std::string qemu = probed.out.substr(std::strlen("QEMU emulator version "));
  qemu = qemu.substr(0, qemu.find_first_of(" \n"));
  BOOST_TEST(v.out.find("Running hypervisor: QEMU " + qemu + "\n") != std::string::npos,
             v.out);
  auto c = f.sh({"capabilities"});
  BOOST_TEST_REQUIRE(c.status == 0, c.err);
  for (const char* part :
       {"<capabilities>\n\n  <host>\n", "      <arch>x86_64</arch>\n",
        "    <os_type>hvm</os_type>\n    <arch name='x86_64'>\n      "
        "<wordsize>64</wordsize>\n"
        "      <emulator>/usr/bin/qemu-system-x86_64</emulator>\n",
        "      <machine canonical='pc-i440fx-", "      <domain type='qemu'/>\n"})
    BOOST_TEST(c.out.find(part) != std::string::npos, part);
}

// A disk whose writes fail (blkdebug injects EIO, through <qemu:commandline>) and whose
// error policy stops the guest: paused (ioerror), libvirt's suspended/ioerror.
BOOST_AUTO_TEST_CASE(a_real_guest_stops_on_a_disk_error) {
  fixture f;
  std::string image = f.d->root() + "/bad.img";
  auto made = run({"/usr/bin/qemu-img", "create", "-q", "-f", "raw", image, "16M"});
  BOOST_TEST_REQUIRE(made.status == 0, made.err);
  std::string blkdebug =
      "{\"driver\":\"blkdebug\",\"node-name\":\"bad\",\"inject-error\":[{\"event\":"
      "\"pwritev\",\"errno\":5,\"immediately\":true}],\"image\":{\"driver\":\"file\","
      "\"filename\":\"" +
      image + "\"}}";
  std::string extra =
      "<qemu:commandline><qemu:arg value='-blockdev'/><qemu:arg value='" + blkdebug +
      "'/><qemu:arg value='-device'/><qemu:arg value='{\"driver\":\"virtio-blk-pci\","
      "\"drive\":\"bad\",\"id\":\"bad0\",\"werror\":\"stop\",\"rerror\":\"stop\"}'/>"
      "</qemu:commandline>";
  auto serial = boot_real_guest(f, "io1", extra);
  // Passed-through arguments taint the domain, in its log as libvirt writes it.
  BOOST_TEST(read_file(f.d->root() + "/var/log/domus/qemu-session/io1.log")
                 .find(": Domain 'io1' is tainted: custom-argv\n") != std::string::npos);
  serial->send("write");
  wait_state(f, "io1", "paused (I/O error)\n\n");
  BOOST_TEST(joined(f.wait_events("io1", 4)) ==
             "defined/added resumed/unpaused started/booted suspended/ioerror");
  BOOST_TEST(f.sh({"destroy", "io1"}).status == 0);
}

// Two domains given one disk image read-write: the second start is refused naming the
// first; marked <shareable/> in both, both run.
BOOST_AUTO_TEST_CASE(a_disk_written_by_a_running_domain_is_not_given_to_another) {
  fixture f;
  std::string image = f.d->root() + "/shared.img";
  auto made = run({"/usr/bin/qemu-img", "create", "-q", "-f", "raw", image, "16M"});
  BOOST_TEST_REQUIRE(made.status == 0, made.err);
  auto disk = [&](bool shareable) {
    return "<disk type='file' device='disk'><driver name='qemu' type='raw'/><source "
           "file='" +
           image + "'/><target dev='vda' bus='virtio'/>" +
           (shareable ? "<shareable/>" : "") + "</disk>";
  };
  f.define("s1", guest_xml("s1", disk(false)));
  f.define("s2", guest_xml("s2", disk(false)));
  BOOST_TEST_REQUIRE(f.sh({"start", "s1"}).status == 0);
  f.refused("domain.start", {{"domain", "s2"}}, errc::invalid_operation,
            "disk 'vda' of domain 's2' (" + image +
                ") is written by running domain 's1'");
  BOOST_TEST(qemu_pids("s2").empty());
  BOOST_TEST(f.sh({"destroy", "s1"}).status == 0);

  f.define("s1", guest_xml("s1", disk(true)));
  f.define("s2", guest_xml("s2", disk(true)));
  BOOST_TEST_REQUIRE(f.sh({"start", "s1"}).status == 0);
  auto r = f.sh({"start", "s2"});
  BOOST_TEST(r.status == 0, r.err);
  BOOST_TEST(qemu_pids("s2").size() == 1u);
  BOOST_TEST(f.sh({"destroy", "s1"}).status == 0);
  BOOST_TEST(f.sh({"destroy", "s2"}).status == 0);
}

// A status file whose pid is now another process (its start time differs): the domain
// is shut off at restart, and that process is never signalled.
BOOST_AUTO_TEST_CASE(a_status_pid_now_held_by_another_process_is_not_signalled) {
  fixture f(temp_dir("qemu"));
  f.define("p1", guest_xml("p1"));
  BOOST_TEST_REQUIRE(f.sh({"start", "p1"}).status == 0);
  std::string root = f.d->root();
  f.c.reset();
  f.d->kill9();
  f.d.reset();
  // Another process, and the status pointing at it.
  child other({"/bin/sleep", "1000"});
  std::string path = root + "/run/domus/qemu-session/p1.xml";
  std::string status = read_file(path);
  size_t a = status.find("<privdata>") + std::strlen("<privdata>");
  size_t b = status.find("</privdata>");
  BOOST_TEST_REQUIRE(b > a);
  std::string hex = status.substr(a, b - a), data;
  for (size_t i = 0; i + 1 < hex.size(); i += 2)
    data += static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16));
  json priv = json::parse(data);
  priv["pid"] = other.pid();
  std::string text = priv.dump(), out;
  static const char digits[] = "0123456789abcdef";
  for (unsigned char c : text) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  status.replace(a, b - a, out);
  write_file(path, status);
  f.boot(root);
  BOOST_TEST(f.state("p1") == "shut off (daemon)\n\n");
  BOOST_TEST(other.running(), "the other process was signalled");
  other.signal(SIGKILL);
  other.wait();
}

// `domsh domcapabilities`: what the driver applies for the queried machine and type;
// a machine the emulator lacks is named with the ones it has.
BOOST_AUTO_TEST_CASE(domain_capabilities_say_what_the_driver_applies) {
  fixture f;
  auto r = f.sh({"domcapabilities", "--virttype", "qemu", "--machine", "q35"});
  BOOST_TEST_REQUIRE(r.status == 0, r.err);
  for (const char* part :
       {"<domainCapabilities>\n  <path>/usr/bin/qemu-system-x86_64</path>\n"
        "  <domain>qemu</domain>\n  <machine>pc-q35-",
        "<mode name='host-passthrough' supported='no'/>", "<value>sata</value>",
        "<model usable='unknown'>qemu64</model>", "<value>vnc</value>"})
    BOOST_TEST(r.out.find(part) != std::string::npos, part << " in " << r.out);
  auto bad = f.sh({"domcapabilities", "--machine", "pc-nonesuch"});
  BOOST_TEST(bad.status != 0);
  BOOST_TEST(bad.err.find("no machine type 'pc-nonesuch' (it has: ") != std::string::npos,
             bad.err);
}

// <currentMemory> below <memory> with a virtio balloon: the start sets the balloon's
// target, the guest's driver gives the rest back, and dominfo's used memory (from
// query-balloon) shows it.
BOOST_AUTO_TEST_CASE(a_real_guest_is_ballooned_to_its_current_memory) {
  fixture f;
  auto serial =
      boot_real_guest(f, "b1", "<currentMemory unit='MiB'>128</currentMemory>", "virtio");
  auto until = std::chrono::steady_clock::now() + 60s;
  std::string info;
  while (std::chrono::steady_clock::now() < until) {
    info = f.sh({"dominfo", "b1"}).out;
    if (info.find("Used memory:    131072 KiB\n") != std::string::npos)
      break;
    std::this_thread::sleep_for(50ms);
  }
  BOOST_TEST(info.find("Used memory:    131072 KiB\n") != std::string::npos, info);
  BOOST_TEST(info.find("Max memory:     262144 KiB\n") != std::string::npos, info);
  BOOST_TEST(f.sh({"destroy", "b1"}).status == 0);
}

// A <disk type='volume'> runs on its volume (host resolve_volume, ABI 1.3): QEMU gets
// the pool's file in the volume's format, the live definition keeps the disk as given,
// the volume cannot be deleted under the guest, and a volume or pool that is not there
// fails the start naming it. domxml-to-native resolves it the same way.
BOOST_AUTO_TEST_CASE(volume_disks_run_on_their_pools_files) {
  fixture f;
  std::string dir = f.d->root() + "/vols";
  auto r = f.sh({"pool-create-as vols dir --target " + dir + " --build; " +
                 "vol-create-as vols disk.qcow2 16M --format qcow2"});
  BOOST_TEST_REQUIRE(r.status == 0, r.err);
  auto disk = [](const std::string& pool, const std::string& vol) {
    return "<disk type='volume' device='disk'><source pool='" + pool + "' volume='" +
           vol + "'/><target dev='vda' bus='virtio'/></disk>";
  };
  f.define("v1", guest_xml("v1", disk("vols", "disk.qcow2")));
  r = f.sh({"start", "v1"});
  BOOST_TEST_REQUIRE(r.status == 0, r.err);
  auto pids = qemu_pids("v1");
  BOOST_TEST_REQUIRE(pids.size() == 1u);
  std::string cmd = read_file("/proc/" + std::to_string(pids[0]) + "/cmdline");
  BOOST_TEST(cmd.find("\"filename\":\"" + dir + "/disk.qcow2\"") != std::string::npos,
             cmd);
  BOOST_TEST(cmd.find("\"driver\":\"qcow2\"") != std::string::npos, cmd);
  std::string live = f.ok("domain.xml", {{"domain", "v1"}})["xml"].get<std::string>();
  BOOST_TEST(live.find("<disk type='volume' device='disk'>") != std::string::npos, live);
  BOOST_TEST(live.find("<source pool='vols' volume='disk.qcow2'/>") != std::string::npos,
             live);
  r = f.sh({"vol-delete disk.qcow2 --pool vols"});
  BOOST_TEST(r.status != 0);
  BOOST_TEST(r.err.find("domain 'v1' uses it") != std::string::npos, r.err);
  // An upload would replace the file under the running guest: refused, naming it.
  write_file(f.d->root() + "/image", "new content");
  r = f.sh({"vol-upload disk.qcow2 " + f.d->root() + "/image --pool vols"});
  BOOST_TEST(r.status != 0);
  BOOST_TEST(r.err.find("storage volume 'disk.qcow2' of pool 'vols' cannot be uploaded "
                        "to: running domain 'v1' uses it") != std::string::npos,
             r.err);
  // domxml-to-native names the same file.
  std::string xml_file = f.d->root() + "/v1.xml";
  write_file(xml_file, guest_xml("v9", disk("vols", "disk.qcow2")));
  r = f.sh({"domxml-to-native", "qemu-argv", xml_file});
  BOOST_TEST_REQUIRE(r.status == 0, r.err);
  BOOST_TEST(r.out.find(dir + "/disk.qcow2") != std::string::npos, r.out);
  BOOST_TEST(f.sh({"destroy", "v1"}).status == 0);

  f.define("v2", guest_xml("v2", disk("vols", "nope")));
  f.refused("domain.start", {{"domain", "v2"}}, errc::no_volume,
            "disk 'vda' of domain 'v2': volume 'nope' of storage pool 'vols': the pool "
            "has no such volume");
  f.define("v3", guest_xml("v3", disk("gone", "disk.qcow2")));
  f.refused("domain.start", {{"domain", "v3"}}, errc::no_pool,
            "disk 'vda' of domain 'v3': no storage pool named 'gone'");
  BOOST_TEST(qemu_pids("v2").empty());
  BOOST_TEST(qemu_pids("v3").empty());
}
