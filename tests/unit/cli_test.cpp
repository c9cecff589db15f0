#define BOOST_TEST_MODULE cli
#include <boost/test/unit_test.hpp>

#include "command_table.hpp"
#include "format.hpp"
#include "parser.hpp"
#include "progress_bar.hpp"

using namespace domus::cli;

namespace {

std::string parse_error_of(const std::string& line) {
  try {
    parse_line(line);
  } catch (const parse_error& e) {
    return e.what();
  }
  return "";
}

} // namespace

BOOST_AUTO_TEST_SUITE(parsing)

BOOST_AUTO_TEST_CASE(words_like_a_shell) {
  auto cmds = split_commands(R"(echo 'a b' "c" d\ e; list --all;; uri)");
  BOOST_TEST_REQUIRE(cmds.size() == 3u);
  BOOST_TEST((cmds[0] == std::vector<std::string>{"echo", "a b", "c", "d e"}));
  BOOST_TEST((cmds[1] == std::vector<std::string>{"list", "--all"}));
  BOOST_TEST((cmds[2] == std::vector<std::string>{"uri"}));
  BOOST_TEST(split_commands("dominfo te\"st\"")[0][1] == "test");
  BOOST_CHECK_THROW(split_commands("dominfo 'open"), parse_error);
}

BOOST_AUTO_TEST_CASE(binding) {
  auto pc = parse_line("domstate web1 --reason")[0];
  BOOST_TEST(pc.spec->name == "domstate");
  BOOST_TEST(pc.value("domain").value() == "web1");
  BOOST_TEST(pc.flag("reason"));
  auto named = parse_line("dominfo --domain=web2")[0];
  BOOST_TEST(named.value("domain").value() == "web2");
  auto ev = parse_line("event test --all --loop --timeout 3")[0];
  BOOST_TEST(ev.value("domain").value() == "test");
  BOOST_TEST(ev.value("timeout").value() == "3");
}

// virsh's own wording for command-line mistakes.
BOOST_AUTO_TEST_CASE(errors_read_as_virsh_writes_them) {
  BOOST_TEST(parse_error_of("bogus") == "unknown command: 'bogus'");
  BOOST_TEST(parse_error_of("list --bogus") ==
             "command 'list' doesn't support option --bogus");
  BOOST_TEST(parse_error_of("list --al") == "command 'list' doesn't support option --al");
  BOOST_TEST(parse_error_of("dominfo") == "command 'dominfo' requires <domain> option");
  BOOST_TEST(parse_error_of("dominfo a extra") == "unexpected data 'extra'");
  BOOST_TEST(parse_error_of("dominfo a --domain b") == "option --domain already seen");
  BOOST_TEST(parse_error_of("event --all --timeout") ==
             "expected syntax: --timeout <number>");
  BOOST_TEST(parse_error_of("event --all --timeout x").find("malformed") !=
             std::string::npos);
  // A mistake anywhere stops the whole line.
  BOOST_TEST(parse_error_of("list; bogus") == "unknown command: 'bogus'");
}

BOOST_AUTO_TEST_CASE(every_command_is_complete) {
  for (auto& c : commands()) {
    BOOST_TEST(!c.brief.empty());
    BOOST_TEST(static_cast<bool>(c.handler));
    bool known_group = false;
    for (auto& g : command_groups())
      known_group |= g.keyword == c.group;
    BOOST_TEST(known_group, c.name);
    for (auto& o : c.options)
      BOOST_TEST(!o.help.empty(), c.name << " --" << o.name);
  }
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(layout)

// Texts from virsh 9.0 (../shared/libvirt-anchor.md, section 4).
BOOST_AUTO_TEST_CASE(list_table) {
  std::string expected = " Id   Name         State\n"
                         "-----------------------------\n"
                         " 1    fmt-run      running\n"
                         " 2    fmt-paused   paused\n"
                         " -    fmt-off      shut off\n";
  BOOST_TEST(format_table({"Id", "Name", "State"},
                          {{"1", "fmt-run", "running"},
                           {"2", "fmt-paused", "paused"},
                           {"-", "fmt-off", "shut off"}},
                          false) == expected);
}

BOOST_AUTO_TEST_CASE(empty_list_table) {
  BOOST_TEST(format_table({"Id", "Name", "State"}, {}, false) ==
             " Id   Name   State\n--------------------\n");
}

BOOST_AUTO_TEST_CASE(quiet_table_ignores_the_header) {
  BOOST_TEST(format_table({"Id", "Name", "State"}, {{"1", "test", "running"}}, true) ==
             " 1   test   running\n");
}

// The last cell is never padded; an empty one still leaves its three separator spaces.
BOOST_AUTO_TEST_CASE(empty_last_cell) {
  BOOST_TEST(format_table({"Id", "Name", "State", "Title"},
                          {{"1", "test", "running", ""}}, false) ==
             " Id   Name   State     Title\n"
             "------------------------------\n"
             " 1    test   running   \n");
}

BOOST_AUTO_TEST_CASE(key_value_blocks) {
  BOOST_TEST(key_value("Id:", "1", 15) == "Id:             1\n");
  BOOST_TEST(key_value("Security DOI:", "", 15) == "Security DOI:   \n");
  BOOST_TEST(key_value("CPU model:", "i686", 20) == "CPU model:           i686\n");
}

BOOST_AUTO_TEST_SUITE_END()

// The progress line of vol-upload and vol-download: bar, percent, bytes, rate, time left;
// a total not known shows bytes and rate only.
BOOST_AUTO_TEST_CASE(progress_lines) {
  using domus::cli::progress_bar;
  using std::chrono::milliseconds;
  std::string half =
      progress_bar::line("Uploading", 512u << 20, 1024u << 20, milliseconds(4000), 80);
  BOOST_TEST(half == "Uploading [=========>        ]  50%  512.0 MiB of 1.0 GiB  "
                     "128.0 MiB/s  4s left",
             half);
  BOOST_TEST(half.size() <= 80u);
  std::string done =
      progress_bar::line("Uploading", 1024u << 20, 1024u << 20, milliseconds(8000), 80);
  BOOST_TEST(done.find("[" + std::string(25, '=') + "] 100%") != std::string::npos, done);
  BOOST_TEST(done.find("  8s") != std::string::npos, done);
  BOOST_TEST(progress_bar::line("Downloading", 3u << 20, 0, milliseconds(1000), 80) ==
             "Downloading 3.0 MiB  3.0 MiB/s");
  // Narrow terminals still get a bar of ten.
  std::string narrow = progress_bar::line("Uploading", 1, 4, milliseconds(1000), 20);
  BOOST_TEST(narrow.find("[==>       ]") != std::string::npos, narrow);
}
