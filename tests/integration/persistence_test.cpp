#define BOOST_TEST_MODULE persistence_integration
#include <boost/test/unit_test.hpp>

#include "daemon.hpp"

#include <csignal>
#include <dirent.h>
#include <fstream>
#include <regex>
#include <sys/stat.h>
#include <unistd.h>

// What survives the daemon: definitions, autostart links and status files on disk, the
// guests reconnected by the next daemon, and what happens to files that do not load.

using namespace domus::testing;

namespace {

bool exists(const std::string& p) {
  return ::access(p.c_str(), F_OK) == 0;
}

// Every file under `dir`, recursively, relative to it, sorted.
void files_under(const std::string& dir, const std::string& prefix,
                 std::vector<std::string>& out) {
  DIR* d = opendir(dir.c_str());
  if (!d)
    return;
  while (dirent* e = readdir(d)) {
    std::string n = e->d_name;
    if (n == "." || n == "..")
      continue;
    if (e->d_type == DT_DIR)
      files_under(dir + "/" + n, prefix + n + "/", out);
    else
      out.push_back(prefix + n);
  }
  closedir(d);
  std::sort(out.begin(), out.end());
}

std::vector<std::string> files_under(const std::string& dir) {
  std::vector<std::string> out;
  files_under(dir, "", out);
  return out;
}

std::string guest(const std::string& name) {
  return "<domain type='test'><name>" + name +
         "</name><memory>65536</memory><os><type>hvm</type></os></domain>\n";
}

struct fixture {
  std::string root = temp_dir("p");
  std::string dir = temp_dir("x");
  std::string etc = root + "/etc/domus/test";
  std::string rundir = root + "/run/domus/test";
  fixture() {
    for (auto n : {"web1", "web2", "tr1", ".dotted"})
      write_file(dir + "/" + n + ".xml", guest(n));
  }
  std::string file(const std::string& n) { return dir + "/" + n + ".xml"; }
};

} // namespace

BOOST_FIXTURE_TEST_SUITE(persistence, fixture)

BOOST_AUTO_TEST_CASE(definitions_status_and_guests_survive_sigkill) {
  std::string before;
  {
    daemon_process d({}, root);
    auto r = d.domsh({"define " + file("web1") + "; define " + file("web2") +
                      "; start web1; autostart web2; create " + file("tr1") +
                      "; suspend tr1"});
    BOOST_TEST_REQUIRE(r.status == 0, r.err);
    before = d.domsh({"list --all; domstate tr1 --reason; dominfo web2"}).out;
    d.kill9();
  }
  // What was acknowledged is on disk: definitions durably, status of active domains, the
  // autostart link; nothing temporary.
  BOOST_TEST(
      (files_under(etc) == std::vector<std::string>{".seeded", "autostart/web2.xml",
                                                    "storage/default-pool.xml",
                                                    "test.xml", "web1.xml", "web2.xml"}));
  BOOST_TEST((files_under(rundir) ==
              std::vector<std::string>{"autostarted", "storage/default-pool.xml",
                                       "test.xml", "tr1.xml", "web1.xml"}));
  char target[4096] = {};
  BOOST_TEST(
      ::readlink((etc + "/autostart/web2.xml").c_str(), target, sizeof target - 1) > 0);
  BOOST_TEST(std::string(target) == etc + "/web2.xml");

  daemon_process again({}, root);
  BOOST_TEST(again.domsh({"list --all; domstate tr1 --reason; dominfo web2"}).out ==
             before);
  // Ids are never reused: the next start gets a new one.
  auto started = again.domsh({"start web2; domid web2"});
  BOOST_TEST(started.out == "Domain 'web2' started\n\n4\n\n", started.err);
  // A clean stop leaves the guests running too, and the next daemon finds them.
  BOOST_TEST(again.stop() == 0);
  daemon_process third({}, root);
  BOOST_TEST(third.domsh({"list --name"}).out == "test\nweb1\ntr1\nweb2\n\n");
}

std::string pool(const std::string& name, const std::string& uuid,
                 const std::string& path) {
  return "<pool type='dir'><name>" + name + "</name><uuid>" + uuid +
         "</uuid><target><path>" + path + "</path></target></pool>\n";
}

// Storage pools as guests: definitions (a redefinition of an active pool waiting for
// its next start), autostart links and active pools (transient ones too) on disk,
// defined and started again by the next daemon.
BOOST_AUTO_TEST_CASE(storage_pools_survive_sigkill) {
  std::string u1 = "5a3c1f9e-3bd1-4b84-a9b4-0d1c77a44c01";
  write_file(dir + "/p1.xml", pool("p1", u1, dir + "/p1"));
  write_file(dir + "/p1b.xml", pool("p1", u1, dir + "/p1b"));
  write_file(dir + "/pt.xml",
             pool("pt", "5a3c1f9e-3bd1-4b84-a9b4-0d1c77a44c02", dir + "/pt"));
  std::string shown = "pool-list --all --details; pool-dumpxml p1; pool-dumpxml p1 "
                      "--inactive; pool-info pt";
  std::string before;
  {
    daemon_process d({}, root);
    auto r =
        d.domsh({"pool-define " + dir +
                 "/p1.xml; pool-start p1; pool-autostart p1;"
                 " pool-define-as pa dir --target " +
                 dir + "/pa; pool-create " + dir +
                 "/pt.xml; pool-destroy default-pool; pool-define " + dir + "/p1b.xml"});
    BOOST_TEST_REQUIRE(r.status == 0, r.err);
    before = d.domsh({shown}).out;
    d.kill9();
  }
  BOOST_TEST(before.find(dir + "/p1b") != std::string::npos, before);
  BOOST_TEST((files_under(etc + "/storage") ==
              std::vector<std::string>{"autostart/p1.xml", "default-pool.xml", "p1.xml",
                                       "pa.xml"}));
  BOOST_TEST(
      (files_under(rundir + "/storage") == std::vector<std::string>{"p1.xml", "pt.xml"}));
  daemon_process again({}, root);
  BOOST_TEST(again.domsh({shown}).out == before);
  // Undefine and autostart off remove their files; a transient pool stopped leaves none.
  auto r =
      again.domsh({"pool-undefine pa; pool-autostart p1 --disable; pool-destroy pt"});
  BOOST_TEST(r.status == 0, r.err);
  BOOST_TEST((files_under(etc + "/storage") ==
              std::vector<std::string>{"default-pool.xml", "p1.xml"}));
  BOOST_TEST((files_under(rundir + "/storage") == std::vector<std::string>{"p1.xml"}));
}

// A domain name may start with a dot; its files are not mistaken for temporary ones.
BOOST_AUTO_TEST_CASE(a_dotted_name_survives_a_restart) {
  {
    daemon_process d({}, root);
    BOOST_TEST(d.domsh({"define " + file(".dotted") + "; start .dotted"}).status == 0);
    d.kill9();
  }
  daemon_process d({}, root);
  BOOST_TEST(d.domsh({"domstate .dotted"}).out == "running\n\n");
}

BOOST_AUTO_TEST_CASE(undefine_and_autostart_off_remove_their_files) {
  daemon_process d({}, root);
  BOOST_TEST(
      d.domsh({"define " + file("web1") + "; autostart web1; start web1"}).status == 0);
  BOOST_TEST(exists(etc + "/autostart/web1.xml"));
  BOOST_TEST(d.domsh({"autostart --disable web1"}).status == 0);
  BOOST_TEST(!exists(etc + "/autostart/web1.xml"));
  // An active domain undefined stays running, transient: its definition goes, its status
  // stays.
  BOOST_TEST(d.domsh({"undefine web1"}).status == 0);
  BOOST_TEST(!exists(etc + "/web1.xml"));
  BOOST_TEST(exists(rundir + "/web1.xml"));
  // Stopped, a transient domain is gone with its status.
  BOOST_TEST(d.domsh({"destroy web1"}).status == 0);
  BOOST_TEST(!exists(rundir + "/web1.xml"));
  BOOST_TEST(d.domsh({"list --all --name"}).out == "test\n\n");
}

BOOST_AUTO_TEST_CASE(guest_that_cannot_be_reconnected_is_shut_off_with_an_event) {
  {
    daemon_process d({}, root);
    BOOST_TEST(d.domsh({"define " + file("web1") + "; start web1"}).status == 0);
    d.kill9();
  }
  // Status data the driver does not recognize: it refuses to reconnect.
  std::string status = read_file(rundir + "/web1.xml");
  write_file(
      rundir + "/web1.xml",
      std::regex_replace(status, std::regex("<privdata>[0-9a-f]*"), "<privdata>00"));
  daemon_process d({}, root);
  // The instance opened at start, before anyone listened: the journal has the event.
  child ev({domsh_path(), "-c", d.uri(), "event", "--all", "--loop", "--since", "0"});
  BOOST_TEST(d.domsh({"domstate web1 --reason"}).out == "shut off (daemon)\n\n");
  ev.wait_for(1, "event 'lifecycle' for domain 'web1': Stopped Failed\n",
              std::chrono::seconds(10));
  ev.signal(SIGINT);
  ev.wait();
  BOOST_TEST(!exists(rundir + "/web1.xml"));
  BOOST_TEST(d.log().find("domain 'web1' was active but could not be reconnected") !=
             std::string::npos);
  BOOST_TEST(d.domsh({"start web1; domstate web1"}).out ==
             "Domain 'web1' started\n\nrunning\n\n");
}

BOOST_AUTO_TEST_CASE(a_definition_that_does_not_load_is_skipped_and_named) {
  {
    daemon_process d({}, root);
    BOOST_TEST(d.domsh({"define " + file("web1")}).status == 0);
  }
  write_file(etc + "/broken.xml", "<domain type='test'><name>broken</name>\n");
  write_file(etc + "/.web1.xml.tmp", "<domain type='test'><na");
  daemon_process d({}, root);
  BOOST_TEST(d.domsh({"list --all --name"}).out == "test\nweb1\n\n");
  std::string log = d.log();
  BOOST_TEST(log.find("skipping a definition that does not load: " + etc +
                      "/broken.xml:2: ") != std::string::npos,
             log);
  BOOST_TEST(log.find("removing " + etc + "/.web1.xml.tmp") != std::string::npos, log);
  BOOST_TEST(!exists(etc + "/.web1.xml.tmp"));
}

// A stored definition that a rule of define refuses (one added by an upgrade, here a TCP
// serial port without its host) still loads, with a warning naming the file, line and
// rule; a define of the same XML is refused naming them, and changes nothing.
BOOST_AUTO_TEST_CASE(a_stored_definition_a_new_rule_refuses_still_loads) {
  std::string xml = "<domain type='test'>\n<name>old1</name>\n<memory>65536</memory>\n"
                    "<os><type>hvm</type></os>\n<devices>\n<serial type='tcp'>\n"
                    "<source mode='connect' service='5555'/>\n</serial>\n</devices>\n"
                    "</domain>\n";
  { daemon_process first({}, root); } // makes the state directories
  write_file(etc + "/old1.xml", xml);
  write_file(dir + "/old1.xml", xml);
  daemon_process d({}, root);
  BOOST_TEST(d.domsh({"list --all --name"}).out == "test\nold1\n\n");
  std::string log = d.log();
  BOOST_TEST(
      log.find(
          "a stored definition breaks a rule of define (loaded all the same): " + etc +
          "/old1.xml:7: /domain/devices/serial/source: a character "
          "device of type 'tcp' needs its source's 'host' attribute") !=
          std::string::npos,
      log);
  auto refused = d.domsh({"define " + dir + "/old1.xml"});
  BOOST_TEST(refused.status != 0);
  BOOST_TEST(refused.err.find(dir + "/old1.xml:7: /domain/devices/serial/source: a "
                                    "character device of type 'tcp' needs its source's "
                                    "'host' attribute") != std::string::npos,
             refused.err);
  BOOST_TEST(d.domsh({"dumpxml old1 --xpath //source"}).out ==
             "<source mode=\"connect\" service=\"5555\"/>\n\n");
}

// A definition that cannot be written is not defined: the client hears why.
BOOST_AUTO_TEST_CASE(a_failed_write_defines_nothing) {
  daemon_process d({}, root);
  BOOST_TEST(d.domsh({"list"}).status == 0); // opens the instance
  ::mkdir((etc + "/web1.xml").c_str(), 0755);
  write_file(etc + "/web1.xml/occupied", "");
  auto r = d.domsh({"define " + file("web1")});
  BOOST_TEST(r.status == 1);
  BOOST_TEST(
      r.err.find("error: cannot save the definition of domain 'web1': cannot rename "
                 "into " +
                 etc + "/web1.xml: ") == 0,
      r.err);
  BOOST_TEST(d.domsh({"list --all --name"}).out == "test\n\n");
  BOOST_TEST(!exists(etc + "/.web1.xml.tmp"));
}

BOOST_AUTO_TEST_CASE(autostart_starts_once_per_host_boot) {
  {
    daemon_process d({}, root);
    BOOST_TEST(d.domsh({"define " + file("web1") + "; autostart web1"}).status == 0);
  }
  // The same boot: the marker says autostart already ran.
  {
    daemon_process d({}, root);
    BOOST_TEST(d.domsh({"domstate web1"}).out == "shut off\n\n");
  }
  // Another boot (the marker holds an older boot id): autostart domains start.
  write_file(rundir + "/autostarted", "00000000-0000-0000-0000-000000000000\n");
  daemon_process d({}, root);
  BOOST_TEST(d.domsh({"list --name"}).status == 0);
  std::string state;
  for (int i = 0; i < 200 && state != "running\n\n"; ++i)
    state = d.domsh({"domstate web1"}).out;
  BOOST_TEST(state == "running\n\n");
}

BOOST_AUTO_TEST_CASE(node_file_instances_are_never_persisted) {
  std::string node = std::string(DOMUS_CONFORMANCE_DIR) + "/test-driver/testnode.xml";
  {
    daemon_process d({}, root);
    BOOST_TEST(d.domsh({"define " + file("web1")}, "").status == 0); // test:///default
    auto r = run({domsh_path(), "-c", d.uri(node), "define " + file("web2")});
    BOOST_TEST(r.status == 0, r.err);
  }
  std::vector<std::string> dirs;
  files_under(root + "/etc/domus", "", dirs);
  for (auto& f : dirs)
    BOOST_TEST(f.rfind("test/", 0) == 0, f);
  daemon_process d({}, root);
  auto r = run({domsh_path(), "-c", d.uri(node), "list --all --name"});
  BOOST_TEST(r.out == "fv0\nfc4\nfc5\n\n");
}

BOOST_AUTO_TEST_SUITE_END()
