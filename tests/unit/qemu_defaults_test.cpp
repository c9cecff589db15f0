// libvirt's QEMU driver's defaults (plugins/qemu/qemu_defaults.cpp, qemu_pci.cpp)
// against libvirt's own test data: every positive case of
// ../shared/conformance/libvirt/domain, defined as qemu:/// defines it, equals libvirt's
// NAME.out.xml after the one rewrite tests/data/conformance/README.md documents, unless
// a NAME.qemu-differs sidecar says why not (at most 5).
#define BOOST_TEST_MODULE qemu_defaults_unit
#include <boost/test/unit_test.hpp>

#include "qemu_fixture.hpp"
#include "test_files.hpp"
#include "xml_compare.hpp"

#include "qemu_defaults.hpp"

#include <domus/errors.hpp>
#include <domus/model/domain_def.hpp>

#include <algorithm>

using namespace domus::qemu_driver;
using namespace domus::testing;
namespace model = domus::model;

namespace {

const std::string corpus = std::string(DOMUS_CONFORMANCE_DIR) + "/domain/";
const std::string sidecars = std::string(DOMUS_TEST_DATA_DIR) + "/conformance/domain/";
const std::string our_schema = std::string(DOMUS_SOURCE_DIR) + "/conf/schemas/domain.rng";

// What the driver's normalize hook does to what a client sends.
std::string defined(const std::string& xml, const std::string& origin,
                    model::parse_mode mode = model::parse_mode::input) {
  auto def = model::parse_domain(xml, origin, mode);
  model::normalize(def);
  apply_qemu_defaults(def, debian_qemu_caps());
  return model::format_domain(def, model::secrets::keep);
}

// libvirt's file with its capability-dependent values as the probed binary has them:
// a machine alias becomes the machine it stands for (libvirt's test data keeps "pc";
// libvirt on a real host writes "pc-i440fx-7.2").
std::string rewritten(std::string text) {
  for (const auto& m : debian_qemu_caps().machines) {
    std::string from = "machine='" + m.alias + "'", to = "machine='" + m.name + "'";
    for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at))
      text.replace(at, from.size(), to);
  }
  return text;
}

std::string refusal(const std::string& xml) {
  try {
    defined(xml, "<test>");
  } catch (const domus::error& e) {
    return std::string(domus::to_string(e.code())) + ": " + e.what();
  }
  return "accepted";
}

std::string with_devices(const std::string& devices, const std::string& machine = "pc") {
  return "<domain type='qemu'><name>d</name><uuid>c7a5fdbd-edaf-9455-926a-d65c16db1809"
         "</uuid><memory>65536</memory><os><type arch='x86_64' machine='" +
         machine + "'>hvm</type></os><devices>" + devices + "</devices></domain>";
}

} // namespace

BOOST_AUTO_TEST_CASE(libvirt_corpus_defined_as_libvirt_writes_it) {
  auto cases = files_ending(corpus, ".out.xml");
  BOOST_TEST_REQUIRE(cases.size() >= 25u, "libvirt's corpus not found at " << corpus);
  size_t with_sidecar = 0;
  for (auto& name : cases) {
    BOOST_TEST_CONTEXT("case " << name) {
      std::string in = read_file(corpus + name + ".in.xml");
      std::string ours = defined(in, name + ".in.xml");
      model::xml_node mine = model::parse_xml(ours, "ours");
      model::xml_node theirs =
          model::parse_xml(rewritten(read_file(corpus + name + ".out.xml")), "theirs");
      if (!model::parse_xml(in, "in").child("uuid")) // generated on both sides
        mine.children.erase(mine.children.begin() +
                            (mine.child("uuid") - mine.children.data()));
      auto why = differs(mine, theirs);
      if (file_exists(sidecars + name + ".qemu-differs")) {
        ++with_sidecar;
        BOOST_TEST(why.has_value(), "equal now: remove " << name << ".qemu-differs");
      } else {
        BOOST_TEST(!why, "not as libvirt writes it: " << why.value_or(""));
      }
      // Defining Domus's own output again changes nothing, and it stays in the schema.
      auto again = differs(
          model::parse_xml(defined(ours, name, model::parse_mode::stored), "again"),
          model::parse_xml(ours, "ours"));
      BOOST_TEST(!again, "defined again, it changes: " << again.value_or(""));
      std::string errors = relaxng_errors(our_schema, ours);
      BOOST_TEST(errors.empty(), "against Domus's schema: " << errors);
    }
  }
  BOOST_TEST(with_sidecar <= 5u, with_sidecar << " cases differ from libvirt's output");
}

// q35 machines as libvirt 9.0 defined them with Debian's QEMU 7.2
// (tests/data/qemu/defaults/README.md): root ports, the pcie-to-pci bridge, addresses.
BOOST_AUTO_TEST_CASE(q35_definitions_as_libvirt_9_0_wrote_them) {
  const std::string dir = std::string(DOMUS_SOURCE_DIR) + "/tests/data/qemu/defaults/";
  auto cases = files_ending(dir, ".in.xml");
  BOOST_TEST_REQUIRE(cases.size() >= 3u);
  for (auto& name : cases) {
    BOOST_TEST_CONTEXT("case " << name) {
      std::string ours = defined(read_file(dir + name + ".in.xml"), name + ".in.xml");
      model::xml_node theirs =
          model::parse_xml(read_file(dir + name + ".libvirt.xml"), "libvirt");
      // The one rewrite: libvirt 9.0's USB port addresses go.
      for (auto& d : theirs.child("devices")->children) {
        auto& c = d.children;
        c.erase(std::remove_if(c.begin(), c.end(),
                               [](const model::xml_node& n) {
                                 const std::string* t = n.attr("type");
                                 return !n.is_text && n.name == "address" && t &&
                                        *t == "usb";
                               }),
                c.end());
      }
      auto why = differs(model::parse_xml(ours, "ours"), theirs);
      BOOST_TEST(!why, "not as libvirt 9.0 wrote it: " << why.value_or("") << "\n"
                                                       << ours);
      auto again = differs(
          model::parse_xml(defined(ours, name, model::parse_mode::stored), "again"),
          model::parse_xml(ours, "ours"));
      BOOST_TEST(!again, "defined again, it changes: " << again.value_or(""));
    }
  }
}

// libvirt's must-fail case that needs the emulator's capabilities.
BOOST_AUTO_TEST_CASE(an_architecture_the_emulator_lacks_is_refused) {
  std::string why = refusal(read_file(corpus + "missing-machine.in.xml"));
  BOOST_TEST(why.find("unsupported") == 0, why);
  BOOST_TEST(why.find("'alpha'") != std::string::npos, why);
  BOOST_TEST(why.find("/usr/bin/qemu-system-x86_64") != std::string::npos, why);
}

BOOST_AUTO_TEST_CASE(an_unknown_machine_is_refused_with_the_list) {
  std::string why = refusal(with_devices("", "pc-i440fx-99.0"));
  BOOST_TEST(why.find("invalid-argument") == 0, why);
  BOOST_TEST(why.find("'pc-i440fx-99.0'") != std::string::npos, why);
  BOOST_TEST(why.find("pc-q35-7.2") != std::string::npos, why);
}

// 30 slots of bus 0 are free on a pc (0 is the host bridge, 1 the PIIX3): 29 NICs and
// the balloon take them all, with 30 NICs the balloon finds none and is named; a bridge
// makes room on bus 1.
BOOST_AUTO_TEST_CASE(pci_slots_run_out_by_name_and_a_bridge_adds_more) {
  auto nics = [](int n) {
    std::string s;
    for (int i = 0; i < n; ++i)
      s += "<interface type='user'><model type='e1000'/></interface>";
    return s;
  };
  std::string full = defined(with_devices(nics(29)), "<test>");
  BOOST_TEST(full.find("slot='0x1f'") != std::string::npos);
  std::string why = refusal(with_devices(nics(30)));
  BOOST_TEST(why.find("invalid-argument") == 0, why);
  BOOST_TEST(why.find("no free PCI slot is left for the <memballoon>") !=
                 std::string::npos,
             why);
  std::string bridged = defined(
      with_devices("<controller type='pci' index='1' model='pci-bridge'/>" + nics(40)),
      "<test>");
  BOOST_TEST(bridged.find("<target chassisNr='1'/>") != std::string::npos, bridged);
  BOOST_TEST(bridged.find("bus='0x01' slot='0x01'") != std::string::npos, bridged);
}

// On q35 the machine's own devices are there (pcie-root, SATA at 00:1f.2, qemu-xhci);
// PCI Express addresses are QEMU's to choose (docs/qemu.md).
BOOST_AUTO_TEST_CASE(q35_gets_its_own_controllers) {
  std::string out = defined(with_devices("", "q35"), "<test>");
  BOOST_TEST(out.find("machine='pc-q35-7.2'") != std::string::npos, out);
  BOOST_TEST(out.find("model='pcie-root'") != std::string::npos, out);
  BOOST_TEST(out.find("model='qemu-xhci'") != std::string::npos, out);
  BOOST_TEST(out.find("slot='0x1f' function='0x2'") != std::string::npos, out);
}
