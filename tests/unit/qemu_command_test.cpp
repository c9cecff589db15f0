#define BOOST_TEST_MODULE qemu_command_unit
#include <boost/test/unit_test.hpp>

#include "qemu_fixture.hpp"
#include "test_files.hpp"

#include "qemu_caps.hpp"
#include "qemu_command.hpp"
#include "qemu_defaults.hpp"
#include "volume_disks.hpp"

#include <domus/errors.hpp>

#include <algorithm>

// A definition as QEMU's command line (plugins/qemu/qemu_command.cpp): golden files in
// tests/data/qemu (NAME.xml to NAME.args, one argument per line; DOMUS_REGENERATE=1
// rewrites them), elements not applied refused by name, the capabilities' cache format.

using namespace domus::qemu_driver;
using namespace domus::testing;

namespace {

const std::string data_dir = std::string(DOMUS_SOURCE_DIR) + "/tests/data/qemu";

// A definition as the driver starts it: defined first (qemu_defaults.cpp).
domus::model::domain_def load(const std::string& xml) {
  auto def = domus::model::parse_domain(xml, "<test>");
  domus::model::normalize(def);
  apply_qemu_defaults(def, debian_qemu_caps());
  return def;
}

std::vector<std::string> argv_of(const std::string& xml) {
  auto def = load(xml);
  return build_argv(def, debian_qemu_caps(),
                    monitor_spec{-1,
                                 "/run/domus/qmp/" + def.uuid_string() + ".sock",
                                 "/run/domus/channel/" + def.uuid_string(),
                                 {}},
                    def.type == "kvm");
}

// The error a definition's build throws: "code: message".
std::string refusal(const std::string& xml) {
  try {
    argv_of(xml);
  } catch (const domus::error& e) {
    return std::string(domus::to_string(e.code())) + ": " + e.what();
  }
  return "accepted";
}

std::string minimal(const std::string& devices, const std::string& more = "",
                    const std::string& machine = "pc") {
  return "<domain type='qemu'><name>m</name><memory>65536</memory>"
         "<os><type arch='x86_64' machine='" +
         machine + "'>hvm</type></os>" + more + "<devices>" + devices +
         "</devices></domain>";
}

} // namespace

BOOST_AUTO_TEST_CASE(golden_command_lines) {
  auto cases = files_ending(data_dir, ".xml");
  BOOST_TEST_REQUIRE(cases.size() >= 2u);
  for (const auto& name : cases) {
    std::string text;
    for (const auto& a : argv_of(read_file(data_dir + "/" + name + ".xml")))
      text += a + "\n";
    std::string golden = data_dir + "/" + name + ".args";
    if (regenerating())
      write_file(golden, text);
    BOOST_TEST(text == read_file(golden), name << ".args differs:\n" << text);
  }
}

BOOST_AUTO_TEST_CASE(elements_not_applied_are_refused_by_name) {
  BOOST_TEST(refusal(minimal("<graphics type='spice'/>"))
                     .find("unsupported: the QEMU driver does not apply <graphics "
                           "type='spice'> (line 1) yet") == 0u,
             refusal(minimal("<graphics type='spice'/>")));
  BOOST_TEST(refusal(minimal("<sound model='ich9'/>")).find("<sound>") !=
             std::string::npos);
  BOOST_TEST(refusal(minimal("<channel type='spicevmc'><target type='virtio' "
                             "name='com.redhat.spice.0'/></channel>"))
                 .find("<channel type='spicevmc'>") != std::string::npos);
  BOOST_TEST(refusal(minimal("", "<clock offset='utc'><timer name='kvmclock'/></clock>"))
                 .find("<timer name='kvmclock'>") != std::string::npos);
  BOOST_TEST(refusal(minimal("", "<memtune><hard_limit>1</hard_limit></memtune>"))
                 .find("<memtune>") != std::string::npos);
  BOOST_TEST(
      refusal(
          minimal("<interface type='network'><source network='default'/></interface>"))
          .find("<interface type='network'>") != std::string::npos);
  BOOST_TEST(refusal(minimal("<interface type='bridge'><source bridge='br0'/>"
                             "<virtualport type='openvswitch'/></interface>"))
                 .find("<interface type='bridge'><virtualport>") != std::string::npos);
  BOOST_TEST(refusal(minimal("<interface type='bridge'/>"))
                 .find("needs <source bridge='NAME'/>") != std::string::npos);
  BOOST_TEST(refusal(minimal("<disk type='volume' device='disk'><source pool='p' "
                             "volume='v'/><target dev='vda'/></disk>"))
                 .find("<disk type='volume'>") != std::string::npos);
  BOOST_TEST(refusal(minimal("<disk type='file' device='disk'><source file='/a'/>"
                             "<target dev='hdb' bus='ide'/></disk>",
                             "", "q35"))
                 .find("put its disks on bus 'sata'") != std::string::npos);
  BOOST_TEST(refusal(minimal("", "<clock offset='variable'/>"))
                 .find("<clock offset='variable'>") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(machines_and_cpu_models_the_binary_lacks_are_listed) {
  std::string xml =
      "<domain type='qemu'><name>m</name><memory>65536</memory>"
      "<os><type arch='x86_64' machine='pc-nonesuch'>hvm</type></os></domain>";
  BOOST_TEST(refusal(xml) ==
             "invalid-argument: the emulator /usr/bin/qemu-system-x86_64 has no machine "
             "type 'pc-nonesuch' (it has: pc, pc-i440fx-7.2, pc-q35-7.2, q35)");
  BOOST_TEST(
      refusal(minimal("", "<cpu><model>Nehalem9</model></cpu>")) ==
      "invalid-argument: the emulator /usr/bin/qemu-system-x86_64 has no CPU model "
      "'Nehalem9' (it has: Skylake-Client, max, qemu64)");
  BOOST_TEST(refusal(minimal("", "<cpu mode='host-passthrough'/>")).find("needs KVM") !=
             std::string::npos);
}

// A VNC password reaches QEMU over QMP only: never its command line (nor the log that
// shows it).
BOOST_AUTO_TEST_CASE(vnc_passwords_stay_off_the_command_line) {
  std::string xml = read_file(data_dir + "/virt_install.xml");
  BOOST_TEST_REQUIRE(xml.find("passwd='s3cret'") != std::string::npos);
  for (const auto& a : argv_of(xml))
    BOOST_TEST(a.find("s3cret") == std::string::npos, a);
  auto def = load(xml);
  BOOST_TEST(vnc_password(def) == "s3cret");
  BOOST_TEST(vnc_port(def) == 5901);
  auto autoport = load(minimal("<graphics type='vnc' autoport='yes'/>"));
  BOOST_TEST(vnc_port(autoport) == 0);
  set_vnc_port(autoport, 5907);
  auto argv = build_argv(autoport, debian_qemu_caps(),
                         monitor_spec{-1, "/m.sock", "", {}}, false);
  BOOST_TEST(std::count(argv.begin(), argv.end(), "127.0.0.1:7,audiodev=audio1") == 1);
  BOOST_TEST(vnc_port(load(minimal(""))) == -1);
}

BOOST_AUTO_TEST_CASE(option_values_double_their_commas) {
  BOOST_TEST(option_value("a,b,,c") == "a,,b,,,,c");
  BOOST_TEST(option_value("plain") == "plain");
}

BOOST_AUTO_TEST_CASE(the_capabilities_cache_round_trips_and_refuses_other_text) {
  qemu_caps c = debian_qemu_caps();
  c.size = 123;
  c.mtime_ns = 456;
  c.package = "Debian 1:7.2+dfsg-7+deb12u18+b3";
  auto back = caps_from_json(caps_to_json(c));
  BOOST_TEST_REQUIRE(back.has_value());
  BOOST_TEST(back->path == c.path);
  BOOST_TEST(back->size == 123u);
  BOOST_TEST(back->mtime_ns == 456);
  BOOST_TEST(back->version == 7002022u);
  BOOST_TEST(back->machine_names() == c.machine_names());
  BOOST_TEST(back->default_machine()->name == "pc-i440fx-7.2");
  BOOST_TEST(back->cpu_model_names() == c.cpu_model_names());
  BOOST_TEST(!caps_from_json("").has_value());
  BOOST_TEST(!caps_from_json("{\"format\": 2}").has_value());
  BOOST_TEST(!caps_from_json("{\"format\": 1, \"path\": 3}").has_value());
}

// A bridge or ethernet interface: the tap a start made, inherited by its descriptor;
// without one (domxml-to-native), the tap QEMU would make, by name.
BOOST_AUTO_TEST_CASE(bridge_and_ethernet_interfaces_are_taps) {
  auto def = load(minimal("<interface type='bridge'><source bridge='br0'/>"
                          "<mac address='52:54:00:00:00:01'/><model type='virtio'/>"
                          "</interface><interface type='user'/>"
                          "<interface type='ethernet'><target dev='tap7'/></interface>"));
  auto nics = tap_nics(def);
  BOOST_TEST_REQUIRE(nics.size() == 2u);
  BOOST_TEST(nics[0].place == 0);
  BOOST_TEST(nics[0].bridge == "br0");
  BOOST_TEST(nics[0].mac == "52:54:00:00:00:01");
  BOOST_TEST(nics[0].vnet_hdr);
  BOOST_TEST(nics[1].place == 2);
  BOOST_TEST(nics[1].name == "tap7");
  BOOST_TEST(!nics[1].vnet_hdr);
  monitor_spec spec{-1, "/m.sock", "", {}};
  spec.tap_fds = {{0, 33}, {2, 34}};
  set_tap_name(def, 0, "vnet4");
  auto argv = build_argv(def, debian_qemu_caps(), spec, false);
  auto has = [&](const std::string& a) {
    return std::find(argv.begin(), argv.end(), a) != argv.end();
  };
  BOOST_TEST(has(R"({"type":"tap","fd":"33","id":"hostnet0"})"));
  BOOST_TEST(has(R"({"type":"user","id":"hostnet1"})"));
  BOOST_TEST(has(R"({"type":"tap","fd":"34","id":"hostnet2"})"));
  BOOST_TEST(domus::model::format_domain(def, domus::model::secrets::keep)
                 .find("<target dev='vnet4'/>") != std::string::npos);
  spec.tap_fds.clear();
  argv = build_argv(def, debian_qemu_caps(), spec, false);
  BOOST_TEST(has(
      R"({"type":"tap","ifname":"vnet4","script":"no","downscript":"no","id":"hostnet0"})"));
}

// Volume disks with a host whose resolve_volume knows one volume per pool: a file
// volume becomes a file disk in its format (a disk's own <driver type> wins), a block
// volume a block disk; what the host refuses is named with the disk, pool and volume.
namespace {

int32_t fake_resolve(void*, const char* pool, const char* volume,
                     void (*take)(void*, const domus_volume_v1*), void* arg) {
  std::string p = pool, v = volume;
  if (p == "off")
    return DOMUS_E_INVALID_OPERATION;
  if (p != "images" && p != "disks")
    return DOMUS_E_NO_POOL;
  if (v != "a.qcow2" && v != "sdb")
    return DOMUS_E_NO_VOLUME;
  domus_volume_v1 e{};
  e.struct_size = sizeof e;
  e.name = volume;
  e.path = v == "sdb" ? "/dev/sdb" : "/var/lib/domus/images/a.qcow2";
  e.type = v == "sdb" ? DOMUS_VOL_BLOCK : DOMUS_VOL_FILE;
  e.format = v == "sdb" ? "raw" : "qcow2";
  take(arg, &e);
  return 0;
}

domus_host_v1 fake_host() {
  domus_host_v1 h{};
  h.struct_size = sizeof h;
  h.resolve_volume = fake_resolve;
  return h;
}

std::string volume_disk(const std::string& pool, const std::string& vol,
                        const std::string& driver = "") {
  return "<domain type='qemu'><name>v</name><memory>65536</memory><os><type>hvm</type>"
         "</os><devices><disk type='volume' device='disk'>" +
         driver + "<source pool='" + pool + "' volume='" + vol +
         "'/><target dev='vda' bus='virtio'/></disk></devices></domain>";
}

std::string resolved_disk(const std::string& xml) {
  auto def = domus::model::parse_domain(xml, "<test>");
  domus_host_v1 h = fake_host();
  auto out = with_volumes_resolved(h, def);
  std::string text = domus::model::format_domain(out, domus::model::secrets::keep);
  auto a = text.find("<disk"), b = text.find("</disk>");
  return text.substr(a, b - a);
}

} // namespace

BOOST_AUTO_TEST_CASE(volume_disks_resolve_through_the_host) {
  std::string file = resolved_disk(volume_disk("images", "a.qcow2"));
  BOOST_TEST(file.find("<disk type='file' device='disk'>") != std::string::npos, file);
  BOOST_TEST(file.find("<driver name='qemu' type='qcow2'/>") != std::string::npos, file);
  BOOST_TEST(file.find("<source file='/var/lib/domus/images/a.qcow2'/>") !=
                 std::string::npos,
             file);
  std::string own = resolved_disk(
      volume_disk("images", "a.qcow2", "<driver name='qemu' type='raw' cache='none'/>"));
  BOOST_TEST(own.find("<driver name='qemu' type='raw' cache='none'/>") !=
                 std::string::npos,
             own);
  std::string block = resolved_disk(volume_disk("disks", "sdb"));
  BOOST_TEST(block.find("<disk type='block' device='disk'>") != std::string::npos, block);
  BOOST_TEST(block.find("<source dev='/dev/sdb'/>") != std::string::npos, block);
  auto refused = [](const std::string& pool, const std::string& vol) {
    try {
      resolved_disk(volume_disk(pool, vol));
    } catch (const domus::error& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  BOOST_TEST(refused("nowhere", "a.qcow2") ==
             "disk 'vda' of domain 'v': no storage pool named 'nowhere'");
  BOOST_TEST(refused("off", "a.qcow2") ==
             "disk 'vda' of domain 'v': volume 'a.qcow2' of storage pool 'off': the pool "
             "is not active (pool-start it first)");
  BOOST_TEST(refused("images", "b") == "disk 'vda' of domain 'v': volume 'b' of storage "
                                       "pool 'images': the pool has no such volume");
  // A daemon older than the service: said so, not guessed.
  auto def = domus::model::parse_domain(volume_disk("images", "a.qcow2"), "<test>");
  domus_host_v1 old = fake_host();
  old.struct_size = offsetof(domus_host_v1, stream_send_hole);
  BOOST_CHECK_THROW(with_volumes_resolved(old, def), domus::error);
  BOOST_TEST(!has_volume_disks(domus::model::parse_domain(
      "<domain type='qemu'><name>n</name><memory>65536</memory><os><type>hvm</type>"
      "</os></domain>",
      "<test>")));
}
