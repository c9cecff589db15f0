// The storage model against libvirt's own test data (../shared/conformance/libvirt/
// storage: its storagepoolxml2xml and storagevolxml2xml cases), against Domus's schemas
// (conf/schemas/storagepool.rng, storagevol.rng) and libvirt's (Debian's libvirt0), and
// its refusals of bad input.
#define BOOST_TEST_MODULE storage_xml
#include <boost/test/unit_test.hpp>

#include "test_files.hpp"
#include "xml_compare.hpp"

#include <domus/errors.hpp>
#include <domus/model/storage_def.hpp>
#include <domus/model/storage_schema.hpp>

using namespace domus::model;
using namespace domus::testing;

namespace {

const std::string corpus = std::string(DOMUS_CONFORMANCE_DIR) + "/storage/";
const std::string schemas = std::string(DOMUS_SOURCE_DIR) + "/conf/schemas/";

std::string pool_round_trip(const std::string& xml, const std::string& origin,
                            parse_mode mode) {
  pool_def def = parse_pool(xml, origin, mode);
  normalize(def);
  BOOST_TEST(def.unknown.empty(), origin << " kept outside the schema: "
                                         << (def.unknown.empty() ? "" : def.unknown[0]));
  return format_pool(def);
}

// libvirt's volume test reads every volume as one of pool-dir's.
const pool_def& parent_pool() {
  static pool_def p = [] {
    pool_def def = parse_pool(read_file(corpus + "pool-dir.in.xml"), "pool-dir.in.xml");
    normalize(def);
    return def;
  }();
  return p;
}

std::string volume_round_trip(const std::string& xml, const std::string& origin,
                              parse_mode mode) {
  volume_def def = parse_volume(xml, origin, parent_pool(), mode);
  BOOST_TEST(def.unknown.empty(), origin << " kept outside the schema: "
                                         << (def.unknown.empty() ? "" : def.unknown[0]));
  return format_volume(def);
}

// Equal as the README compares: whitespace and attribute order aside.
void same_document(const std::string& ours, const std::string& theirs) {
  xml_node mine = parse_xml(ours, "ours");
  xml_node libvirt = parse_xml(theirs, "theirs");
  auto missing = not_contained(mine, libvirt);
  BOOST_TEST(!missing, "not as libvirt writes it: " << missing.value_or("") << "\n"
                                                    << ours);
  auto extra = not_contained(libvirt, mine);
  BOOST_TEST(!extra, "libvirt writes more: " << extra.value_or("") << "\n" << ours);
}

void schema_file(const std::string& name, const elem_rule& rule) {
  std::string rng = write_relaxng(rule);
  if (regenerating())
    write_file(schemas + name, rng);
  BOOST_TEST(read_file(schemas + name) == rng,
             "conf/schemas/" << name
                             << " is stale: run DOMUS_REGENERATE=1 ctest -R "
                                "storage_xml");
}

} // namespace

BOOST_AUTO_TEST_CASE(schema_files_are_written_from_the_tables) {
  schema_file("storagepool.rng", pool_schema());
  schema_file("storagevol.rng", volume_schema());
}

// Every case of one kind ("pool", "vol"): libvirt's output exactly (an inactive pool:
// sizes 0), stable when read back, valid under both schemas ("storagepool.rng"),
// accepted by strict parsing. Returns how many cases there are.
using round_trip_fn = std::string (*)(const std::string&, const std::string&, parse_mode);
static int conformance(const std::string& kind, round_trip_fn round_trip,
                       const std::string& rng) {
  int n = 0;
  for (auto& name : files_ending(corpus, ".out.xml")) {
    if (name.rfind(kind + "-", 0) != 0)
      continue;
    ++n;
    BOOST_TEST_CONTEXT("case " << name) {
      std::string in = read_file(corpus + name + ".in.xml");
      std::string ours = round_trip(in, name, parse_mode::input);
      same_document(ours, read_file(corpus + name + ".out.xml"));
      BOOST_TEST(round_trip(ours, name, parse_mode::stored) == ours);
      BOOST_TEST(relaxng_errors(schemas + rng, ours).empty());
      BOOST_TEST(relaxng_errors("/usr/share/libvirt/schemas/" + rng, ours).empty());
      BOOST_CHECK_NO_THROW(round_trip(in, name, parse_mode::strict));
    }
  }
  return n;
}

BOOST_AUTO_TEST_CASE(conformance_pools) {
  BOOST_TEST(conformance("pool", pool_round_trip, "storagepool.rng") == 7,
             "libvirt's pool cases not found at " << corpus);
}

BOOST_AUTO_TEST_CASE(conformance_volumes) {
  BOOST_TEST(conformance("vol", volume_round_trip, "storagevol.rng") == 8,
             "libvirt's volume cases not found at " << corpus);
}

// What an active pool holds is written in bytes; a definition's own sizes are not kept;
// a pool without a UUID gets one.
BOOST_AUTO_TEST_CASE(sizes_and_generated_uuids) {
  pool_def def = parse_pool("<pool type='dir'><name>p</name><target><path>/srv/p/</path>"
                            "</target></pool>",
                            "<request>");
  BOOST_TEST(!def.uuid);
  pool_def reported = parse_pool(
      "<pool type='dir'><name>p</name><capacity unit='KiB'>4</capacity><target><path>/p"
      "</path></target></pool>",
      "<driver>", parse_mode::stored);
  BOOST_TEST(reported.sizes.capacity == 4096u);
  normalize(reported);
  BOOST_TEST(reported.sizes.capacity == 0u);
  normalize(def);
  BOOST_TEST(def.uuid.has_value());
  BOOST_TEST(def.target_path == "/srv/p");
  def.sizes = {10737418240, 1073741824, 9663676416};
  std::string xml = format_pool(def);
  BOOST_TEST(xml.find("<capacity unit='bytes'>10737418240</capacity>\n  <allocation "
                      "unit='bytes'>1073741824</allocation>\n  <available "
                      "unit='bytes'>9663676416</available>") != std::string::npos,
             xml);
  // A logical pool's volume group and target follow its name.
  pool_def vg = parse_pool("<pool type='logical'><name>vg0</name></pool>", "<request>");
  normalize(vg);
  BOOST_TEST(vg.target_path == "/dev/vg0");
  BOOST_TEST(format_pool(vg).find("<name>vg0</name>\n    <format type='lvm2'/>") !=
             std::string::npos);
  // A volume without an allocation is allocated whole.
  volume_def v =
      parse_volume("<volume><name>a.img</name><capacity unit='MiB'>3</capacity>"
                   "</volume>",
                   "<request>", parent_pool());
  BOOST_TEST(v.capacity == 3145728u);
  BOOST_TEST(v.allocation == 3145728u);
  BOOST_TEST(v.format == "raw");
}

// Bad input is refused naming the file, the line, the element and what is wrong.
BOOST_AUTO_TEST_CASE(bad_pools_and_volumes_are_refused) {
  struct bad {
    const char* xml;
    const char* says;
    domus::errc code = domus::errc::xml_error;
  };
  const bad pools[] = {
      {"<pool type='dir'><target><path>/p</path></target></pool>", "/pool/name"},
      {"<pool type='dir'><name>a/b</name><target><path>/p</path></target></pool>", "'/'",
       domus::errc::invalid_name},
      {"<pool type='nfs'><name>p</name></pool>", "unknown value 'nfs'"},
      {"<pool><name>p</name></pool>", "/pool"},
      {"<pool type='dir'><name>p</name></pool>", "needs a target path"},
      {"<pool type='dir'><name>p</name><target><path>rel</path></target></pool>",
       "is not absolute"},
      {"<pool type='dir'><name>p</name><capacity unit='GB2'>1</capacity>"
       "<target><path>/p</path></target></pool>",
       "unknown unit 'GB2'"},
      {"<pool type='dir'><name>p</name><target><path>/p</path><permissions>"
       "<mode>0999</mode></permissions></target></pool>",
       "malformed octal mode '0999'"},
      {"<pool type='dir'><name>p</name><target><path>/p</path><permissions>"
       "<owner>root</owner></permissions></target></pool>",
       "/pool/target/permissions/owner"},
      {"<volume><name>v</name><capacity>1</capacity></volume>",
       "expected a <pool> element, found <volume>"},
      {"<pool type='dir'><name>p</name><uuid>nope</uuid><target><path>/p</path></target>"
       "</pool>",
       "/pool/uuid"},
  };
  for (auto& b : pools)
    BOOST_TEST_CONTEXT(b.xml) {
      try {
        parse_pool(b.xml, "pool.xml");
        BOOST_ERROR("accepted");
      } catch (const domus::error& e) {
        BOOST_TEST((e.code() == b.code), e.what());
        BOOST_TEST(std::string(e.what()).find(b.says) != std::string::npos, e.what());
        if (b.code == domus::errc::xml_error)
          BOOST_TEST(std::string(e.what()).rfind("pool.xml:1: ", 0) == 0, e.what());
      }
    }
  const bad volumes[] = {
      {"<volume><name>v</name></volume>", "/volume/capacity"},
      {"<volume><name>../v</name><capacity>1</capacity></volume>", "'/'",
       domus::errc::invalid_name},
      {"<volume><name>v</name><capacity>99999999999999999999</capacity></volume>",
       "'99999999999999999999' is not a non-negative integer"},
      {"<volume><name>v</name><capacity unit='E'>17</capacity></volume>", "is too large"},
      {"<volume><name>v</name><capacity>1</capacity><target><format type='zip'/>"
       "</target></volume>",
       "unknown volume format type 'zip'"},
      {"<volume type='tape'><name>v</name><capacity>1</capacity></volume>",
       "unknown value 'tape'"},
  };
  for (auto& b : volumes)
    BOOST_TEST_CONTEXT(b.xml) {
      try {
        parse_volume(b.xml, "vol.xml", parent_pool());
        BOOST_ERROR("accepted");
      } catch (const domus::error& e) {
        BOOST_TEST((e.code() == b.code), e.what());
        BOOST_TEST(std::string(e.what()).find(b.says) != std::string::npos, e.what());
      }
    }
}
