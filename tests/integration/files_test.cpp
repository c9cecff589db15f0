#define BOOST_TEST_MODULE files_integration
#include <boost/test/unit_test.hpp>

#include "daemon.hpp"

#include <domus/protocol/client.hpp>

#include <dirent.h>
#include <functional>
#include <sys/stat.h>
#include <unistd.h>

// The daemon's files as a hostile local user or a damaged tree would meet them: modes
// and owners by rule, links planted in place of its files never followed, directories
// that are links or writable by others refused, a change acknowledged only when its file
// changed, definitions never hidden behind a lost marker, and a log no value can forge a
// line in.

using namespace domus::testing;

namespace {

const std::string guest = R"(<domain type='test'>
  <name>g</name>
  <memory unit='MiB'>64</memory>
  <os><type>hvm</type></os>
</domain>
)";

struct stat_t {
  bool ok = false;
  struct stat st {};
};

stat_t lstat_of(const std::string& path) {
  stat_t s;
  s.ok = ::lstat(path.c_str(), &s.st) == 0;
  return s;
}

// Every entry below `dir` (depth first), with its path.
void walk(const std::string& dir, const std::function<void(const std::string&)>& visit) {
  DIR* d = ::opendir(dir.c_str());
  BOOST_TEST_REQUIRE(d != nullptr, dir);
  while (dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n == "." || n == "..")
      continue;
    std::string path = dir + "/" + n;
    visit(path);
    if (lstat_of(path).ok && S_ISDIR(lstat_of(path).st.st_mode))
      walk(path, visit);
  }
  ::closedir(d);
}

// A file outside the tree that a planted link points at: it must never change.
struct victim {
  std::string path = temp_dir("v") + "/victim";
  victim() { write_file(path, "untouched\n"); }
  bool untouched() const { return read_file(path) == "untouched\n"; }
};

struct guest_file {
  std::string dir = temp_dir("x");
  std::string path = dir + "/g.xml";
  guest_file() { write_file(path, guest); }
};

} // namespace

// Files 0600, directories 0700 (run/domus searchable by whom a socket mode lets in),
// sockets as configured, links only for autostart, everything owned by the daemon's
// user: every kind the daemon writes, after it wrote each of them.
BOOST_AUTO_TEST_CASE(every_file_and_directory_has_the_mode_of_its_kind) {
  daemon_process d;
  guest_file g;
  BOOST_TEST(d.domsh({"define " + g.path}).status == 0);
  BOOST_TEST(d.domsh({"autostart g"}).status == 0);
  BOOST_TEST(d.domsh({"start g"}).status == 0);
  std::string root = d.root();
  for (auto expected : {"/etc/domus/test/g.xml", "/etc/domus/test/autostart/g.xml",
                        "/etc/domus/test/.seeded", "/run/domus/test/g.xml",
                        "/run/domus/test/autostarted", "/run/domus/domusd.pid",
                        "/var/lib/domus/events.journal", "/var/lib/domus/events.ceiling"})
    BOOST_TEST(lstat_of(root + expected).ok, expected);
  size_t seen = 0;
  for (auto top : {"/etc/domus", "/var/lib/domus", "/run/domus", "/var/log/domus"}) {
    auto t = lstat_of(root + top);
    BOOST_TEST((t.st.st_mode & 07777) ==
                   (std::string(top) == "/run/domus" ? 0711u : 0700u),
               top);
    walk(root + top, [&](const std::string& path) {
      ++seen;
      auto s = lstat_of(path);
      BOOST_TEST_CONTEXT(path) {
        BOOST_TEST(s.st.st_uid == ::geteuid());
        unsigned mode = s.st.st_mode & 07777;
        if (S_ISDIR(s.st.st_mode))
          BOOST_TEST(mode == 0700u);
        else if (S_ISREG(s.st.st_mode))
          BOOST_TEST(mode == 0600u);
        else if (S_ISSOCK(s.st.st_mode))
          BOOST_TEST(mode == (path.find("domus-sock", 0) != std::string::npos &&
                                      path.find("-ro") == std::string::npos
                                  ? 0600u
                                  : 0666u));
        else if (S_ISLNK(s.st.st_mode))
          BOOST_TEST(path.find("/autostart/") != std::string::npos);
        else
          BOOST_TEST(false, "an unexpected kind of file");
      }
    });
  }
  BOOST_TEST(seen >= 14u);
}

// The run directory is searchable only by those a socket's mode lets connect.
BOOST_AUTO_TEST_CASE(run_directory_follows_the_socket_modes) {
  std::string root = temp_dir("m");
  ::mkdir((root + "/etc").c_str(), 0755);
  ::mkdir((root + "/etc/domus").c_str(), 0700);
  write_file(root + "/etc/domus/domusd.conf",
             "unix_sock_ro_perms = \"0660\"\nunix_sock_events_perms = \"0600\"\n");
  daemon_process d({}, root);
  BOOST_TEST((lstat_of(root + "/run/domus").st.st_mode & 07777) == 0710u);
}

// Links planted where the daemon writes its temporary files: removed, never followed.
BOOST_AUTO_TEST_CASE(links_planted_as_temporary_files_are_not_followed) {
  daemon_process d;
  guest_file g;
  victim v1, v2;
  std::string root = d.root();
  BOOST_TEST_REQUIRE(
      ::symlink(v1.path.c_str(), (root + "/etc/domus/test/.g.xml.tmp").c_str()) == 0);
  BOOST_TEST(d.domsh({"define " + g.path}).status == 0);
  BOOST_TEST(v1.untouched());
  BOOST_TEST(read_file(root + "/etc/domus/test/g.xml").find("<name>g</name>") !=
             std::string::npos);
  BOOST_TEST_REQUIRE(
      ::symlink(v2.path.c_str(), (root + "/run/domus/test/.g.xml.tmp").c_str()) == 0);
  BOOST_TEST(d.domsh({"start g"}).status == 0);
  BOOST_TEST(d.domsh({"suspend g"}).status == 0);
  BOOST_TEST(v2.untouched());
  BOOST_TEST(read_file(root + "/run/domus/test/g.xml").find("paused") !=
             std::string::npos);
}

// A link in place of the journal, its ceiling or the pid file: the daemon refuses to
// start, naming it; the link's target never changes.
BOOST_AUTO_TEST_CASE(links_planted_as_journal_ceiling_or_pid_file_are_not_followed) {
  std::string root;
  {
    daemon_process d;
    root = d.root();
  }
  struct plant {
    std::string file;
    std::string refusal; // "" when the daemon starts
  };
  for (auto p : {plant{"/var/lib/domus/events.journal", "events.journal"},
                 plant{"/run/domus/domusd.pid", "pid file"},
                 plant{"/var/lib/domus/events.ceiling", "events.ceiling"}}) {
    BOOST_TEST_CONTEXT(p.file) {
      victim v;
      std::string path = root + p.file;
      std::string saved = path + ".saved";
      ::rename(path.c_str(), saved.c_str());
      BOOST_TEST_REQUIRE(::symlink(v.path.c_str(), path.c_str()) == 0);
      if (p.refusal.empty()) {
        { daemon_process d({}, root); }
        BOOST_TEST(!S_ISLNK(lstat_of(path).st.st_mode));
      } else {
        auto r = run({domusd_path(), "--root", root}, "", {}, std::chrono::seconds(20));
        BOOST_TEST(r.status != 0);
        BOOST_TEST(r.err.find(p.refusal) != std::string::npos, r.err);
        BOOST_TEST(r.err.find("symbolic link") != std::string::npos, r.err);
        ::unlink(path.c_str());
      }
      BOOST_TEST(v.untouched());
      ::rename(saved.c_str(), path.c_str());
    }
  }
}

// A directory of the tree that is a link, or that others may write, is refused, named.
BOOST_AUTO_TEST_CASE(directories_that_are_links_or_open_to_others_are_refused) {
  std::string root;
  {
    daemon_process d;
    root = d.root();
  }
  std::string lib = root + "/var/lib/domus";
  ::chmod(lib.c_str(), 0777);
  auto open = run({domusd_path(), "--root", root}, "", {}, std::chrono::seconds(20));
  BOOST_TEST(open.status != 0);
  BOOST_TEST(open.err.find(lib + " is writable by other users (mode 0777)") !=
                 std::string::npos,
             open.err);
  ::chmod(lib.c_str(), 0700);

  std::string elsewhere = temp_dir("e");
  std::string run_test = root + "/run/domus/test";
  BOOST_TEST_REQUIRE(::rename(run_test.c_str(), (elsewhere + "/moved").c_str()) == 0);
  BOOST_TEST_REQUIRE(::symlink((elsewhere + "/moved").c_str(), run_test.c_str()) == 0);
  daemon_process d({}, root);
  auto r = d.domsh({"list --all"});
  BOOST_TEST(r.status == 1);
  BOOST_TEST(r.err.find(run_test + " is a symbolic link") != std::string::npos, r.err);
}

// An undefine whose definition file cannot be removed fails naming it, and the domain
// stays, in the daemon and after a restart.
BOOST_AUTO_TEST_CASE(undefine_is_acknowledged_only_when_the_file_is_gone) {
  std::string root;
  guest_file g;
  {
    daemon_process d;
    root = d.root();
    BOOST_TEST(d.domsh({"define " + g.path}).status == 0);
    BOOST_TEST(d.domsh({"autostart g"}).status == 0);
    std::string file = root + "/etc/domus/test/g.xml";
    // A directory where the file was: unlink(2) fails with EISDIR, also for root.
    std::string text = read_file(file);
    BOOST_TEST_REQUIRE(::unlink(file.c_str()) == 0);
    BOOST_TEST_REQUIRE(::mkdir(file.c_str(), 0700) == 0);
    write_file(file + "/keep", "x");
    auto r = d.domsh({"undefine g"});
    BOOST_TEST(r.status == 1);
    BOOST_TEST(r.err.find("cannot remove the definition of domain 'g': cannot remove " +
                          file + ": Is a directory") != std::string::npos,
               r.err);
    BOOST_TEST(d.domsh({"list --all --name"}).out == "test\ng\n\n");
    BOOST_TEST(d.domsh({"dominfo g"}).out.find("Autostart:      enable") !=
               std::string::npos);
    ::unlink((file + "/keep").c_str());
    ::rmdir(file.c_str());
    write_file(file, text);
  }
  daemon_process again({}, root);
  BOOST_TEST(again.domsh({"list --all --name"}).out == "test\ng\n\n");
  BOOST_TEST(again.domsh({"undefine g"}).status == 0);
  BOOST_TEST(!lstat_of(root + "/etc/domus/test/g.xml").ok);
  BOOST_TEST(!lstat_of(root + "/etc/domus/test/autostart/g.xml").ok);
}

// With the seeded marker lost, the definitions on disk are loaded (and the log says so),
// never hidden behind a fresh default seed.
BOOST_AUTO_TEST_CASE(a_lost_seeded_marker_never_hides_definitions) {
  std::string root;
  guest_file g;
  {
    daemon_process d;
    root = d.root();
    BOOST_TEST(d.domsh({"define " + g.path}).status == 0);
    BOOST_TEST(d.domsh({"destroy test"}).status == 0);
  }
  BOOST_TEST_REQUIRE(::unlink((root + "/etc/domus/test/.seeded").c_str()) == 0);
  daemon_process d({}, root);
  BOOST_TEST(d.domsh({"list --all"}).out ==
             " Id   Name   State\n-----------------------\n -    g      shut off\n"
             " -    test   shut off\n\n");
  BOOST_TEST(d.log().find("/.seeded is missing, but 2 definition or status file(s) are "
                          "there: loading them") != std::string::npos,
             d.log());
  BOOST_TEST(lstat_of(root + "/etc/domus/test/.seeded").ok);
}

// A URI with a newline is logged on one line: no client can forge a log line.
BOOST_AUTO_TEST_CASE(log_lines_cannot_be_forged) {
  daemon_process d;
  domus::protocol::connection c(d.socket(), false);
  // A node file that does not exist: its open fails, and the log names the URI.
  std::string forged = "\n2026-01-01T00:00:00.000Z domusd[1] error: FORGED";
  auto r = c.call("test:///nonexistent/x" + forged + ".xml", "connect.open",
                  domus::protocol::json::object(), std::chrono::seconds(5));
  BOOST_TEST(!r.ok);
  std::string log = d.log();
  BOOST_TEST(log.find("cannot open test:///nonexistent/x\\n2026-01-01T00:00:00.000Z "
                      "domusd[1] error: FORGED.xml") != std::string::npos,
             log);
  BOOST_TEST(log.find("\n2026-01-01T00:00:00.000Z domusd[1] error: FORGED") ==
             std::string::npos);
}
