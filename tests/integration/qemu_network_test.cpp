#define BOOST_TEST_MODULE qemu_network_integration
#include <boost/test/unit_test.hpp>

#include "daemon.hpp"
#include "process.hpp"
#include "qemu_processes.hpp"
#include "test_files.hpp"

#include <sched.h>

#include <cerrno>
#include <cstring>
#include <sstream>
#include <thread>

// Bridge and ethernet interfaces of the QEMU driver: tap devices made in the daemon's
// network namespace, attached to a bridge, named in the live definition, gone with
// QEMU. The whole test program first moves into a network namespace of its own (the
// daemon and its QEMUs are its children), where it makes the bridge: the host's
// interfaces, routes and firewall are never touched. Without the right to make one
// (not root), every test here is reported skipped by name.

using namespace domus::testing;
using namespace std::chrono_literals;

namespace {

const char* const bridge = "br-domus";
std::string why_not; // why this machine cannot run these tests; empty when it can

run_result ip(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {"/sbin/ip"};
  argv.insert(argv.end(), args.begin(), args.end());
  return run(argv);
}

// Moves this process (its main thread, which forks every child) into a new network
// namespace and makes the bridge there.
struct own_namespace {
  own_namespace() {
    if (::unshare(CLONE_NEWNET) != 0) {
      why_not = std::string("cannot make a network namespace: ") + std::strerror(errno);
      return;
    }
    for (auto args :
         std::vector<std::vector<std::string>>{{"link", "set", "lo", "up"},
                                               {"link", "add", bridge, "type", "bridge"},
                                               {"link", "set", bridge, "up"}}) {
      auto r = ip(args);
      if (r.status != 0) {
        why_not = "ip " + args[0] + " " + args[1] + ": " + r.err;
        return;
      }
    }
  }
};
BOOST_TEST_GLOBAL_FIXTURE(own_namespace);

bool skipped() {
  if (why_not.empty())
    return false;
  BOOST_TEST_MESSAGE("skipped " << boost::unit_test::framework::current_test_case().p_name
                                << ": " << why_not);
  return true;
}

bool link_exists(const std::string& name) {
  return ip({"-o", "link", "show", "dev", name}).status == 0;
}

// Polls (bounded) until the device is gone.
bool gone(const std::string& name) {
  auto until = std::chrono::steady_clock::now() + 20s;
  while (std::chrono::steady_clock::now() < until) {
    if (!link_exists(name))
      return true;
    std::this_thread::sleep_for(20ms);
  }
  return false;
}

// Whether a table has a row of these words, however the columns are padded.
bool has_row(const std::string& table, const std::string& words) {
  std::istringstream lines(table);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream in(line);
    std::string w, joined;
    while (in >> w)
      joined += (joined.empty() ? "" : " ") + w;
    if (joined == words)
      return true;
  }
  return false;
}

std::string guest(const std::string& name, const std::string& interfaces) {
  return "<domain type='qemu'><name>" + name +
         "</name><memory unit='MiB'>64</memory><vcpu>1</vcpu>"
         "<os><type arch='x86_64' machine='pc'>hvm</type></os>"
         "<devices><memballoon model='none'/>" +
         interfaces + "</devices></domain>";
}

struct fixture {
  daemon_process d;
  qemu_reaper reaper;
  run_result sh(const std::vector<std::string>& args) {
    return d.domsh(args, "", "/session", "qemu");
  }
  run_result define(const std::string& name, const std::string& xml) {
    reaper.names.push_back(name);
    std::string file = temp_dir("net") + "/" + name + ".xml";
    write_file(file, xml);
    return sh({"define", file});
  }
};

} // namespace

BOOST_FIXTURE_TEST_CASE(bridge_and_ethernet_interfaces_get_their_taps, fixture) {
  if (skipped())
    return;
  auto def =
      define("n1", guest("n1", "<interface type='bridge'><source bridge='br-domus'/>"
                               "<mac address='52:54:00:aa:bb:01'/>"
                               "<model type='virtio'/></interface>"
                               "<interface type='ethernet'><target dev='tapdomus0'/>"
                               "<mac address='52:54:00:aa:bb:02'/></interface>"));
  BOOST_TEST_REQUIRE(def.status == 0, def.err);
  auto start = sh({"start", "n1"});
  BOOST_TEST_REQUIRE(start.status == 0, start.err);
  // The bridge's port: the kernel's first vnet name, the guest's MAC under 0xfe.
  auto ports = ip({"-o", "link", "show", "master", bridge});
  BOOST_TEST(ports.out.find("vnet0") != std::string::npos, ports.out);
  auto vnet = ip({"-o", "link", "show", "dev", "vnet0"});
  BOOST_TEST(vnet.out.find("fe:54:00:aa:bb:01") != std::string::npos, vnet.out);
  BOOST_TEST(vnet.out.find(",UP") != std::string::npos, vnet.out);
  auto eth = ip({"-o", "link", "show", "dev", "tapdomus0"});
  BOOST_TEST(eth.status == 0, eth.err);
  BOOST_TEST(eth.out.find("master") == std::string::npos, eth.out);
  auto list = sh({"domiflist", "n1"});
  BOOST_TEST(has_row(list.out, "vnet0 bridge br-domus virtio 52:54:00:aa:bb:01"),
             list.out);
  BOOST_TEST(has_row(list.out, "tapdomus0 ethernet - rtl8139 52:54:00:aa:bb:02"),
             list.out);
  BOOST_TEST(sh({"dumpxml", "n1"}).out.find("<target dev='vnet0'/>") !=
             std::string::npos);
  BOOST_TEST(sh({"dumpxml", "--inactive", "n1"}).out.find("vnet0") == std::string::npos);

  // A SIGKILLed daemon leaves QEMU holding its taps; the next one takes it back.
  std::string root = d.root();
  auto pids = qemu_pids("n1");
  BOOST_TEST_REQUIRE(pids.size() == 1u);
  d.kill9();
  daemon_process again({}, root);
  BOOST_TEST(again.domsh({"domstate", "n1"}, "", "/session", "qemu").out ==
             "running\n\n");
  BOOST_TEST(link_exists("vnet0"));
  BOOST_TEST(qemu_pids("n1") == pids);
  auto stop = again.domsh({"destroy", "n1"}, "", "/session", "qemu");
  BOOST_TEST(stop.status == 0, stop.err);
  BOOST_TEST(gone("vnet0"));
  BOOST_TEST(gone("tapdomus0"));
}

BOOST_FIXTURE_TEST_CASE(a_missing_bridge_is_named_and_nothing_is_left, fixture) {
  if (skipped())
    return;
  auto def = define("n2", guest("n2", "<interface type='bridge'><source "
                                      "bridge='br-nosuch'/></interface>"));
  BOOST_TEST_REQUIRE(def.status == 0, def.err);
  auto start = sh({"start", "n2"});
  BOOST_TEST(start.status != 0);
  BOOST_TEST(start.err.find("bridge 'br-nosuch' does not exist") != std::string::npos,
             start.err);
  BOOST_TEST(qemu_pids("n2").empty());
  BOOST_TEST(ip({"-o", "link", "show"}).out.find("vnet") == std::string::npos);
  BOOST_TEST(sh({"domstate", "n2"}).out == "shut off\n\n");
}
