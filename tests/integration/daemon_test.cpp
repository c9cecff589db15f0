#define BOOST_TEST_MODULE daemon_integration
#include <boost/test/unit_test.hpp>

#include "daemon.hpp"

#include <csignal>
#include <sys/stat.h>
#include <unistd.h>

// The daemon's life: start-up checks, one daemon per tree, stale sockets, clean stop,
// bad configuration, plugin refusals.

using namespace domus::testing;

namespace {

bool exists(const std::string& p) {
  return ::access(p.c_str(), F_OK) == 0;
}

unsigned mode_of(const std::string& p) {
  struct stat st {};
  ::stat(p.c_str(), &st);
  return st.st_mode & 0777;
}

} // namespace

BOOST_AUTO_TEST_CASE(tree_sockets_and_clean_stop) {
  daemon_process d;
  std::string run = d.root() + "/run/domus";
  BOOST_TEST(exists(d.root() + "/etc/domus"));
  BOOST_TEST(exists(d.root() + "/var/lib/domus"));
  BOOST_TEST(mode_of(run + "/domus-sock") == 0600u);
  BOOST_TEST(mode_of(run + "/domus-sock-ro") == 0666u);
  BOOST_TEST(mode_of(run + "/domus-events") == 0666u);
  BOOST_TEST(read_file(run + "/domusd.pid") == std::to_string(d.pid()) + "\n");
  BOOST_TEST(d.domsh({"list"}).status == 0);
  BOOST_TEST(d.stop() == 0);
  for (auto f : {"domus-sock", "domus-sock-ro", "domus-events", "domusd.pid"})
    BOOST_TEST(!exists(run + "/" + f), f);
  BOOST_TEST(d.log().find("stopping (SIGTERM)") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(sigint_stops_too) {
  daemon_process d;
  d.process().signal(SIGINT);
  BOOST_TEST(d.process().wait() == 0);
  BOOST_TEST(d.log().find("stopping (SIGINT)") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(second_daemon_on_the_same_tree_is_refused) {
  daemon_process first;
  auto r = run({domusd_path(), "--root", first.root()});
  BOOST_TEST(r.status == 1);
  BOOST_TEST(r.err.find("another domusd (pid " + std::to_string(first.pid()) +
                        ") is already running") != std::string::npos,
             r.err);
  // The first one still serves.
  BOOST_TEST(first.domsh({"domstate test"}).out == "running\n\n");
}

BOOST_AUTO_TEST_CASE(stale_socket_after_a_crash) {
  daemon_process first;
  std::string root = first.root();
  std::string sock = first.socket();
  first.kill9();
  BOOST_TEST(exists(sock)); // left behind by SIGKILL
  auto start = std::chrono::steady_clock::now();
  auto r = run({domsh_path(), "-c", "test:///default?socket=" + sock, "list"});
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                std::chrono::steady_clock::now() - start)
                .count();
  BOOST_TEST(r.status == 1);
  BOOST_TEST(r.err.find("no daemon is listening on " + sock) != std::string::npos, r.err);
  BOOST_TEST(r.err.find("stale socket file") != std::string::npos, r.err);
  BOOST_TEST(r.err.find("start it with: domusd --root " + root) != std::string::npos,
             r.err);
  BOOST_TEST_MESSAGE("stale socket reported in " << ms << " ms");
  // A new daemon takes the tree over.
  daemon_process second({}, root);
  BOOST_TEST(second.domsh({"domstate test"}).out == "running\n\n");
}

BOOST_AUTO_TEST_CASE(no_daemon_at_all) {
  std::string dir = temp_dir("n");
  auto r = run({domsh_path(), "-c",
                "test:///default?socket=" + dir + "/run/domus/domus-sock", "list"});
  BOOST_TEST(r.status == 1);
  BOOST_TEST(r.out.empty());
  BOOST_TEST(r.err ==
             "error: failed to connect to the daemon\nerror: no daemon is listening on " +
                 dir +
                 "/run/domus/domus-sock: the socket file does not exist; start it "
                 "with: domusd --root " +
                 dir + "\n");
}

// A daemon that accepts connections but never answers: domsh gives up after
// --connect-timeout and says so.
BOOST_AUTO_TEST_CASE(daemon_that_does_not_answer) {
  daemon_process d;
  d.process().signal(SIGSTOP);
  auto start = std::chrono::steady_clock::now();
  auto r = run({domsh_path(), "--connect-timeout", "1", "-c", d.uri(), "list"});
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                std::chrono::steady_clock::now() - start)
                .count();
  d.process().signal(SIGCONT);
  BOOST_TEST(r.status == 1);
  BOOST_TEST(r.err.find("did not answer 'events.ping' within 1000 ms") !=
                 std::string::npos,
             r.err);
  BOOST_TEST(ms < 10000);
  BOOST_TEST(d.domsh({"domstate test"}).out == "running\n\n");
}

BOOST_AUTO_TEST_CASE(socket_path_over_the_limit) {
  std::string root = temp_dir("l") + "/" + std::string(80, 'r');
  auto r = run({domusd_path(), "--root", root});
  BOOST_TEST(r.status == 1);
  BOOST_TEST(r.err.find("the socket path " + root + "/run/domus/domus-sock") !=
                 std::string::npos,
             r.err);
  BOOST_TEST(!exists(root)); // refused before anything was created
}

BOOST_AUTO_TEST_CASE(bad_configuration) {
  std::string dir = temp_dir("c");
  write_file(dir + "/bad.conf", "log_level = \"info\"\nmax_request_bytes = \"big\"\n");
  auto r = run({domusd_path(), "--root", dir, "--config", dir + "/bad.conf"});
  BOOST_TEST(r.status == 1);
  BOOST_TEST(r.err == "domusd: error: " + dir +
                          "/bad.conf:2: max_request_bytes: expected a "
                          "whole number, got big\n");
  auto flag = run({domusd_path(), "--bogus"});
  BOOST_TEST(flag.status == 2);
  BOOST_TEST(flag.err.find("unknown option '--bogus'") != std::string::npos);
  auto help = run({domusd_path(), "--help"});
  BOOST_TEST(help.status == 0);
  BOOST_TEST(help.out.find("--root DIR") != std::string::npos);
  BOOST_TEST(run({domusd_path(), "--version"}).out == "domusd 0.1.0\n");
}

BOOST_AUTO_TEST_CASE(root_from_the_config_file) {
  std::string dir = temp_dir("k");
  std::string root = dir + "/tree";
  write_file(dir + "/domusd.conf", "root = \"" + root + "\"\n");
  child d({domusd_path(), "--config", dir + "/domusd.conf"}, {}, dir + "/log");
  d.wait_for(2, " ready; ", std::chrono::seconds(20));
  BOOST_TEST(exists(root + "/run/domus/domus-sock"));
  auto r =
      run({domsh_path(), "-c", "test:///default?socket=" + root + "/run/domus/domus-sock",
           "domstate test"});
  BOOST_TEST(r.out == "running\n\n");
  d.signal(SIGTERM);
  BOOST_TEST(d.wait() == 0);
}

BOOST_AUTO_TEST_CASE(config_file_of_the_tree_is_read) {
  std::string root = temp_dir("f");
  ::mkdir((root + "/etc").c_str(), 0755);
  ::mkdir((root + "/etc/domus").c_str(), 0755);
  write_file(root + "/etc/domus/domusd.conf", "unix_sock_ro_perms = \"0640\"\n");
  daemon_process d({}, root);
  BOOST_TEST(mode_of(root + "/run/domus/domus-sock-ro") == 0640u);
}

BOOST_AUTO_TEST_CASE(plugins_that_fail_are_refused_and_the_daemon_carries_on) {
  std::string dir = temp_dir("p");
  std::string bad = std::string(DOMUS_TEST_PLUGIN_DIR) + "/bad/";
  ::symlink((std::string(DOMUS_PLUGIN_DIR) + "/test.so").c_str(),
            (dir + "/test.so").c_str());
  ::symlink((std::string(DOMUS_TEST_PLUGIN_DIR) + "/probe.so").c_str(),
            (dir + "/probe.so").c_str());
  for (auto b :
       {"no_entry", "null_entry", "abi_two", "too_small", "zz_dup_scheme", "unresolved"})
    ::symlink((bad + b + ".so").c_str(), (dir + "/" + b + ".so").c_str());
  daemon_process d({"--plugin-dir", dir});
  std::string log = d.log();
  for (auto b : {"no_entry", "null_entry", "abi_two", "too_small", "zz_dup_scheme",
                 "unresolved"}) {
    std::string prefix = "plugin " + dir + "/" + b + ".so refused: ";
    size_t at = log.find(prefix);
    BOOST_TEST(at != std::string::npos, b);
    BOOST_TEST(log.find(prefix, at + 1) == std::string::npos, b << " logged twice");
  }
  BOOST_TEST(d.domsh({"domstate test"}).out == "running\n\n");
  // A driver whose open fails: an error for that URI only, and the next request retries.
  auto broken = run({domsh_path(), "-c", d.uri("/x", "broken"), "list"});
  BOOST_TEST(broken.status == 1);
  BOOST_TEST(broken.err.find("the broken driver cannot open anything") !=
                 std::string::npos,
             broken.err);
  auto again = run({domsh_path(), "-c", d.uri("/x", "broken"), "list"});
  BOOST_TEST(again.err == broken.err);
  BOOST_TEST(d.domsh({"domstate test"}).status == 0);
}

BOOST_AUTO_TEST_CASE(instances_are_separate) {
  daemon_process d;
  std::string node = std::string(DOMUS_CONFORMANCE_DIR) + "/test-driver/testnode.xml";
  BOOST_TEST(run({domsh_path(), "-c", d.uri(node), "destroy fv0"}).status == 0);
  BOOST_TEST(d.domsh({"list --all --name"}).out == "test\n\n");
  // The query part of a URI does not make another instance.
  BOOST_TEST(run({domsh_path(), "-c", d.uri(node) + "&x=1", "domstate fv0"}).out ==
             "shut off\n\n");
}

// Installed under any prefix, domusd finds its bundled plugins with no flag.
BOOST_AUTO_TEST_CASE(installed_daemon_finds_its_plugins) {
  std::string prefix = temp_dir("i");
  auto inst =
      run({DOMUS_CMAKE_COMMAND, "--install", DOMUS_BUILD_DIR, "--prefix", prefix});
  BOOST_TEST_REQUIRE(inst.status == 0, inst.out << inst.err);
  std::string root = temp_dir("r");
  child d({prefix + "/sbin/domusd", "--root", root}, {}, root + "/domusd.log");
  d.wait_for(2, " ready; ", std::chrono::seconds(20));
  BOOST_TEST(d.err().find("plugin " + prefix +
                          "/sbin/../lib/domus/plugins/test.so: driver "
                          "'test'") != std::string::npos,
             d.err());
  auto r =
      run({prefix + "/bin/domsh", "-c",
           "test:///default?socket=" + root + "/run/domus/domus-sock", "domstate test"});
  BOOST_TEST(r.out == "running\n\n");
  d.signal(SIGTERM);
  BOOST_TEST(d.wait() == 0);
}
