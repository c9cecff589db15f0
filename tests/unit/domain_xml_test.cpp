// The domain model against libvirt's own test data
// (../shared/conformance/libvirt/domain), against Domus's schema
// (conf/schemas/domain.rng) and libvirt's (Debian's libvirt0), and the project's own
// golden files (tests/data/domain-xml).
#define BOOST_TEST_MODULE domain_xml
#include <boost/test/unit_test.hpp>

#include "test_files.hpp"
#include "xml_compare.hpp"

#include <domus/errors.hpp>
#include <domus/model/device_def.hpp>
#include <domus/model/domain_def.hpp>
#include <domus/model/domain_schema.hpp>

#include <map>

using namespace domus::model;
using namespace domus::testing;

namespace {

const std::string corpus = std::string(DOMUS_CONFORMANCE_DIR) + "/domain/";
const std::string sidecars = std::string(DOMUS_TEST_DATA_DIR) + "/conformance/domain/";
const std::string our_schema = std::string(DOMUS_SOURCE_DIR) + "/conf/schemas/domain.rng";
const std::string libvirt_schema = "/usr/share/libvirt/schemas/domain.rng";

// The generic path every definition takes: parse, normalize, format.
std::string round_trip(const std::string& xml, const std::string& origin,
                       std::vector<std::string>* unknown = nullptr,
                       parse_mode mode = parse_mode::input) {
  domain_def def = parse_domain(xml, origin, mode);
  normalize(def);
  add_implied_devices(def);
  if (unknown)
    *unknown = def.unknown();
  return format_domain(def, secrets::keep);
}

// "NAME: reason" lines of a sidecar list.
std::map<std::string, std::string> listed(const std::string& path) {
  std::map<std::string, std::string> out;
  std::string text = read_file(path);
  size_t at = 0;
  while (at < text.size()) {
    size_t end = text.find('\n', at);
    std::string line = text.substr(at, end == std::string::npos ? end : end - at);
    auto colon = line.find(':');
    if (colon != std::string::npos)
      out[line.substr(0, colon)] = line.substr(colon + 1);
    at = end == std::string::npos ? text.size() : end + 1;
  }
  return out;
}

} // namespace

// The schema file is what the table says; DOMUS_REGENERATE=1 rewrites it.
BOOST_AUTO_TEST_CASE(schema_file_is_written_from_the_table) {
  std::string rng = write_relaxng(domain_schema());
  if (regenerating())
    write_file(our_schema, rng);
  BOOST_TEST(
      read_file(our_schema) == rng,
      "conf/schemas/domain.rng is stale: run DOMUS_REGENERATE=1 ctest -R domain_xml");
}

// Every positive case: what the user wrote comes back as libvirt writes it (the QEMU
// driver's defaults aside, the README's second option), stable, valid under both schemas.
BOOST_AUTO_TEST_CASE(conformance_domains) {
  auto cases = files_ending(corpus, ".out.xml");
  BOOST_TEST_REQUIRE(cases.size() >= 25u, "libvirt's corpus not found at " << corpus);
  auto exempt = listed(sidecars + "libvirt-schema-exempt.txt");
  for (auto& name : cases) {
    BOOST_TEST_CONTEXT("case " << name) {
      std::string in = read_file(corpus + name + ".in.xml");
      std::vector<std::string> unknown;
      std::string ours = round_trip(in, name + ".in.xml", &unknown);
      BOOST_TEST(unknown.empty(),
                 "kept outside the schema: " << (unknown.empty() ? std::string()
                                                                 : unknown.front()));
      xml_node input = parse_xml(in, "in");
      xml_node mine = parse_xml(ours, "ours");
      xml_node theirs = parse_xml(read_file(corpus + name + ".out.xml"), "theirs");
      if (!input.child("uuid")) // generated on both sides, never equal
        mine.children.erase(mine.children.begin() +
                            (mine.child("uuid") - mine.children.data()));
      if (!file_exists(sidecars + name + ".differs")) {
        auto why = not_contained(mine, theirs);
        BOOST_TEST(!why, "not as libvirt writes it: " << why.value_or(""));
      }
      // NAME.lost names what libvirt's generic normalization drops too, and why.
      auto lost = not_covered(input, parse_xml(ours, "ours"), theirs);
      auto allowed = listed(sidecars + name + ".lost");
      if (lost && allowed.count(lost->substr(0, lost->find(':'))))
        lost.reset();
      BOOST_TEST(!lost, "lost: " << lost.value_or(""));
      BOOST_TEST(round_trip(ours, name, nullptr, parse_mode::stored) == ours,
                 "reading it back changes it");
      std::string errors = relaxng_errors(our_schema, ours);
      BOOST_TEST(errors.empty(), "against Domus's schema: " << errors);
      if (!exempt.count(name)) {
        errors = relaxng_errors(libvirt_schema, ours);
        BOOST_TEST(errors.empty(), "against libvirt's schema: " << errors);
      }
      // Strict parsing accepts it too: the corpus is all inside the schema.
      BOOST_CHECK_NO_THROW(round_trip(in, name, nullptr, parse_mode::strict));
    }
  }
}

// A compacted definition (what an idle domain keeps) formats exactly as the full one,
// with and without an id, keeps the typed fields, holds no tree, and expands back to
// the full definition.
BOOST_AUTO_TEST_CASE(compacted_definitions_format_as_the_full_ones) {
  auto cases = files_ending(corpus, ".out.xml");
  BOOST_TEST_REQUIRE(!cases.empty());
  for (auto& name : cases) {
    BOOST_TEST_CONTEXT("case " << name) {
      domain_def full = parse_domain(read_file(corpus + name + ".in.xml"), name);
      normalize(full);
      domain_def small = compacted(full);
      BOOST_TEST(small.compact());
      BOOST_TEST(!small.tree);
      BOOST_TEST(small.name == full.name);
      BOOST_TEST(small.uuid_string() == full.uuid_string());
      BOOST_TEST(small.memory_kib == full.memory_kib);
      BOOST_TEST(small.vcpus_now() == full.vcpus_now());
      for (auto which : {secrets::keep, secrets::omit}) {
        BOOST_TEST(format_domain(small, which) == format_domain(full, which));
        BOOST_TEST(format_domain(small, which, 7) == format_domain(full, which, 7));
        BOOST_TEST(format_domain(expanded(small), which) == format_domain(full, which));
        BOOST_TEST(format_domain(compacted(small), which) == format_domain(full, which));
      }
      BOOST_TEST(!expanded(small).compact());
      // The size a definition formats to is known without formatting it.
      domain_def again =
          parse_domain(format_domain(full, secrets::keep), name, parse_mode::stored);
      BOOST_TEST(formatted_size(again) == format_domain(again, secrets::keep).size());
      BOOST_TEST(formatted_size(small) == format_domain(small, secrets::keep).size());
    }
  }
}

// The sidecar's exemptions are still needed: an exemption that validates is stale.
BOOST_AUTO_TEST_CASE(libvirt_schema_exemptions_are_needed) {
  for (auto& [name, reason] : listed(sidecars + "libvirt-schema-exempt.txt")) {
    BOOST_TEST_CONTEXT("case " << name) {
      std::string ours = round_trip(read_file(corpus + name + ".in.xml"), name);
      BOOST_TEST(!relaxng_errors(libvirt_schema, ours).empty());
    }
  }
}

// Every must-fail case fails, naming the offending element (NAME.expect).
BOOST_AUTO_TEST_CASE(conformance_errors) {
  auto cases = files_ending(corpus, ".err");
  BOOST_TEST_REQUIRE(cases.size() >= 8u);
  for (auto& name : cases) {
    BOOST_TEST_CONTEXT("case " << name) {
      if (file_exists(sidecars + name + ".skip"))
        continue;
      BOOST_TEST_REQUIRE(file_exists(sidecars + name + ".expect"),
                         "no " << name << ".expect sidecar");
      std::string expect = read_file(sidecars + name + ".expect");
      expect.erase(expect.find_last_not_of('\n') + 1);
      try {
        round_trip(read_file(corpus + name + ".in.xml"), name + ".in.xml");
        BOOST_ERROR("accepted");
      } catch (const domus::error& e) {
        BOOST_TEST(std::string(e.what()).find(expect) != std::string::npos,
                   e.what() << " does not contain " << expect);
      }
    }
  }
}

// Golden files: tests/data/domain-xml/CASE.in.xml -> CASE.out.xml, or CASE.err holding
// "CODE: MESSAGE". A case named strict-* is parsed as `define --validate` parses.
// DOMUS_REGENERATE=1 rewrites the expected files from what the code does.
BOOST_AUTO_TEST_CASE(golden_domain_xml) {
  const std::string dir = std::string(DOMUS_TEST_DATA_DIR) + "/domain-xml/";
  auto cases = files_ending(dir, ".in.xml");
  BOOST_TEST_REQUIRE(cases.size() >= 10u);
  for (auto& name : cases) {
    BOOST_TEST_CONTEXT("case " << name) {
      std::string actual, kind;
      std::vector<std::string> unknown;
      auto mode = name.rfind("strict-", 0) == 0 ? parse_mode::strict : parse_mode::input;
      try {
        actual = round_trip(read_file(dir + name + ".in.xml"), name + ".in.xml", &unknown,
                            mode);
        kind = ".out.xml";
      } catch (const domus::error& e) {
        actual = std::string(domus::to_string(e.code())) + ": " + e.what() + "\n";
        kind = ".err";
      }
      if (regenerating()) {
        std::remove((dir + name + ".out.xml").c_str());
        std::remove((dir + name + ".err").c_str());
        write_file(dir + name + kind, actual);
        continue;
      }
      BOOST_TEST_REQUIRE(
          (file_exists(dir + name + ".out.xml") || file_exists(dir + name + ".err")),
          "no expected output; run with DOMUS_REGENERATE=1 and review");
      BOOST_TEST_REQUIRE(file_exists(dir + name + kind),
                         "expected the other outcome: " << actual);
      BOOST_TEST(actual == read_file(dir + name + kind));
      // Outputs validate against Domus's schema, unless they keep unknown nodes (the
      // cases named kept-*, which say so).
      if (kind == ".out.xml" && name.rfind("kept-", 0) != 0) {
        BOOST_TEST(unknown.empty(),
                   "kept outside the schema: " << (unknown.empty() ? std::string()
                                                                   : unknown.front()));
        std::string errors = relaxng_errors(our_schema, actual);
        BOOST_TEST(errors.empty(), "against Domus's schema: " << errors);
        errors = relaxng_errors(libvirt_schema, actual);
        BOOST_TEST(errors.empty(), "against libvirt's schema: " << errors);
      }
      if (kind == ".out.xml" && name.rfind("kept-", 0) == 0)
        BOOST_TEST(!unknown.empty(), "a kept-* case must keep something unknown");
    }
  }
}

// One device on its own (attach-device): checked by its rule inside <devices>, written in
// libvirt's order; anything else is refused naming the element and the devices there are.
BOOST_AUTO_TEST_CASE(a_device_alone) {
  BOOST_TEST(
      check_device("<disk type='file' device='disk'><target bus='virtio' dev='vdb'/>"
                   "<source file='/i/b.img'/></disk>",
                   "d.xml") == "<disk type='file' device='disk'>\n"
                               "  <source file='/i/b.img'/>\n"
                               "  <target dev='vdb' bus='virtio'/>\n"
                               "</disk>\n");
  auto refused = [](const std::string& xml, const std::string& expected) {
    try {
      check_device(xml, "d.xml", {4096, 8, 16});
      BOOST_FAIL("accepted " << xml);
    } catch (const domus::error& e) {
      BOOST_TEST(std::string(e.what()).find(expected) == 0u, e.what());
    }
  };
  refused("<domain/>", "d.xml:1: /domain: <domain> is not a device (expected one of "
                       "disk, controller, lease,");
  refused("<emulator>/bin/x</emulator>",
          "d.xml:1: /emulator: <emulator> is not a device");
  refused("<interface type='network'>\n<mac address='zz'/></interface>",
          "d.xml:2: /interface/mac/@address: ");
  refused("<disk>", "d.xml:1: ");
  refused("<disk>" + std::string(5000, ' ') + "</disk>", "d.xml: the document is ");
  auto names = device_names();
  BOOST_TEST(names.front() == "disk");
  BOOST_TEST(std::count(names.begin(), names.end(), "emulator") == 0);
}
