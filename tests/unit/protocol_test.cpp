#define BOOST_TEST_MODULE protocol
#include <boost/test/unit_test.hpp>

#include <domus/driver_v1.h>
#include <domus/protocol/codec.hpp>
#include <domus/protocol/errors.hpp>
#include <domus/protocol/flags.hpp>
#include <domus/protocol/procedures.hpp>
#include <domus/protocol/topics.hpp>
#include <domus/protocol/uri.hpp>
#include <domus/protocol/vocabulary.hpp>

#include <cstdlib>
#include <fstream>
#include <set>

using namespace domus::protocol;

BOOST_TEST_DONT_PRINT_LOG_VALUE(std::optional<int64_t>)
BOOST_TEST_DONT_PRINT_LOG_VALUE(std::optional<errc>)

BOOST_AUTO_TEST_SUITE(errors)

// The numbers are a public contract (docs/protocol.md): never renumbered or reused.
BOOST_AUTO_TEST_CASE(catalogue_is_pinned) {
  const std::pair<int, const char*> pinned[] = {
      {1, "no-domain"},         {2, "invalid-operation"}, {3, "xml-error"},
      {4, "invalid-name"},      {5, "permission-denied"}, {6, "busy"},
      {7, "message-too-large"}, {8, "bad-request"},       {9, "unsupported"},
      {10, "internal"},         {11, "domain-exists"},    {12, "unknown-procedure"},
      {13, "version-mismatch"}, {14, "no-driver"},        {15, "operation-failed"},
      {16, "shutting-down"},    {17, "invalid-argument"}, {18, "resync"},
      {19, "timeout"},          {20, "no-daemon"},        {21, "config-error"},
      {22, "limit-exceeded"},   {23, "aborted"},          {24, "no-pool"},
      {25, "pool-exists"},      {26, "no-volume"},        {27, "volume-exists"},
  };
  BOOST_TEST(error_catalogue().size() == std::size(pinned));
  for (auto& [number, name] : pinned) {
    auto code = errc_from_number(number);
    BOOST_TEST_REQUIRE(code.has_value());
    BOOST_TEST(to_string(*code) == name);
    BOOST_TEST(errc_from_string(name) == code);
  }
  BOOST_TEST(!errc_from_number(0).has_value());
  BOOST_TEST(!errc_from_string("nope").has_value());
}

BOOST_AUTO_TEST_CASE(every_code_is_documented) {
  std::set<std::string_view> names;
  for (auto& e : error_catalogue()) {
    BOOST_TEST(!e.doc.empty());
    BOOST_TEST(names.insert(e.name).second);
  }
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(codec)

request decode_ok(std::string_view text) {
  auto r = decode_request(text);
  BOOST_TEST_REQUIRE(std::holds_alternative<request>(r));
  return std::get<request>(r);
}

request_failure decode_fail(std::string_view text) {
  auto r = decode_request(text);
  BOOST_TEST_REQUIRE(std::holds_alternative<request_failure>(r));
  return std::get<request_failure>(r);
}

BOOST_AUTO_TEST_CASE(round_trip) {
  std::string wire =
      encode_request(42, "test:///default", "domain.start", {{"domain", "web1"}});
  request r = decode_ok(wire);
  BOOST_TEST(r.id == 42);
  BOOST_TEST(r.uri == "test:///default");
  BOOST_TEST(r.proc->name == "domain.start");
  BOOST_TEST(r.proc->mutating);
  BOOST_TEST(r.args["domain"] == "web1");
}

BOOST_AUTO_TEST_CASE(args_default_to_an_empty_object) {
  request r = decode_ok(R"({"v":1,"id":1,"uri":"test:///default","proc":"domain.list"})");
  BOOST_TEST(r.args.is_object());
  BOOST_TEST(r.args.empty());
}

BOOST_AUTO_TEST_CASE(malformed_json_recovers_the_id) {
  auto f = decode_fail(R"({"v":1,"id":77,"uri":"test:///default","proc":)");
  BOOST_TEST(static_cast<int>(f.code) == static_cast<int>(errc::bad_request));
  BOOST_TEST(f.id == 77);
  auto g = decode_fail("garbage");
  BOOST_TEST(!g.id.has_value());
}

BOOST_AUTO_TEST_CASE(version_mismatch) {
  auto f = decode_fail(R"({"v":2,"id":5,"uri":"x:///y","proc":"domain.list"})");
  BOOST_TEST(static_cast<int>(f.code) == static_cast<int>(errc::version_mismatch));
  BOOST_TEST(f.id == 5);
  BOOST_TEST(f.message.find("version 2") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(envelope_errors) {
  BOOST_TEST(static_cast<int>(decode_fail("[1,2]").code) ==
             static_cast<int>(errc::bad_request));
  auto no_id = decode_fail(R"({"v":1,"proc":"domain.list","uri":"test:///default"})");
  BOOST_TEST(!no_id.id.has_value());
  auto unknown =
      decode_fail(R"({"v":1,"id":3,"proc":"domain.fly","uri":"test:///default"})");
  BOOST_TEST(static_cast<int>(unknown.code) == static_cast<int>(errc::unknown_procedure));
  BOOST_TEST(unknown.message.find("domain.fly") != std::string::npos);
  auto no_uri = decode_fail(R"({"v":1,"id":3,"proc":"domain.list"})");
  BOOST_TEST(no_uri.message.find("uri") != std::string::npos);
  auto bad_args =
      decode_fail(R"({"v":1,"id":3,"proc":"domain.list","uri":"a:///b","args":[]})");
  BOOST_TEST(static_cast<int>(bad_args.code) == static_cast<int>(errc::bad_request));
  // Daemon procedures need no URI.
  BOOST_TEST(
      decode_ok(R"({"v":1,"id":9,"proc":"events.ping","args":{"token":"t"}})").id == 9);
}

BOOST_AUTO_TEST_CASE(recover_id_only_from_the_documented_prefix) {
  BOOST_TEST(recover_request_id(R"({"v":1,"id":123,"uri":)") == 123);
  BOOST_TEST(recover_request_id(R"({ "v" : 1 , "id" : -4 ...)") == -4);
  BOOST_TEST(!recover_request_id(R"({"id":1,"v":1})").has_value());
  BOOST_TEST(!recover_request_id(R"({"v":1,"id":"x"})").has_value());
  // Any int64, and nothing beyond (found by fuzzing: 19-digit ids were not recovered).
  BOOST_TEST(recover_request_id(R"({"v":1,"id":9223372036854775807})") == INT64_MAX);
  BOOST_TEST(recover_request_id(R"({"v":1,"id":-9223372036854775808})") == INT64_MIN);
  BOOST_TEST(!recover_request_id(R"({"v":1,"id":9223372036854775808})").has_value());
  BOOST_TEST(!recover_request_id(R"({"v":1,"id":99999999999999999999})").has_value());
}

BOOST_AUTO_TEST_CASE(replies) {
  reply ok = decode_reply(encode_reply(7, {{"x", 1}}));
  BOOST_TEST(ok.ok);
  BOOST_TEST(ok.id == 7);
  BOOST_TEST(ok.result["x"] == 1);
  reply err = decode_reply(encode_error(std::nullopt, errc::no_domain,
                                        "domain 'x' not found", {{"extra", true}}));
  BOOST_TEST(!err.ok);
  BOOST_TEST(!err.id.has_value());
  BOOST_TEST(static_cast<int>(err.code) == static_cast<int>(errc::no_domain));
  BOOST_TEST(err.error["number"] == 1);
  BOOST_TEST(err.error["code"] == "no-domain");
  BOOST_TEST(err.error["extra"] == true);
  BOOST_CHECK_THROW(decode_reply("nope"), error);
}

BOOST_AUTO_TEST_CASE(invalid_utf8_in_a_message_is_replaced_not_thrown) {
  std::string bad = "domain '\xff' not found";
  reply r = decode_reply(encode_error(1, errc::no_domain, bad));
  // The byte that is not UTF-8 becomes U+FFFD; everything around it is kept.
  BOOST_TEST(r.message == "domain '\xef\xbf\xbd' not found");
  BOOST_TEST(decode_reply(encode_reply(2, json{{"name", "a\xc3"}})).result["name"] ==
             "a\xef\xbf\xbd");
}

BOOST_AUTO_TEST_CASE(utc_time_format) {
  std::chrono::system_clock::time_point epoch{};
  BOOST_TEST(format_utc_ms(epoch) == "1970-01-01T00:00:00.000Z");
  std::chrono::system_clock::time_point t{std::chrono::milliseconds(1700000000123)};
  BOOST_TEST(format_utc_ms(t) == "2023-11-14T22:13:20.123Z");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(procedures)

BOOST_AUTO_TEST_CASE(catalogue_is_consistent) {
  int expected = 1;
  for (auto& p : proc_catalogue()) {
    BOOST_TEST(static_cast<int>(p.id) == expected++);
    BOOST_TEST(find_proc(p.name) == &p);
    BOOST_TEST(&entry(p.id) == &p);
  }
  BOOST_TEST(!find_proc("domain.nope"));
  // What the read-only socket refuses.
  BOOST_TEST(find_proc("domain.define")->mutating);
  BOOST_TEST(!find_proc("domain.info")->mutating);
  BOOST_TEST(!find_proc("events.ping")->mutating);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(uris)

BOOST_AUTO_TEST_CASE(parse_and_normalize) {
  auto u = parse_uri("test+unix:///default?socket=/tmp/x/domus-sock&foo=bar");
  BOOST_TEST(u.scheme == "test");
  BOOST_TEST(u.transport == "unix");
  BOOST_TEST(u.path == "/default");
  BOOST_TEST(u.query.at("socket") == "/tmp/x/domus-sock");
  BOOST_TEST(u.normalized() == "test:///default");
  BOOST_TEST(parse_uri("test:///a%20b.xml").path == "/a b.xml");
}

BOOST_AUTO_TEST_CASE(refusals_name_the_problem) {
  auto fails = [](const char* text, const char* part) {
    try {
      parse_uri(text);
      BOOST_ERROR("accepted " << text);
    } catch (const error& e) {
      BOOST_TEST(std::string(e.what()).find(part) != std::string::npos, e.what());
    }
  };
  fails("nonsense", "expected driver");
  fails("test+tcp:///default", "transport 'tcp'");
  fails("qemu://host/system", "remote hosts");
  fails("Te$t:///x", "driver name");
  fails("test:///a%zz", "percent");
}

BOOST_AUTO_TEST_CASE(socket_paths) {
  BOOST_TEST(socket_path_for(parse_uri("qemu:///system")) == "/run/domus/domus-sock");
  BOOST_TEST(socket_path_for(parse_uri("test:///default?socket=/s/domus-sock")) ==
             "/s/domus-sock");
  ::setenv("XDG_RUNTIME_DIR", "/run/user/1000", 1);
  BOOST_TEST(socket_path_for(parse_uri("qemu:///session")) ==
             "/run/user/1000/domus/domus-sock");
  BOOST_CHECK_THROW(socket_path_for(parse_uri("test:///default?socket=relative")), error);
  auto files = socket_files::beside("/a/b/domus-sock");
  BOOST_TEST(files.ro == "/a/b/domus-sock-ro");
  BOOST_TEST(files.events == "/a/b/domus-events");
}

BOOST_AUTO_TEST_CASE(default_uri_from_the_environment) {
  ::unsetenv("DOMUS_DEFAULT_URI");
  BOOST_TEST(default_uri() == "test:///default");
  ::setenv("DOMUS_DEFAULT_URI", "qemu:///system", 1);
  BOOST_TEST(default_uri() == "qemu:///system");
  ::unsetenv("DOMUS_DEFAULT_URI");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(vocabulary)

BOOST_AUTO_TEST_CASE(virsh_words) {
  BOOST_TEST(find_state(DOMUS_STATE_SHUTOFF)->text == "shut off");
  BOOST_TEST(find_state("shutoff")->state == DOMUS_STATE_SHUTOFF);
  BOOST_TEST(find_reason(DOMUS_STATE_PAUSED, DOMUS_REASON_USER)->text == "user");
  BOOST_TEST(find_reason(DOMUS_STATE_PAUSED, DOMUS_REASON_IOERROR)->text == "I/O error");
  BOOST_TEST(find_reason(DOMUS_STATE_RUNNING, DOMUS_REASON_WAKEUP)->text ==
             "event wakeup");
  BOOST_TEST(!find_reason(DOMUS_STATE_SHUTOFF, DOMUS_REASON_BOOTED));
  BOOST_TEST(find_event(DOMUS_EVENT_STOPPED)->wire == "stopped");
  BOOST_TEST(find_detail(DOMUS_EVENT_SHUTDOWN, DOMUS_DETAIL_HOST)->text ==
             "Finished after host request");
  BOOST_TEST(!find_detail(DOMUS_EVENT_STARTED, DOMUS_DETAIL_DESTROYED));
  BOOST_TEST(state_is_active(DOMUS_STATE_PAUSED));
  BOOST_TEST(!state_is_active(DOMUS_STATE_SHUTOFF));
  BOOST_TEST(!state_is_active(0));
}

BOOST_AUTO_TEST_SUITE_END()

// docs/protocol.md's tables of procedures and error codes are checked against the
// catalogues in code, so that neither can drift from the other.
BOOST_AUTO_TEST_SUITE(documentation)

namespace {

std::string trim(std::string t) {
  auto b = t.find_first_not_of(' ');
  auto e = t.find_last_not_of(' ');
  return b == std::string::npos ? "" : t.substr(b, e - b + 1);
}

// The rows of the first table after the line `heading` in docs/protocol.md, header and
// separator left out, each cell trimmed. A '|' inside backticks is not a separator.
std::vector<std::vector<std::string>> table_after(const std::string& heading) {
  std::ifstream in(std::string(DOMUS_SOURCE_DIR) + "/docs/protocol.md");
  BOOST_TEST_REQUIRE(in.good(), "cannot read docs/protocol.md");
  std::string line;
  while (std::getline(in, line) && line != heading) {
  }
  BOOST_TEST_REQUIRE(line == heading, "docs/protocol.md has no '" << heading << "'");
  std::vector<std::vector<std::string>> rows;
  bool in_table = false;
  while (std::getline(in, line)) {
    if (line.rfind("|", 0) != 0) {
      if (in_table)
        break;
      continue;
    }
    in_table = true;
    std::vector<std::string> cells;
    std::string cell;
    bool code = false;
    for (size_t i = 1; i < line.size(); ++i) {
      if (line[i] == '`')
        code = !code;
      if (line[i] == '|' && !code) {
        cells.push_back(trim(cell));
        cell.clear();
      } else {
        cell += line[i];
      }
    }
    rows.push_back(cells);
  }
  BOOST_TEST_REQUIRE(rows.size() > 2u, "no table after '" << heading << "'");
  rows.erase(rows.begin(), rows.begin() + 2);
  return rows;
}

std::string unquote(const std::string& cell) {
  if (cell.size() >= 2 && cell.front() == '`' && cell.back() == '`')
    return cell.substr(1, cell.size() - 2);
  return cell;
}

} // namespace

// Every error code, in number order, named as in code, its text starting with the
// catalogue's one line (the table may say more after it).
BOOST_AUTO_TEST_CASE(error_codes_table_matches_the_catalogue) {
  auto rows = table_after("## Error codes");
  const auto& codes = error_catalogue();
  BOOST_TEST_REQUIRE(rows.size() == codes.size());
  for (size_t i = 0; i < rows.size(); ++i) {
    BOOST_TEST_CONTEXT("row " << i + 1) {
      BOOST_TEST_REQUIRE(rows[i].size() == 3u);
      BOOST_TEST(rows[i][0] == std::to_string(static_cast<int>(codes[i].code)));
      BOOST_TEST(unquote(rows[i][1]) == codes[i].name);
      BOOST_TEST(rows[i][2].rfind(std::string(codes[i].doc), 0) == 0u,
                 "'" << rows[i][2] << "' does not start with '" << codes[i].doc << "'");
    }
  }
}

// Every field of every driver topic, in catalogue order, with its type, whether it is
// required and, for a topic, whether it is journaled; a field's words are all named.
BOOST_AUTO_TEST_CASE(driver_events_table_matches_the_catalogue) {
  auto rows = table_after("### Driver events");
  size_t i = 0;
  for (auto& t : driver_topics())
    for (auto& f : t.fields) {
      BOOST_TEST_CONTEXT(t.name << " " << f.key) {
        BOOST_TEST_REQUIRE(i < rows.size(), "not documented");
        BOOST_TEST_REQUIRE(rows[i].size() == 6u);
        BOOST_TEST(unquote(rows[i][0]) == t.name);
        BOOST_TEST(rows[i][1] == (t.journaled ? "yes" : "no"));
        BOOST_TEST(unquote(rows[i][2]) == f.key);
        BOOST_TEST(rows[i][3] ==
                   (f.type == topic_field::kind::integer ? "integer" : "string"));
        BOOST_TEST(rows[i][4] == (f.required ? "yes" : "no"));
        for (auto w : f.words)
          BOOST_TEST(rows[i][5].find("`" + std::string(w) + "`") != std::string::npos,
                     "word " << w << " not named");
      }
      ++i;
    }
  BOOST_TEST(i == rows.size(), "the table has rows the catalogue lacks");
  for (auto& t : driver_topics())
    BOOST_TEST(subscription_can_match(t.name));
}

// A driver's body is its topic's fields, of their types and words, nothing else.
BOOST_AUTO_TEST_CASE(driver_event_bodies_are_checked_against_their_topic) {
  const driver_topic* io = find_driver_topic("domain.io-error");
  BOOST_TEST_REQUIRE(io);
  BOOST_TEST(!find_driver_topic("domain.lifecycle")); // the daemon's own, not a driver's
  auto ok = check_driver_event(
      *io, R"({"source": "/d.img", "device": "vd0", "action": "pause"})", 16);
  BOOST_TEST(ok["action"] == "pause");
  auto refused = [&](const char* body, size_t max, const std::string& why) {
    try {
      check_driver_event(*io, body, max);
      BOOST_ERROR("accepted: " << body);
    } catch (const error& e) {
      BOOST_TEST(static_cast<int>(e.code()) == static_cast<int>(errc::invalid_argument));
      BOOST_TEST(std::string(e.what()).find(why) != std::string::npos, e.what());
    }
  };
  refused("[]", 16, "event domain.io-error: the body is not a JSON object");
  refused("{", 16, "not a JSON object");
  refused(R"({"source": "/d.img", "device": "vd0"})", 16, "field 'action' is missing");
  refused(R"({"source": "/d.img", "device": "vd0", "action": "panic"})", 16,
          "field 'action' is 'panic', not one of the topic's words");
  refused(R"({"source": 1, "device": "vd0", "action": "none"})", 16,
          "field 'source' is not a string");
  refused(R"({"source": "/d.img", "device": "vd0", "action": "none", "xml": "<x/>"})", 16,
          "field 'xml' is not one of the topic's");
  refused(R"({"source": "/a/longer/path.img", "device": "vd0", "action": "none"})", 16,
          "field 'source' is longer than 16 bytes");
  // At the bound it passes.
  check_driver_event(
      *io, R"({"source": "/0123456789abcde", "device": "v", "action": "none"})", 16);
  const driver_topic* rtc = find_driver_topic("domain.rtc-change");
  BOOST_TEST_REQUIRE(rtc);
  BOOST_TEST(check_driver_event(*rtc, R"({"offset_s": -7})", 16)["offset_s"] == -7);
  try {
    check_driver_event(*rtc, R"({"offset_s": 1.5})", 16);
    BOOST_ERROR("a fraction accepted");
  } catch (const error& e) {
    BOOST_TEST(std::string(e.what()).find("is not an integer") != std::string::npos);
  }
}

// Every flag of every procedure, in catalogue order, with its number and name.
BOOST_AUTO_TEST_CASE(flags_table_matches_the_catalogue) {
  auto rows = table_after("## Flags");
  size_t i = 0;
  for (auto& p : proc_catalogue())
    for (auto& f : flag_bits(p.id)) {
      BOOST_TEST_CONTEXT(p.name << " " << f.name) {
        BOOST_TEST_REQUIRE(i < rows.size(), "not documented");
        BOOST_TEST_REQUIRE(rows[i].size() == 4u);
        BOOST_TEST(unquote(rows[i][0]) == p.name);
        BOOST_TEST(std::stoul(rows[i][1], nullptr, 16) == f.bit);
        BOOST_TEST(unquote(rows[i][2]) == f.name);
      }
      ++i;
    }
  BOOST_TEST(i == rows.size(), "the table has rows the catalogue lacks");
}

// Every procedure once, with its read-write mark and its arguments.
BOOST_AUTO_TEST_CASE(procedures_table_matches_the_catalogue) {
  auto rows = table_after("## Procedures");
  std::set<std::string> documented;
  for (auto& row : rows) {
    BOOST_TEST_REQUIRE(row.size() == 4u);
    std::string name = unquote(row[0]);
    BOOST_TEST_CONTEXT("procedure " << name) {
      BOOST_TEST(documented.insert(name).second, "documented twice");
      const proc_entry* p = find_proc(name);
      BOOST_TEST_REQUIRE(p, "not in the catalogue");
      BOOST_TEST(row[1] == (p->mutating ? "rw" : ""));
      std::string args = "`" + std::string(p->args) + "`";
      BOOST_TEST(row[2].rfind(args, 0) == 0u,
                 "'" << row[2] << "' does not start with " << args);
    }
  }
  for (auto& p : proc_catalogue())
    BOOST_TEST(documented.count(std::string(p.name)) == 1u,
               p.name << " is not documented");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(flags)

// read_flags: absent is 0; a defined bit passes; a bit the procedure does not define is
// invalid-argument naming it and what is defined; a value that is no 32-bit unsigned
// integer is bad-request.
BOOST_AUTO_TEST_CASE(read_flags_checks_the_bits) {
  BOOST_TEST(read_flags(proc::domain_start, json::object()) == 0u);
  BOOST_TEST(read_flags(proc::domain_start, {{"flags", 0x21}}) == 0x21u);
  BOOST_TEST(read_flags(proc::domain_undefine, {{"flags", 0x7f}}) == 0x7fu);
  auto refused = [](proc p, const json& args, errc code, const std::string& part) {
    try {
      read_flags(p, args);
      BOOST_FAIL("accepted " << args.dump());
    } catch (const error& e) {
      BOOST_TEST(static_cast<int>(e.code()) == static_cast<int>(code), e.what());
      BOOST_TEST(std::string(e.what()).find(part) != std::string::npos, e.what());
    }
  };
  refused(proc::domain_start, {{"flags", 0x50}}, errc::invalid_argument,
          "flags 0x50 of domain.start are not defined (it defines 0x1 (paused), 0x2 "
          "(autodestroy), 0x4 (bypass-cache), 0x8 (force-boot), 0x20 (reset-nvram))");
  refused(proc::domain_start, {{"flags", 0x80000000u}}, errc::invalid_argument,
          "flags 0x80000000 of domain.start");
  refused(proc::domain_info, {{"flags", 1}}, errc::invalid_argument,
          "flags 0x1 of domain.info are not defined (it defines none)");
  refused(proc::domain_suspend, {{"flags", 2}}, errc::invalid_argument, "defines none");
  for (const json& bad : {json("1"), json(-1), json(1.5), json(4294967296ull), json()})
    refused(proc::domain_start, {{"flags", bad}}, errc::bad_request,
            "argument \"flags\" must be an integer from 0 to 4294967295");
  // At the limit: every bit of a 32-bit value is read (and refused as undefined).
  refused(proc::domain_start, {{"flags", 4294967295ull}}, errc::invalid_argument,
          "flags 0xffffffd0 of domain.start");
}

BOOST_AUTO_TEST_CASE(describe_names_the_bits) {
  BOOST_TEST(describe_flags(proc::domain_undefine, 0x5) ==
             "0x1 (managed-save), 0x4 (nvram)");
  BOOST_TEST(describe_flags(proc::domain_reboot, 0x3) == "0x1 (acpi), 0x2 (agent)");
  BOOST_TEST(describe_flags(proc::domain_start, 0x10) == "0x10");
  BOOST_TEST(flags_minor(proc::domain_start, 0x1) == 1u);
  BOOST_TEST(flags_minor(proc::domain_start, 0) == 0u);
}

// Names are domsh's options: unique within a procedure, and each bit a single bit.
BOOST_AUTO_TEST_CASE(bits_are_single_and_named_once) {
  for (auto& p : proc_catalogue()) {
    std::set<std::string_view> names;
    uint32_t seen = 0;
    for (auto& f : flag_bits(p.id)) {
      BOOST_TEST_CONTEXT(p.name << " " << f.name) {
        BOOST_TEST(names.insert(f.name).second);
        BOOST_TEST((f.bit != 0 && (f.bit & (f.bit - 1)) == 0));
        BOOST_TEST((seen & f.bit) == 0u);
        seen |= f.bit;
      }
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()
