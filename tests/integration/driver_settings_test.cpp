#define BOOST_TEST_MODULE driver_settings_integration
#include <boost/test/unit_test.hpp>

#include "daemon.hpp"
#include "test_files.hpp"

#include <domus/protocol/client.hpp>

#include <regex>
#include <sys/stat.h>

// What a driver's open is given since plugin ABI 1.1 (docs/plugins.md, "Opening"): its
// log and cache directories, and its own settings from etc/domus/<driver>.conf, which
// the driver validates (the probe knows one, guest_seconds; the test driver none).

using namespace domus::testing;
using domus::protocol::errc;
using domus::protocol::json;
using namespace std::chrono_literals;

namespace {

// A daemon root with etc/domus/<driver>.conf holding `text` for each pair.
std::string root_with(const std::vector<std::pair<std::string, std::string>>& files) {
  std::string root = temp_dir("ds");
  ::mkdir((root + "/etc").c_str(), 0755);
  ::mkdir((root + "/etc/domus").c_str(), 0700);
  for (auto& [driver, text] : files)
    write_file(root + "/etc/domus/" + driver + ".conf", text);
  return root;
}

unsigned mode_of(const std::string& path) {
  struct stat st {};
  BOOST_TEST_REQUIRE(::stat(path.c_str(), &st) == 0, path);
  return st.st_mode & 07777;
}

// The error of a request on an instance that cannot open.
void open_fails(daemon_process& d, const std::string& uri, const std::string& message) {
  domus::protocol::connection c(d.socket(), false);
  auto r = c.call(uri, "domain.list", json::object(), 10s);
  BOOST_TEST(!r.ok);
  BOOST_TEST(static_cast<int>(r.code) == static_cast<int>(errc::config_error), r.message);
  BOOST_TEST(r.message == message);
}

} // namespace

// The probe is told its directories and its setting; its guests sleep that long.
BOOST_AUTO_TEST_CASE(a_driver_gets_its_directories_and_settings) {
  std::string root =
      root_with({{"probe", "# the probe's guests\nguest_seconds = 300\n"}});
  daemon_process d({"--plugin-dir", probe_plugin_dir()}, root);
  domus::protocol::connection c(d.socket(), false);
  auto def = c.call("probe:///one", "domain.define", {{"xml", probe_xml("g")}}, 10s);
  BOOST_TEST_REQUIRE(def.ok, def.message);
  std::string log_dir = root + "/var/log/domus/probe-one";
  std::string cache_dir = root + "/var/cache/domus/probe";
  std::string log = d.log();
  BOOST_TEST(log.find(" log_dir=" + log_dir + " cache_dir=" + cache_dir +
                      " guest_seconds=300") != std::string::npos,
             log);
  BOOST_TEST(mode_of(log_dir) == 0700u);
  BOOST_TEST(mode_of(cache_dir) == 0700u);

  auto start = c.call("probe:///one", "domain.start", {{"domain", "g"}}, 10s);
  BOOST_TEST_REQUIRE(start.ok, start.message);
  std::smatch m;
  log = d.log();
  BOOST_TEST_REQUIRE(
      std::regex_search(log, m, std::regex("guest 'g' spawned as pid (\\d+)")));
  std::string cmdline = read_file("/proc/" + m[1].str() + "/cmdline");
  BOOST_TEST(cmdline == std::string("sleep") + '\0' + "300" + '\0');
  c.call("probe:///one", "domain.destroy", {{"domain", "g"}}, 10s);
}

// A bad value, an unknown key and a malformed line each fail the open, naming the file,
// the line and the key; the daemon goes on serving the other drivers.
BOOST_AUTO_TEST_CASE(bad_settings_fail_the_open_naming_file_line_and_key) {
  struct bad {
    const char* text;
    const char* why; // after "ROOT/etc/domus/probe.conf:"
  };
  const bad cases[] = {
      {"\nguest_seconds = soon\n",
       "2: guest_seconds: expected whole seconds from 1 to 86400, got 'soon'"},
      {"guest_seconds = 86401\n",
       "1: guest_seconds: expected whole seconds from 1 to 86400, got '86401'"},
      {"guest_seconds = 5\ncolour = \"blue\"\n", "2: colour: unknown setting"},
      {"guest_seconds 5\n", "1: expected key = value, got 'guest_seconds 5'"},
      {"guest_seconds = \"5\n", "1: guest_seconds: unterminated string"},
  };
  for (auto& b : cases) {
    BOOST_TEST_CONTEXT(b.text) {
      std::string root = root_with({{"probe", b.text}});
      daemon_process d({"--plugin-dir", probe_plugin_dir()}, root);
      open_fails(d, "probe:///one", root + "/etc/domus/probe.conf:" + b.why);
      auto other = d.domsh({"list --all"});
      BOOST_TEST(other.status == 0, other.err);
    }
  }
}

// The test driver has no settings (neither has libvirt's): a line is an error, shown
// by domsh; a driver built against ABI 1.0 cannot read settings, so it is refused any.
BOOST_AUTO_TEST_CASE(a_driver_without_settings_refuses_them) {
  std::string root =
      root_with({{"test", "memory = 1\n"}, {"probe10", "guest_seconds = 5\n"}});
  daemon_process d({"--plugin-dir", probe_plugin_dir()}, root);
  auto r = d.domsh({"list"});
  BOOST_TEST(r.status == 1);
  BOOST_TEST(r.err.find(root + "/etc/domus/test.conf:1: memory: unknown setting (the "
                               "test driver has no settings)") != std::string::npos,
             r.err);
  open_fails(d, "probe10:///one",
             root + "/etc/domus/probe10.conf: the probe10 driver (plugin ABI 1.0) cannot "
                    "be given settings: they need plugin ABI 1.1");
}
