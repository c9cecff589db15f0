#define BOOST_TEST_MODULE disk_full_integration
#include <boost/test/unit_test.hpp>

#include "daemon.hpp"
#include "small_fs.hpp"

#include <domus/protocol/client.hpp>

#include <csignal>
#include <fcntl.h>
#include <sstream>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

// The journal's promise and the status files when the disk fills, on small tmpfs mounts
// the tests make (as root, as CI runs): changes are refused before the driver is called
// once the journal cannot keep its reserve; an event that still cannot be written (a
// guest that stops by itself) is not published and events.since answers resync across
// it; seq continues above every seq handed out. A status file that cannot be written:
// a start is undone, naming the file; a destroy reports the guest's new state and its
// stale file is repaired when it can be.

using namespace domus::testing;
using domus::protocol::json;
using namespace std::chrono_literals;

namespace {

std::string config(const std::string& text) {
  std::string path = temp_dir("c") + "/domusd.conf";
  write_file(path, text);
  return path;
}

const std::string probe_uri = "probe:///one";

} // namespace

BOOST_AUTO_TEST_CASE(a_full_disk_keeps_the_journals_promise) {
  // The journal's file system is full, not the log's: the log tells what happened.
  std::string root = temp_dir("full");
  ::mkdir((root + "/var").c_str(), 0700);
  ::mkdir((root + "/var/lib").c_str(), 0700);
  small_fs fs(root + "/var/lib/domus", "4m");
  auto d = std::make_unique<daemon_process>(
      std::vector<std::string>{"--plugin-dir", probe_plugin_dir(), "--config",
                               config("journal_reserve_bytes = 8192\n")},
      root);
  domus::protocol::connection c(d->socket(), false);
  domus::protocol::subscriber sub(c, {"domain."});
  sub.handshake(5s);
  // Guests that will stop by themselves once the disk is full.
  const int guests = 40;
  for (int i = 0; i < guests; ++i) {
    std::string name = "g" + std::to_string(i);
    BOOST_TEST_REQUIRE(
        c.call(probe_uri, "domain.define", {{"xml", probe_xml(name)}}, 5s).ok);
    BOOST_TEST_REQUIRE(c.call(probe_uri, "domain.start", {{"domain", name}}, 5s).ok);
  }
  uint64_t last_seen = 0;
  while (auto m = sub.next(200ms))
    last_seen = m->body["seq"].get<uint64_t>();

  std::string filler = fs.fill();
  // Changes go on within the reserve; once it cannot be renewed, they are refused before
  // the driver is called, naming the journal; queries go on.
  domus::protocol::reply refused;
  int accepted = 0;
  for (int i = 0; i < 200; ++i) {
    refused = c.call("test:///default", i % 2 ? "domain.resume" : "domain.suspend",
                     {{"domain", "test"}}, 5s);
    if (!refused.ok)
      break;
    ++accepted;
  }
  BOOST_TEST_REQUIRE(!refused.ok);
  BOOST_TEST(refused.error["code"] == "operation-failed");
  BOOST_TEST(refused.message.find(
                 "the event journal " + root +
                 "/var/lib/domus/events.journal cannot reserve 8192 bytes "
                 "of disk ahead (No space left on device)") != std::string::npos,
             refused.message);
  std::string state = accepted % 2 ? "paused" : "running";
  auto info = c.call("test:///default", "domain.lookup", {{"domain", "test"}}, 5s);
  BOOST_TEST(info.ok);
  BOOST_TEST(info.result["state"] == state); // the refused change did not happen

  // The guests stop by themselves: the driver's reports have no request to fail. Those
  // the reserve holds are published; the rest are not, and are a hole.
  // (The guests are the daemon's children; its log rate-limits their spawn lines.)
  int killed = 0;
  std::string task_dir = "/proc/" + std::to_string(d->pid()) + "/task";
  for (auto& task : files_ending(task_dir, "")) {
    if (task[0] == '.')
      continue;
    std::istringstream children(read_file(task_dir + "/" + task + "/children"));
    for (int pid; children >> pid;)
      killed += ::kill(pid, SIGKILL) == 0;
  }
  BOOST_TEST(killed == guests);
  // Every guest is seen shut off (polled, bounded), whatever the journal could keep.
  for (auto end = std::chrono::steady_clock::now() + 10s;
       std::chrono::steady_clock::now() < end;) {
    auto l =
        c.call(probe_uri, "domain.list", {{"active", true}, {"inactive", false}}, 5s);
    if (l.ok && l.result["domains"].empty())
      break;
    d->process().poll_output(20ms);
  }
  std::vector<uint64_t> published;
  while (auto m = sub.next(300ms))
    published.push_back(m->body["seq"].get<uint64_t>());
  BOOST_TEST(published.size() < static_cast<size_t>(guests) + accepted);
  domus::protocol::connection ro(root + "/run/domus/domus-sock-ro", true);
  // From the last event seen before the disk filled: the events the journal kept, then a
  // resync across the hole.
  uint64_t after = last_seen;
  domus::protocol::reply r;
  for (int pages = 0; pages < 100; ++pages) {
    r = ro.call("", "events.since", {{"after", after}}, 5s);
    if (!r.ok)
      break;
    after = r.result["next"].get<uint64_t>();
  }
  BOOST_TEST_REQUIRE(!r.ok);
  BOOST_TEST(r.error["code"] == "resync");
  BOOST_TEST(r.error.contains("lost"));
  uint64_t hole_to = r.error["lost"]["to"].get<uint64_t>();
  BOOST_TEST(r.error["oldest_seq"].get<uint64_t>() == hole_to + 1);
  BOOST_TEST(d->log().find("cannot be written (No space left on device); it is not "
                           "published") != std::string::npos);

  // Room again: changes are accepted, and the hole is written down before the next event.
  ::unlink(filler.c_str());
  auto again =
      c.call("test:///default", state == "paused" ? "domain.resume" : "domain.suspend",
             {{"domain", "test"}}, 5s);
  BOOST_TEST(again.ok, again.message);
  uint64_t max_seq = 0;
  while (auto m = sub.next(300ms))
    max_seq = std::max(max_seq, m->body["seq"].get<uint64_t>());
  BOOST_TEST(max_seq > hole_to);
  BOOST_TEST(d->stop() == 0);

  // A new daemon: seq continues above every seq handed out, and the hole is still known.
  d = std::make_unique<daemon_process>(
      std::vector<std::string>{"--plugin-dir", probe_plugin_dir()}, root);
  domus::protocol::connection c2(d->socket(), false);
  domus::protocol::subscriber sub2(c2, {"domain."});
  sub2.handshake(5s);
  BOOST_TEST(c2.call("test:///default", "domain.destroy", {{"domain", "test"}}, 5s).ok);
  auto m = sub2.next(5s);
  BOOST_TEST_REQUIRE(m.has_value());
  BOOST_TEST(m->body["seq"].get<uint64_t>() > max_seq);
  auto across = c2.call("", "events.since", {{"after", hole_to - 1}}, 5s);
  BOOST_TEST(!across.ok);
  BOOST_TEST(across.error["code"] == "resync");
}

// A start whose status file cannot be written is undone and fails naming the file; a
// suspend and a destroy whose file cannot be written (or removed) are done, answered
// with the guest's new state, and their stale file is repaired once it can be.
BOOST_AUTO_TEST_CASE(reply_and_state_agree_when_a_status_file_cannot_be_written) {
  std::string root = temp_dir("st");
  std::string dir = temp_dir("x");
  write_file(dir + "/g.xml", "<domain type='test'><name>g</name><memory>1024</memory>"
                             "<os><type>hvm</type></os></domain>");
  {
    daemon_process d({}, root); // makes the tree
  }
  small_fs status(root + "/run/domus/test", "64k");
  daemon_process d({}, root);
  BOOST_TEST(d.domsh({"define " + dir + "/g.xml"}).status == 0);
  std::string filler = status.fill();
  auto start = d.domsh({"start g"});
  BOOST_TEST(start.status == 1);
  BOOST_TEST(start.err.find("cannot save the status of domain 'g': cannot ") !=
                 std::string::npos,
             start.err);
  BOOST_TEST(start.err.find(status.dir +
                            "/.g.xml.tmp: No space left on device; the start "
                            "was undone") != std::string::npos,
             start.err);
  BOOST_TEST(d.domsh({"domstate g"}).out == "shut off\n\n");
  ::unlink(filler.c_str());

  BOOST_TEST(d.domsh({"start g"}).status == 0);
  BOOST_TEST(read_file(status.dir + "/g.xml").find("running") != std::string::npos);
  filler = status.fill();
  auto suspend = d.domsh({"suspend g"});
  BOOST_TEST(suspend.status == 0, suspend.err);
  BOOST_TEST(d.domsh({"domstate g"}).out == "paused\n\n");
  ::unlink(filler.c_str());
  // Repaired once it can be (polled, bounded).
  bool repaired = false;
  for (auto end = std::chrono::steady_clock::now() + 10s;
       !repaired && std::chrono::steady_clock::now() < end;) {
    repaired = read_file(status.dir + "/g.xml").find("paused") != std::string::npos;
    if (!repaired)
      d.process().poll_output(50ms);
  }
  BOOST_TEST(repaired);

  // A file that cannot be removed (the file system read-only): destroy is done.
  status.remount(true);
  auto destroy = d.domsh({"destroy g"});
  BOOST_TEST(destroy.status == 0, destroy.err);
  BOOST_TEST(d.domsh({"domstate g"}).out == "shut off\n\n");
  BOOST_TEST(::access((status.dir + "/g.xml").c_str(), F_OK) == 0); // stale, for now
  status.remount(false);
  bool removed = false;
  for (auto end = std::chrono::steady_clock::now() + 10s;
       !removed && std::chrono::steady_clock::now() < end;) {
    removed = ::access((status.dir + "/g.xml").c_str(), F_OK) != 0;
    if (!removed)
      d.process().poll_output(50ms);
  }
  BOOST_TEST(removed);
  BOOST_TEST(d.log().find("the status file of domain 'g' is right again") !=
             std::string::npos);
}
