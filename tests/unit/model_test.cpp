#define BOOST_TEST_MODULE model
#include <boost/test/unit_test.hpp>

#include "test_files.hpp"

#include <domus/errors.hpp>
#include <domus/model/domain_def.hpp>
#include <domus/model/names.hpp>
#include <domus/model/units.hpp>
#include <domus/model/uuid.hpp>
#include <domus/model/xml_tree.hpp>

#include <chrono>
#include <fstream>
#include <sstream>

using namespace domus::model;
using domus::errc;

namespace {} // namespace

BOOST_AUTO_TEST_SUITE(names)

BOOST_AUTO_TEST_CASE(rule) {
  BOOST_TEST(!name_problem("web1"));
  BOOST_TEST(!name_problem("ünïcödé-guest"));
  BOOST_TEST(!name_problem(std::string(200, 'a')));
  BOOST_TEST(name_problem(std::string(201, 'a')).value().find("201 bytes") !=
             std::string::npos);
  BOOST_TEST(name_problem("").has_value());
  BOOST_TEST(name_problem(".").has_value());
  BOOST_TEST(name_problem("..").has_value());
  BOOST_TEST(!name_problem("..."));
  BOOST_TEST(name_problem("a/b").value().find("'/'") != std::string::npos);
  BOOST_TEST(name_problem(std::string("a\0b", 3)).value().find("NUL") !=
             std::string::npos);
  BOOST_TEST(name_problem("tab\there").value().find("control") != std::string::npos);
  BOOST_TEST(name_problem("del\x7f").has_value());
  BOOST_TEST(name_problem("c1\xc2\x85").has_value()); // U+0085, a C1 control
  BOOST_TEST(name_problem("bad\xff").value().find("UTF-8") != std::string::npos);
  BOOST_TEST(name_problem("\xc0\xaf").has_value());     // overlong '/'
  BOOST_TEST(name_problem("\xed\xa0\x80").has_value()); // a surrogate
}

BOOST_AUTO_TEST_CASE(check_throws_invalid_name) {
  try {
    check_name("a\nb");
    BOOST_ERROR("accepted a newline");
  } catch (const domus::error& e) {
    BOOST_TEST(static_cast<int>(e.code()) == static_cast<int>(errc::invalid_name));
    BOOST_TEST(std::string(e.what()).find("'a\\x0ab'") != std::string::npos, e.what());
  }
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(values)

BOOST_AUTO_TEST_CASE(uuids_in_every_form) {
  auto a = parse_uuid("6695eb01-f6a4-8304-79aa-97f2502e193f");
  auto b = parse_uuid("6695EB01F6A4830479AA97F2502E193F");
  BOOST_TEST_REQUIRE(a.has_value());
  BOOST_TEST((a == b));
  BOOST_TEST(format_uuid(*b) == "6695eb01-f6a4-8304-79aa-97f2502e193f");
  BOOST_TEST(!parse_uuid("6695eb01").has_value());
  BOOST_TEST(!parse_uuid("6695eb01-f6a4-8304-79aa-97f2502e193f0").has_value());
  BOOST_TEST(!parse_uuid("g695eb01-f6a4-8304-79aa-97f2502e193f").has_value());
  auto g = generate_uuid();
  BOOST_TEST((g != generate_uuid()));
  BOOST_TEST(format_uuid(g)[14] == '4'); // version 4
}

BOOST_AUTO_TEST_CASE(units_as_libvirt_scales_them) {
  BOOST_TEST(unit_scale("b").value() == 1u);
  BOOST_TEST(unit_scale("bytes").value() == 1u);
  BOOST_TEST(unit_scale("KiB").value() == 1024u);
  BOOST_TEST(unit_scale("k").value() == 1024u);
  BOOST_TEST(unit_scale("KB").value() == 1000u);
  BOOST_TEST(unit_scale("MiB").value() == 1048576u);
  BOOST_TEST(unit_scale("M").value() == 1048576u);
  BOOST_TEST(unit_scale("GB").value() == 1000000000u);
  BOOST_TEST(unit_scale("TiB").value() == (uint64_t{1} << 40));
  BOOST_TEST(unit_scale("EiB").value() == (uint64_t{1} << 60));
  BOOST_TEST(!unit_scale("GB2").has_value());
  BOOST_TEST(!unit_scale("X").has_value());
  BOOST_TEST(!unit_scale("").has_value());
  BOOST_TEST(to_kib(1, 1).value() == 1u); // rounded up
  BOOST_TEST(to_kib(512, 1000000).value() == 500000u);
  BOOST_TEST(!to_kib(UINT64_MAX, 1024).has_value());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(xml)

BOOST_AUTO_TEST_CASE(external_entities_are_refused) {
  const char* xxe = R"(<?xml version="1.0"?>
<!DOCTYPE domain [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<domain type='test'><name>&secret;</name><memory>1</memory><os><type>hvm</type></os></domain>)";
  try {
    parse_domain(xxe, "xxe.xml");
    BOOST_ERROR("an external entity was accepted");
  } catch (const domus::error& e) {
    BOOST_TEST(static_cast<int>(e.code()) == static_cast<int>(errc::xml_error));
    BOOST_TEST(std::string(e.what()).find("xxe.xml: line 2: DOCTYPE") == 0, e.what());
    BOOST_TEST(std::string(e.what()).find("root:") == std::string::npos);
  }
}

BOOST_AUTO_TEST_CASE(billion_laughs_is_refused_before_any_expansion) {
  std::string doc = domus::testing::billion_laughs_document();
  auto start = std::chrono::steady_clock::now();
  BOOST_CHECK_THROW(parse_domain(doc, "lolz.xml"), domus::error);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                std::chrono::steady_clock::now() - start)
                .count();
  BOOST_TEST_MESSAGE("billion laughs refused in " << ms << " ms");
}

BOOST_AUTO_TEST_CASE(writer_escapes_and_indents) {
  xml_node n = xml_node::element("a");
  n.set_attr("q", "it's <&>");
  xml_node c = xml_node::element("b");
  c.children.push_back(xml_node::text_node("x & y"));
  n.children.push_back(c);
  BOOST_TEST(to_xml_string(n) ==
             "<a q='it&apos;s &lt;&amp;&gt;'>\n  <b>x &amp; y</b>\n</a>\n");
}

// The scan before libxml2: depth and attributes per element, at their limit and past it;
// what is not markup (comments, CDATA, quoted values) is not counted.
BOOST_AUTO_TEST_CASE(limits_are_checked_before_libxml2_reads) {
  auto nested = [](int n) {
    std::string s;
    for (int i = 0; i < n; ++i)
      s += "<e>";
    s += "<leaf/>";
    for (int i = 0; i < n; ++i)
      s += "</e>";
    return s;
  };
  xml_limits l{0, 8, 4};
  BOOST_CHECK_NO_THROW(parse_xml(nested(7), "d.xml", l)); // 7 + the leaf
  try {
    parse_xml(nested(8), "d.xml", l);
    BOOST_ERROR("nesting past max_xml_depth was accepted");
  } catch (const domus::error& e) {
    BOOST_TEST(static_cast<int>(e.code()) ==
               static_cast<int>(domus::errc::limit_exceeded));
    BOOST_TEST(std::string(e.what()) ==
               "d.xml:1: element <leaf> is nested 9 deep, beyond max_xml_depth (8)");
  }
  std::string four = "<a>\n<!-- <x a='1' b='2' c='3' d='4' e='5'> -->\n"
                     "<![CDATA[<y a=1 b=2 c=3 d=4 e=5>]]>\n"
                     "<b p='x=y' q=\"a>b\" r='=' s='4'/></a>";
  BOOST_CHECK_NO_THROW(parse_xml(four, "a.xml", l));
  try {
    parse_xml("<a>\n\n<b p='1' q='2' r='3' s='4' t='5'/></a>", "a.xml", l);
    BOOST_ERROR("attributes past max_xml_attributes were accepted");
  } catch (const domus::error& e) {
    BOOST_TEST(
        std::string(e.what()) ==
        "a.xml:3: element <b> has more than 4 attributes, beyond max_xml_attributes");
  }
  try {
    parse_xml(std::string(100, ' ') + "<a/>", "s.xml", {64, 0, 0});
    BOOST_ERROR("a document past max_xml_bytes was accepted");
  } catch (const domus::error& e) {
    BOOST_TEST(static_cast<int>(e.code()) ==
               static_cast<int>(domus::errc::message_too_large));
    BOOST_TEST(std::string(e.what()) ==
               "s.xml: the document is 104 bytes, above max_xml_bytes (64)");
  }
}

// written_size() is what write_xml() writes, byte for byte, however deep and escaped.
BOOST_AUTO_TEST_CASE(written_size_is_the_size_written) {
  xml_node root = parse_xml("<a x='&amp;&lt;&quot;'><b>t&gt;</b><c><d y=\"'\"/>text &amp;"
                            "<e/></c><f/></a>",
                            "w.xml");
  BOOST_TEST(written_size(root) == to_xml_string(root).size());
  for (int depth : {0, 1, 5})
    BOOST_TEST(written_size(root.children[1], depth) == [&] {
      std::string out;
      write_xml(out, root.children[1], depth);
      return out.size();
    }());
}

// The tree is built from the parser's events: references in values decoded (an '&'
// included, however written), namespaces kept as attributes, text merged across
// references and CDATA, comments and instructions dropped, lines those of the start tags.
BOOST_AUTO_TEST_CASE(parsed_tree_is_what_the_document_says) {
  xml_node root =
      parse_xml("<?xml version='1.0'?>\n<a xmlns:q='urn:q' v='&#38;&#x26;&amp;&#65;'"
                " q:w='1'>\n  <!-- c -->\n  <b>x &amp; <![CDATA[<y>]]>&#x7a;</b>"
                "<?pi data?>\n  <q:c/>\n</a>\n",
                "t.xml");
  BOOST_TEST(root.name == "a");
  BOOST_TEST(root.line == 2);
  BOOST_TEST_REQUIRE(root.attrs.size() == 3u);
  BOOST_TEST(root.attrs[0].name == "xmlns:q");
  BOOST_TEST(root.attrs[0].value == "urn:q");
  BOOST_TEST(root.attrs[1].value == "&&&A");
  BOOST_TEST(root.attrs[2].name == "q:w");
  BOOST_TEST_REQUIRE(root.children.size() == 2u); // the indentation dropped
  BOOST_TEST(root.children[0].text_content() == "x & <y>z");
  BOOST_TEST(root.children[0].line == 4);
  BOOST_TEST(root.children[1].name == "q:c");
  BOOST_TEST(root.children[1].line == 5);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_CASE(missing_uuid_is_generated_and_kept_stable) {
  auto def = parse_domain("<domain type='test'><name>n</name><memory>8</memory>"
                          "<os><type>hvm</type></os></domain>",
                          "<request>");
  BOOST_TEST(!def.uuid.has_value());
  normalize(def);
  BOOST_TEST_REQUIRE(def.uuid.has_value());
  std::string once = format_domain(def, secrets::keep);
  auto again = parse_domain(once, "<again>");
  normalize(again);
  BOOST_TEST(format_domain(again, secrets::keep) == once);
  BOOST_TEST(format_domain(def, secrets::keep, 7).find("<domain type='test' id='7'>") ==
             0);
}

// The typed fields are written at their places among the tree's children, those the
// input lacked included, before the elements outside the schema; changed fields win.
BOOST_AUTO_TEST_CASE(typed_fields_are_written_in_their_places) {
  auto def = parse_domain("<domain type='test'><x:extra xmlns:x='urn:x'/><name>n</name>"
                          "<clock offset='utc'/><memory>8</memory><os><type>hvm</type>"
                          "</os><on_crash>destroy</on_crash></domain>",
                          "<request>");
  normalize(def);
  def.name = "m";
  def.vcpus = 3;
  std::string uuid = def.uuid_string();
  BOOST_TEST(
      format_domain(def, secrets::keep) ==
      "<domain type='test'>\n  <name>m</name>\n  <uuid>" + uuid +
          "</uuid>\n  <memory unit='KiB'>8</memory>\n"
          "  <currentMemory unit='KiB'>8</currentMemory>\n"
          "  <vcpu placement='static'>3</vcpu>\n  <os>\n    <type>hvm</type>\n"
          "    <boot dev='hd'/>\n  </os>\n  <clock offset='utc'/>\n"
          "  <on_poweroff>destroy</on_poweroff>\n  <on_reboot>restart</on_reboot>\n"
          "  <on_crash>destroy</on_crash>\n  <devices>\n  </devices>\n"
          "  <x:extra xmlns:x='urn:x'/>\n</domain>\n");
}

// A graphics password is a secret of the schema table: every format without secrets
// drops it, full or compact, live or not; with secrets it is kept. A definition without
// secrets keeps one text when compacted.
BOOST_AUTO_TEST_CASE(secrets_are_formatted_only_when_asked_for) {
  auto def = parse_domain(
      "<domain type='test'><name>s</name><memory>8</memory><os><type>hvm</type></os>"
      "<devices><graphics type='vnc' port='5900' passwd='hunter2' "
      "passwdValidTo='2030-01-01T00:00:00'/><graphics type='spice' passwd='sp1ce'/>"
      "</devices></domain>",
      "<request>");
  normalize(def);
  auto small = compacted(def);
  for (const domain_def* d : {&def, &small}) {
    for (auto id : {std::optional<int>(), std::optional<int>(3)}) {
      std::string open = format_domain(*d, secrets::omit, id);
      std::string secure = format_domain(*d, secrets::keep, id);
      BOOST_TEST(open.find("hunter2") == std::string::npos);
      BOOST_TEST(open.find("sp1ce") == std::string::npos);
      BOOST_TEST(open.find("passwd=") == std::string::npos);
      BOOST_TEST(open.find("passwdValidTo='2030-01-01T00:00:00'") != std::string::npos);
      BOOST_TEST(secure.find("passwd='hunter2'") != std::string::npos);
      BOOST_TEST(secure.find("passwd='sp1ce'") != std::string::npos);
    }
  }
  BOOST_TEST(!small.public_text.empty());
  auto plain = parse_domain("<domain type='test'><name>p</name><memory>8</memory>"
                            "<os><type>hvm</type></os><devices><graphics type='vnc'/>"
                            "</devices></domain>",
                            "<request>");
  normalize(plain);
  BOOST_TEST(compacted(plain).public_text.empty());
  BOOST_TEST(format_domain(plain, secrets::omit) == format_domain(plain, secrets::keep));
}

// Every controller up to a drive address's is implied: 255 is the highest a drive
// address may name (256 controllers added), 256 is refused naming the attribute.
BOOST_AUTO_TEST_CASE(implied_disk_controllers_are_bounded) {
  auto domain = [](int controller) {
    return "<domain type='test'><name>d</name><memory>1024</memory><os><type>hvm</type>"
           "</os><devices><disk type='file' device='disk'><source file='/a'/>"
           "<target dev='sda' bus='scsi'/><address type='drive' controller='" +
           std::to_string(controller) +
           "' bus='0' target='0' unit='0'/></disk></devices></domain>";
  };
  domain_def def = parse_domain(domain(255), "at.xml");
  normalize(def);
  add_implied_devices(def);
  std::string xml = format_domain(def, secrets::keep);
  size_t controllers = 0;
  for (size_t at = xml.find("<controller type='scsi'"); at != std::string::npos;
       at = xml.find("<controller type='scsi'", at + 1))
    ++controllers;
  BOOST_TEST(controllers == 256u);
  // A disk's name implies its drive address: sdbpx (index 1791) is unit 6 of scsi
  // controller 255, sdbpy would be on 256.
  auto named = [](const std::string& dev) {
    return "<domain type='test'><name>d</name><memory>1024</memory><os><type>hvm</type>"
           "</os><devices><disk type='file' device='disk'><source file='/a'/>"
           "<target dev='" +
           dev + "' bus='scsi'/></disk></devices></domain>";
  };
  domain_def at = parse_domain(named("sdbpx"), "at.xml");
  normalize(at);
  add_implied_devices(at);
  BOOST_TEST(format_domain(at, secrets::keep)
                 .find("controller='255' bus='0' target='0' "
                       "unit='6'") != std::string::npos);
  try {
    parse_domain(named("sdbpy"), "past.xml");
    BOOST_ERROR("sdbpy accepted");
  } catch (const domus::error& e) {
    BOOST_TEST(
        std::string(e.what()).find("disk 'sdbpy' would sit on drive controller 256 "
                                   "(at most 255)") != std::string::npos,
        e.what());
  }
  try {
    parse_domain(domain(256), "past.xml");
    BOOST_ERROR("controller 256 accepted");
  } catch (const domus::error& e) {
    BOOST_TEST(std::string(e.what()) ==
               "past.xml:1: /domain/devices/disk/address/@controller: drive controller "
               "256 is out of range (at most 255)");
  }
}

// A validation rule refuses a new definition and only reports a stored one, naming the
// file, line, element and rule both ways.
BOOST_AUTO_TEST_CASE(validation_refuses_input_and_reports_stored) {
  const std::string xml = "<domain type='test'><name>v</name><memory>8</memory>"
                          "<os><type>hvm</type></os><devices>\n"
                          "<controller type='nvme'/>\n<serial type='udp'/></devices>"
                          "</domain>";
  try {
    parse_domain(xml, "v.xml");
    BOOST_FAIL("accepted");
  } catch (const domus::error& e) {
    BOOST_TEST(std::string(e.what()).find("v.xml:3: /domain/devices/serial/source: a "
                                          "character device of type 'udp' needs") == 0,
               e.what());
  }
  auto stored = parse_domain(xml, "v.xml", parse_mode::stored);
  BOOST_TEST_REQUIRE(stored.warnings().size() == 2u);
  BOOST_TEST(stored.warnings()[0].find("v.xml:3: /domain/devices/serial/source: a "
                                       "character device of type 'udp' needs its "
                                       "source's 'service' attribute") == 0,
             stored.warnings()[0]);
  BOOST_TEST(stored.warnings()[1].find("v.xml:2: /domain/devices/controller/@type") == 0,
             stored.warnings()[1]);
  BOOST_TEST(
      parse_domain(format_domain(stored, secrets::keep), "again.xml", parse_mode::stored)
          .name == "v");
}
