#define BOOST_TEST_MODULE devices_integration
#include <boost/test/unit_test.hpp>

#include "daemon.hpp"
#include "small_fs.hpp"
#include "test_files.hpp"

#include <domus/protocol/client.hpp>

#include <sys/stat.h>

// Device changes and domain capabilities through the real daemon and domsh, on the
// probe driver (tests/plugins: disks found by their target, in the definition and the
// running guest's): which definition each of virsh's options changes, that a config
// change is on disk and survives a restart, that a refused change (by the schema, the
// runtime or the driver) changes nothing, and that a definition the disk cannot take
// leaves the persistent definition, the driver's included, as it was. The test driver
// refuses devices as libvirt's does (cli_integration, beside virsh).

using namespace domus::testing;
using domus::protocol::errc;
using domus::protocol::json;
using namespace std::chrono_literals;

namespace {

const std::string vdb = "<disk type='file' device='disk'>\n"
                        "  <target bus='virtio' dev='vdb'/>\n"
                        "  <source file='/images/b.img'/>\n"
                        "</disk>\n";

struct fixture {
  std::string root = temp_dir("dv");
  std::string plugins = probe_plugin_dir();
  std::unique_ptr<daemon_process> d = start();
  std::string dir = temp_dir("x");
  std::string disk = dir + "/vdb.xml";

  fixture() {
    write_file(disk, vdb);
    write_file(dir + "/g.xml", probe_xml("g"));
  }
  ~fixture() {
    sh("destroy g");
    sh("destroy g", "probe10:///system");
  }

  std::unique_ptr<daemon_process> start() {
    return std::make_unique<daemon_process>(
        std::vector<std::string>{"--plugin-dir", plugins}, root);
  }
  run_result sh(const std::string& cmds, const std::string& uri = "probe:///system") {
    return run({domsh_path(), "-c", uri + "?socket=" + d->socket(), cmds});
  }
  // How many disks with target vdb the definition shows.
  int disks(const std::string& which) {
    auto r = sh("dumpxml g" + which);
    BOOST_TEST_REQUIRE(r.status == 0, r.err);
    int n = 0;
    for (size_t at = 0; (at = r.out.find("dev='vdb'", at)) != std::string::npos; ++at)
      ++n;
    return n;
  }
  int live() { return disks(""); }
  int config() { return disks(" --inactive"); }
};

} // namespace

BOOST_FIXTURE_TEST_SUITE(devices, fixture)

// The options as virsh maps them: none is the running guest only; --config the next
// boot; --live the guest; --persistent both when it runs, the definition when it does
// not; --current whichever the domain's state means.
BOOST_AUTO_TEST_CASE(each_option_changes_its_definition) {
  BOOST_TEST(sh("define " + dir + "/g.xml").status == 0);
  auto no_guest = sh("attach-device g " + disk);
  BOOST_TEST(no_guest.status == 1);
  BOOST_TEST(no_guest.err == "error: cannot attach a device of domain 'g': it is not "
                             "running (flag live changes the running guest)\n");
  auto current = sh("attach-device g " + disk + " --current");
  BOOST_TEST(current.out == "Device attached successfully\n\n");
  BOOST_TEST(config() == 1);
  BOOST_TEST(sh("detach-device g " + disk + " --persistent").status == 0);
  BOOST_TEST(config() == 0);

  BOOST_TEST(sh("start g").status == 0);
  BOOST_TEST(sh("attach-device g " + disk).status == 0);
  BOOST_TEST(live() == 1);
  BOOST_TEST(config() == 0);
  BOOST_TEST(sh("detach-device g " + disk + " --current").status == 0);
  BOOST_TEST(live() == 0);
  BOOST_TEST(sh("attach-device g " + disk + " --config").status == 0);
  BOOST_TEST(live() == 0);
  BOOST_TEST(config() == 1);
  BOOST_TEST(sh("detach-device g " + disk + " --config").status == 0);
  auto both = sh("attach-device g " + disk + " --persistent");
  BOOST_TEST(both.out == "Device attached successfully\n\n");
  BOOST_TEST(live() == 1);
  BOOST_TEST(config() == 1);
  auto update = sh("update-device g " + disk + " --live --config");
  BOOST_TEST(update.out == "Device updated successfully\n\n", update.err);
  BOOST_TEST(sh("detach-device g " + disk + " --live --config").out ==
             "Device detached successfully\n\n");
  BOOST_TEST(live() == 0);
  BOOST_TEST(config() == 0);

  // virsh's exclusions, in its words.
  auto excl = sh("attach-device g " + disk + " --current --live");
  BOOST_TEST(excl.status == 1);
  BOOST_TEST(excl.err == "error: Options --current and --live are mutually exclusive\n");
  BOOST_TEST(sh("attach-device g " + disk + " --persistent --current").err ==
             "error: Options --persistent and --current are mutually exclusive\n");
}

// A config change is on disk before the reply, and what the next daemon (and the next
// start) finds.
BOOST_AUTO_TEST_CASE(a_config_change_survives_a_restart) {
  BOOST_TEST(sh("define " + dir + "/g.xml").status == 0);
  BOOST_TEST(sh("attach-device g " + disk + " --config").status == 0);
  d->kill9();
  d = start();
  BOOST_TEST(config() == 1);
  BOOST_TEST(sh("start g").status == 0);
  BOOST_TEST(live() == 1); // the driver boots what the disk holds
}

// Refusals change nothing and say what was wrong, where.
BOOST_AUTO_TEST_CASE(refusals_change_nothing) {
  BOOST_TEST(sh("define " + dir + "/g.xml").status == 0);
  BOOST_TEST(sh("attach-device g " + disk + " --config").status == 0);
  std::string before = sh("dumpxml g --inactive").out;

  write_file(dir + "/emulator.xml", "<emulator>/usr/bin/x</emulator>");
  auto not_device = sh("attach-device g " + dir + "/emulator.xml --config");
  BOOST_TEST(not_device.status == 1);
  BOOST_TEST(not_device.err.find("error: " + dir +
                                 "/emulator.xml:1: /emulator: <emulator> is not a device "
                                 "(expected one of disk, controller,") == 0u,
             not_device.err);
  write_file(dir + "/bus.xml", "<disk type='file'>\n  <target dev='vdc' bus='nope'/>\n"
                               "</disk>\n");
  auto bad_bus = sh("attach-device g " + dir + "/bus.xml --config");
  BOOST_TEST(bad_bus.err ==
             "error: " + dir +
                 "/bus.xml:2: /disk/target/@bus: unknown value 'nope' "
                 "(expected one of ide, scsi, virtio, xen, usb, uml, sata, "
                 "sd, fdc, none)\n");
  write_file(dir + "/broken.xml", "<disk type='file'>");
  BOOST_TEST(sh("attach-device g " + dir + "/broken.xml --config")
                 .err.find("error: " + dir + "/broken.xml:1: ") == 0u);
  // The driver's refusal: a target in use.
  auto twice = sh("attach-device g " + disk + " --config");
  BOOST_TEST(twice.err == "error: probe: a disk with target 'vdb' exists\n");
  BOOST_TEST(sh("dumpxml g --inactive").out == before);

  // A transient domain has no definition to change.
  write_file(dir + "/t.xml", probe_xml("t"));
  BOOST_TEST(sh("create " + dir + "/t.xml").status == 0);
  auto transient = sh("attach-device t " + disk + " --config");
  BOOST_TEST(transient.err == "error: cannot attach a device of domain 't': it is "
                              "transient, without a persistent definition to change "
                              "(flag config)\n");
  BOOST_TEST(sh("destroy t").status == 0);

  // Flags through the protocol: attach defines live and config only.
  domus::protocol::connection c(d->socket(), false);
  auto force = c.call("probe:///system", "domain.attach-device",
                      {{"domain", "g"}, {"xml", vdb}, {"flags", 4}}, 10s);
  BOOST_TEST(!force.ok);
  BOOST_TEST(static_cast<int>(force.code) == static_cast<int>(errc::invalid_argument));
  BOOST_TEST(force.message == "flags 0x4 of domain.attach-device are not defined (it "
                              "defines 0x1 (live), 0x2 (config))");
  auto no_xml = c.call("probe:///system", "domain.attach-device", {{"domain", "g"}}, 10s);
  BOOST_TEST(!no_xml.ok);
  BOOST_TEST(static_cast<int>(no_xml.code) == static_cast<int>(errc::bad_request));
  BOOST_TEST(sh("dumpxml g --inactive").out == before);
}

// A driver without the slots: the 1.0 probe, and libvirt's mock (cli_integration).
BOOST_AUTO_TEST_CASE(a_driver_without_devices_refuses_them) {
  BOOST_TEST(sh("define " + dir + "/g.xml", "probe10:///system").status == 0);
  auto r = sh("attach-device g " + disk + " --config", "probe10:///system");
  BOOST_TEST(r.status == 1);
  BOOST_TEST(r.err ==
             "error: the probe10 driver does not support 'domain.attach-device'\n");
  auto caps = sh("domcapabilities", "probe10:///system");
  BOOST_TEST(caps.err == "error: the probe10 driver does not report domain "
                         "capabilities\n");
  BOOST_TEST(sh("capabilities").err ==
             "error: the probe driver does not report the host's capabilities\n");
}

// domcapabilities passes virsh's four options to the driver, and its refusal back.
BOOST_AUTO_TEST_CASE(domain_capabilities_reach_the_driver) {
  auto r = sh("domcapabilities --arch x86_64 --machine q35 --virttype kvm "
              "--emulatorbin /usr/bin/qemu-system-x86_64");
  BOOST_TEST(r.out == "<domainCapabilities>\n  <path>/usr/bin/qemu-system-x86_64</path>\n"
                      "  <domain>kvm</domain>\n  <machine>q35</machine>\n"
                      "  <arch>x86_64</arch>\n</domainCapabilities>\n\n\n");
  BOOST_TEST(sh("domcapabilities").out.find("<arch>-</arch>") != std::string::npos);
  auto arm = sh("domcapabilities --arch armv7l");
  BOOST_TEST(arm.status == 1);
  BOOST_TEST(arm.err == "error: probe: no architecture 'armv7l' (it has x86_64)\n");
  // A query: the read-only socket answers it.
  auto ro = run({domsh_path(), "-r", "-c", "probe:///system?socket=" + d->socket(),
                 "domcapabilities --arch x86_64"});
  BOOST_TEST(ro.status == 0, ro.err);
}

BOOST_AUTO_TEST_SUITE_END()

// The persistent definition cannot be written: the request fails naming the file, the
// definition on disk and in the daemon is as it was, and so is the driver's (the same
// change succeeds once the disk has room, which the driver would refuse had it kept it).
BOOST_FIXTURE_TEST_CASE(a_definition_the_disk_cannot_take_changes_nothing, fixture) {
  BOOST_TEST(sh("define " + dir + "/g.xml").status == 0);
  std::string before = sh("dumpxml g --inactive").out;
  std::string defs = root + "/etc/domus/probe";
  struct stat st {};
  BOOST_TEST_REQUIRE(::stat((defs + "/g.xml").c_str(), &st) == 0, defs);
  d->stop();
  std::string saved = read_file(defs + "/g.xml");
  small_fs fs(defs, "64k");
  write_file(defs + "/g.xml", saved);
  d = start();
  BOOST_TEST(sh("start g").status == 0);
  std::string filler = fs.fill();

  auto full = sh("attach-device g " + disk + " --persistent");
  BOOST_TEST(full.status == 1);
  BOOST_TEST(full.err.find("error: cannot attach a device of domain 'g': cannot save the "
                           "definition: cannot ") == 0u,
             full.err);
  BOOST_TEST(full.err.find("No space left on device; the persistent definition is "
                           "unchanged, the running guest has the change\n") !=
                 std::string::npos,
             full.err);
  BOOST_TEST(sh("dumpxml g --inactive").out == before);
  BOOST_TEST(read_file(defs + "/g.xml") == saved);
  BOOST_TEST(live() == 1);

  ::unlink(filler.c_str());
  BOOST_TEST(sh("attach-device g " + disk + " --config").status == 0);
  BOOST_TEST(config() == 1);
  BOOST_TEST(sh("destroy g").status == 0);
  d->stop();
}
