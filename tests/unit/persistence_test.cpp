// The store (grouped atomic writes) and the event journal, without a daemon.
#define BOOST_TEST_MODULE persistence
#include <boost/test/unit_test.hpp>

#include "actors/instance_context.hpp"
#include "persist/domain_status.hpp"
#include "persist/event_journal.hpp"
#include "persist/instance_restore.hpp"
#include "persist/store.hpp"
#include "test_files.hpp"

#include <domus/protocol/errors.hpp>

#include <algorithm>
#include <csignal>
#include <fcntl.h>
#include <fstream>
#include <future>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

using namespace domus::runtime;
using domus::testing::read_file;

namespace {

std::string temp_dir() {
  return domus::testing::temp_dir("unit");
}

bool exists(const std::string& p) {
  return ::access(p.c_str(), F_OK) == 0;
}

event_journal::options journal_in(const std::string& dir,
                                  const std::string& boot = "boot-1") {
  event_journal::options o;
  o.dir = dir;
  o.capacity = 10;
  o.ceiling_step = 100;
  o.boot_id = boot;
  return o;
}

std::string frame(uint64_t seq, const std::string& what) {
  return "{\"seq\":" + std::to_string(seq) + ",\"what\":\"" + what + "\"}";
}

} // namespace

BOOST_AUTO_TEST_SUITE(store_files)

BOOST_AUTO_TEST_CASE(writes_are_atomic_and_ordered) {
  std::string dir = temp_dir();
  std::vector<std::future<std::string>> results;
  {
    store s;
    for (int i = 0; i < 50; ++i) {
      auto p = std::make_shared<std::promise<std::string>>();
      results.push_back(p->get_future());
      s.apply({store::change::write, dir + "/d" + std::to_string(i % 5) + ".xml",
               "v" + std::to_string(i), true},
              [p](const std::string& e) { p->set_value(e); });
    }
    auto removed = std::make_shared<std::promise<std::string>>();
    results.push_back(removed->get_future());
    s.apply({store::change::remove, dir + "/d4.xml", "", true},
            [removed](const std::string& e) { removed->set_value(e); });
    for (auto& f : results)
      BOOST_TEST(f.get() == "");
    BOOST_TEST(s.stats().operations == 51u);
  }
  // The last write of each file wins; nothing temporary is left.
  BOOST_TEST(read_file(dir + "/d0.xml") == "v45");
  BOOST_TEST(read_file(dir + "/d3.xml") == "v48");
  BOOST_TEST(!exists(dir + "/d4.xml"));
  BOOST_TEST(!exists(store::temp_path(dir + "/d0.xml")));
}

// A batch commits as one group, whatever its size, and each of its operations happens:
// 50 definitions cost one flush, not 50.
BOOST_AUTO_TEST_CASE(a_batch_commits_as_one_group) {
  std::string dir = temp_dir();
  store s;
  std::vector<store::change> changes;
  for (int i = 0; i < 50; ++i)
    changes.push_back({store::change::write, dir + "/d" + std::to_string(i) + ".xml",
                       "v" + std::to_string(i), true});
  changes.push_back({store::change::link, dir + "/l0.xml", dir + "/d0.xml", true});
  s.commit_all(std::move(changes));
  auto c = s.stats();
  BOOST_TEST(c.groups == 1u);
  BOOST_TEST(c.operations == 51u);
  BOOST_TEST(read_file(dir + "/d49.xml") == "v49");
  BOOST_TEST(read_file(dir + "/l0.xml") == "v0");
  // Two batches are two groups; an empty one is none.
  s.commit_all({{store::change::remove, dir + "/d1.xml", "", true}});
  s.commit_all({});
  BOOST_TEST(s.stats().groups == 2u);
  BOOST_TEST(!exists(dir + "/d1.xml"));
  // The first failure is what the batch reports, and the others still happen.
  std::string why;
  try {
    s.commit_all({{store::change::write, dir + "/no-such-dir/x.xml", "x", true},
                  {store::change::write, dir + "/d2.xml", "again", true}});
  } catch (const domus::protocol::error& e) {
    why = e.what();
  }
  BOOST_TEST(why.find(dir + "/no-such-dir/") != std::string::npos, why);
  BOOST_TEST(read_file(dir + "/d2.xml") == "again");
}

// A file written without a flush replaces the old one by exchange (see store.cpp):
// the new content is there, the old one is gone, nothing temporary is left, and a
// target that is not a regular file fails as a durable write does.
BOOST_AUTO_TEST_CASE(unflushed_writes_replace_by_exchange) {
  std::string dir = temp_dir();
  auto write = [&](store& s, const std::string& path, const std::string& text) {
    std::promise<std::string> p;
    s.apply({store::change::write, path, text, false},
            [&](const std::string& e) { p.set_value(e); });
    return p.get_future().get();
  };
  ::mkdir((dir + "/d.xml").c_str(), 0755);
  ::close(::open((dir + "/d.xml/x").c_str(), O_CREAT | O_WRONLY, 0600));
  store s;
  BOOST_TEST(write(s, dir + "/a.xml", "one") == "");
  BOOST_TEST(write(s, dir + "/a.xml", "two") == "");
  BOOST_TEST(write(s, dir + "/a.xml", "three") == "");
  BOOST_TEST(read_file(dir + "/a.xml") == "three");
  BOOST_TEST(!exists(store::temp_path(dir + "/a.xml")));
  std::string error = write(s, dir + "/d.xml", "new");
  BOOST_TEST(error.find("cannot rename into " + dir + "/d.xml") == 0u, error);
  BOOST_TEST(exists(dir + "/d.xml/x"));
  BOOST_TEST(!exists(store::temp_path(dir + "/d.xml")));
}

BOOST_AUTO_TEST_CASE(a_failed_write_keeps_the_old_file) {
  std::string dir = temp_dir();
  store::write_now(dir + "/a.xml", "old", true);
  ::mkdir((dir + "/b.xml").c_str(), 0755);
  ::close(::open((dir + "/b.xml/x").c_str(), O_CREAT | O_WRONLY, 0600));
  std::promise<std::string> p;
  {
    store s;
    s.apply({store::change::write, dir + "/b.xml", "new", true},
            [&](const std::string& e) { p.set_value(e); });
  }
  std::string error = p.get_future().get();
  BOOST_TEST(error.find("cannot rename into " + dir + "/b.xml") == 0u, error);
  BOOST_TEST(!exists(store::temp_path(dir + "/b.xml")));
  BOOST_CHECK_THROW(store::write_now(dir + "/missing/c.xml", "x", true),
                    domus::protocol::error);
  BOOST_TEST(read_file(dir + "/a.xml") == "old");
}

BOOST_AUTO_TEST_CASE(status_round_trip) {
  domain_status s;
  s.state = {DOMUS_STATE_PAUSED, DOMUS_REASON_USER, 7};
  s.private_data = std::string("\x00\x01\xff bytes", 9);
  // A multi-line text must come back exactly as it was.
  s.live_xml = "<domain type='test' id='7'>\n  <name>a</name>\n  <description>two\n"
               "  lines</description>\n</domain>\n";
  auto back = parse_status(format_status(s), "a.xml");
  BOOST_TEST(back.state.state == DOMUS_STATE_PAUSED);
  BOOST_TEST(back.state.reason == DOMUS_REASON_USER);
  BOOST_TEST(back.state.id == 7);
  BOOST_TEST(back.private_data == s.private_data);
  BOOST_TEST(back.live_xml == s.live_xml);
  BOOST_CHECK_THROW(parse_status("<domstatus state='bogus'/>", "x.xml"),
                    domus::protocol::error);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(journal)

BOOST_AUTO_TEST_CASE(since_pages_filters_and_resyncs) {
  std::string dir = temp_dir();
  event_journal j(journal_in(dir));
  for (int i = 1; i <= 15; ++i)
    j.append(i % 3 ? "domain.lifecycle" : "other.topic", frame(j.next_seq(), "e"));
  // Ten held: 6..15.
  BOOST_TEST(j.oldest() == 6u);
  BOOST_TEST(j.since(0, "", 100).resync_from.value_or(0) == 6u); // 1..5 gone
  BOOST_TEST(j.since(4, "", 100).resync_from.has_value());
  auto all = j.since(5, "", 100);
  BOOST_TEST_REQUIRE(!all.resync_from.has_value());
  BOOST_TEST(all.frames.size() == 10u);
  BOOST_TEST(all.last == 15u);
  BOOST_TEST(all.next == 15u);
  auto page = j.since(5, "domain.", 3);
  BOOST_TEST(page.frames.size() == 3u); // 7, 8, 10
  BOOST_TEST(*page.frames[2] == frame(10, "e"));
  BOOST_TEST(page.next == 10u);
  auto rest = j.since(page.next, "domain.", 100);
  BOOST_TEST(rest.frames.size() == 3u); // 11, 13, 14; 12 and 15 are other.topic
  BOOST_TEST(rest.next == 15u);
  BOOST_TEST(j.since(15, "", 10).frames.empty());
  // A byte budget stops a page early (always one event at least).
  auto small = j.since(5, "", 100, frame(6, "e").size() * 2 + 2);
  BOOST_TEST(small.frames.size() == 2u);
  BOOST_TEST(small.next == 7u);
  BOOST_TEST(j.since(5, "", 100, 1).frames.size() == 1u);
}

BOOST_AUTO_TEST_CASE(seq_continues_after_a_crash_and_a_torn_tail_is_dropped) {
  std::string dir = temp_dir();
  {
    event_journal j(journal_in(dir));
    for (int i = 0; i < 5; ++i)
      j.append("domain.lifecycle", frame(j.next_seq(), "a"));
  }
  // A clean stop: the next one continues at 6.
  {
    event_journal j(journal_in(dir));
    BOOST_TEST(j.next_seq() == 6u);
    BOOST_TEST(j.loaded() == 5u);
    j.append("domain.lifecycle", frame(6, "b"));
    // A crash in the middle of a record: its tail is torn.
    int fd = ::open((dir + "/events.journal").c_str(), O_WRONLY | O_APPEND);
    BOOST_TEST(::write(fd, "7\tdomain.lifecycle\t00", 21) == 21);
    ::close(fd);
  }
  event_journal j(journal_in(dir));
  BOOST_TEST(j.dropped_torn_tail());
  BOOST_TEST(j.next_seq() == 7u);
  BOOST_TEST(j.since(0, "", 100).frames.size() == 6u);
  BOOST_TEST(j.holes().empty()); // a torn record was never published
}

// Seq continues above the ceiling, always: it bounds every seq ever handed out. After a
// host crash (another boot) the journal may have lost its tail: a hole.
BOOST_AUTO_TEST_CASE(seq_continues_above_every_seq_handed_out) {
  std::string dir = temp_dir();
  {
    event_journal j(journal_in(dir));
    for (int i = 0; i < 5; ++i)
      j.append("domain.lifecycle", frame(j.next_seq(), "a"));
  }
  // The one-line ceiling of earlier versions, above the journal's last event.
  { std::ofstream(dir + "/events.ceiling") << "105 boot-1\n"; }
  {
    event_journal same_boot(journal_in(dir, "boot-1"));
    BOOST_TEST(same_boot.next_seq() == 106u);
    BOOST_TEST(same_boot.holes().empty()); // a daemon crash: the kernel kept every write
    BOOST_TEST(same_boot.since(5, "", 10).frames.empty());
  }
  { std::ofstream(dir + "/events.ceiling") << "205 boot-1\n"; }
  event_journal other_boot(journal_in(dir, "boot-2"));
  BOOST_TEST(other_boot.next_seq() == 206u);
  BOOST_TEST_REQUIRE(other_boot.holes().size() == 1u);
  BOOST_TEST(other_boot.holes()[0].from == 6u);
  BOOST_TEST(other_boot.holes()[0].to == 205u);
  auto r = other_boot.since(5, "", 10);
  BOOST_TEST(r.resync_from.value_or(0) == 206u);
}

BOOST_AUTO_TEST_CASE(the_file_is_compacted_to_what_is_held) {
  std::string dir = temp_dir();
  {
    event_journal j(journal_in(dir));
    for (int i = 0; i < 35; ++i)
      j.append("domain.lifecycle", frame(j.next_seq(), "c"));
  }
  std::string text = read_file(dir + "/events.journal");
  size_t lines = static_cast<size_t>(std::count(text.begin(), text.end(), '\n'));
  BOOST_TEST(lines <= 20u);
  event_journal j(journal_in(dir));
  BOOST_TEST(j.next_seq() == 36u);
  BOOST_TEST(j.oldest() == 26u);
}

// One byte flipped in the first record of a 309-event journal dropped the whole file and
// seq restarted at 1. Now a damaged record is a hole: every valid one after it is kept.
BOOST_AUTO_TEST_CASE(a_damaged_record_is_a_hole_not_the_end) {
  std::string dir = temp_dir();
  {
    event_journal::options o = journal_in(dir);
    o.capacity = 1000;
    event_journal j(o);
    for (int i = 0; i < 309; ++i)
      j.append("domain.lifecycle", frame(j.next_seq(), "d"));
  }
  std::string path = dir + "/events.journal";
  for (auto [flip_at, lost] : {std::pair<size_t, uint64_t>{5, 1}, {0, 0}}) {
    std::string text = read_file(path);
    size_t at = flip_at;
    if (lost == 0) {
      // The record of seq 150: flip a byte of its frame.
      at = text.find("\n150\t") + 30;
      lost = 150;
    }
    text[at] ^= 0x20;
    std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
    event_journal::options o = journal_in(dir);
    o.capacity = 1000;
    event_journal j(o);
    BOOST_TEST_CONTEXT("seq " << lost) {
      BOOST_TEST(j.next_seq() == 310u);
      BOOST_TEST(!j.holes().empty());
      // (seq 1's hole, found first, stays.)
      BOOST_TEST(j.since(1, "", 1000).frames.size() == (lost == 1 ? 308u : lost - 2));
      auto across = j.since(lost - 1, "", 1000);
      BOOST_TEST(across.resync_from.value_or(0) == lost + 1);
      BOOST_TEST(j.since(lost, "", 1000).frames.size() == 309u - lost);
    }
  }
  // The file was rewritten without the damaged records, with the holes.
  event_journal::options o = journal_in(dir);
  o.capacity = 1000;
  event_journal again(o);
  BOOST_TEST(again.holes().size() == 2u);
  BOOST_TEST(read_file(path).find("\tjournal.hole\t") != std::string::npos);
}

// A write that fails (here: the file-size limit, as a full disk would) is cut back to
// the last whole record, the event is not published, its seq is a hole known to the
// ceiling at once, written down at the next append, and changes are refused meanwhile.
BOOST_AUTO_TEST_CASE(a_failed_append_is_a_hole_and_never_a_torn_record) {
  std::string dir = temp_dir();
  std::signal(SIGXFSZ, SIG_IGN);
  event_journal::options o = journal_in(dir);
  o.reserve_bytes = 4096;
  {
    event_journal j(o);
    // (Records longer than the ceiling file, so that the file-size limit below stops
    // the journal, not the ceiling.)
    for (int i = 0; i < 3; ++i)
      BOOST_TEST(
          j.append("domain.lifecycle", frame(j.next_seq(), std::string(300, 'k'))));
    uint64_t size = read_file(dir + "/events.journal").size();
    rlimit saved{}, small{};
    ::getrlimit(RLIMIT_FSIZE, &saved);
    small.rlim_cur = size + 20; // a record does not fit
    small.rlim_max = saved.rlim_max;
    ::setrlimit(RLIMIT_FSIZE, &small);
    BOOST_TEST(!j.append("domain.lifecycle", frame(4, "lost")));
    BOOST_TEST(!j.append("domain.lifecycle", frame(5, "lost")));
    ::setrlimit(RLIMIT_FSIZE, &saved);
    BOOST_TEST(read_file(dir + "/events.journal").size() == size); // cut back
    BOOST_TEST(!j.refusal().empty());
    auto across = j.since(3, "", 10);
    BOOST_TEST(across.resync_from.value_or(0) == 6u);
    BOOST_TEST_REQUIRE(across.lost.has_value());
    BOOST_TEST(across.lost->from == 4u);
    BOOST_TEST(across.lost->to == 5u);
    // The disk has room again: the hole is written down before the next event.
    BOOST_TEST(j.accepting_changes());
    BOOST_TEST(j.append("domain.lifecycle", frame(6, "ok")));
    BOOST_TEST(j.since(5, "", 10).frames.size() == 1u);
  }
  event_journal j(o);
  BOOST_TEST(j.next_seq() == 7u);
  BOOST_TEST_REQUIRE(j.holes().size() == 1u);
  BOOST_TEST(j.holes()[0].from == 4u);
  BOOST_TEST(j.holes()[0].to == 5u);
  BOOST_TEST(j.since(0, "", 10).frames.size() == 3u);
  BOOST_TEST(j.since(3, "", 10).resync_from.value_or(0) == 6u);
}

// A daemon killed while the journal could not write: the ceiling kept the hole's start,
// so the next daemon knows the seqs from there were lost, and continues above them.
BOOST_AUTO_TEST_CASE(a_hole_the_file_never_got_is_known_from_the_ceiling) {
  std::string dir = temp_dir();
  std::signal(SIGXFSZ, SIG_IGN);
  event_journal::options o = journal_in(dir);
  o.reserve_bytes = 4096;
  pid_t child = ::fork();
  if (child == 0) {
    event_journal j(o);
    j.append("domain.lifecycle", frame(1, std::string(300, 'k')));
    rlimit small{};
    small.rlim_cur = small.rlim_max = read_file(dir + "/events.journal").size() + 10;
    ::setrlimit(RLIMIT_FSIZE, &small);
    j.append("domain.lifecycle", frame(2, "lost"));
    j.append("domain.lifecycle", frame(3, "lost"));
    ::_exit(0); // no destructor: as a SIGKILL would leave it
  }
  int status = 0;
  ::waitpid(child, &status, 0);
  event_journal j(o);
  BOOST_TEST(j.next_seq() > 3u);
  BOOST_TEST_REQUIRE(!j.holes().empty());
  BOOST_TEST(j.holes()[0].from == 2u);
  BOOST_TEST(j.since(1, "", 10).resync_from.has_value());
  BOOST_TEST(j.since(0, "", 10).frames.size() == 1u);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(restore)

// Many definitions are read on several threads: every good one comes back, in the
// order of their names, with its autostart link; a file that does not parse and one
// whose name lies are skipped.
BOOST_AUTO_TEST_CASE(definitions_load_in_parallel_and_bad_ones_are_skipped) {
  std::string dir = temp_dir();
  instance_context ctx;
  ctx.etc_dir = dir + "/etc";
  ctx.status_dir = dir + "/run";
  ::mkdir(ctx.etc_dir.c_str(), 0755);
  ::mkdir((ctx.etc_dir + "/autostart").c_str(), 0755);
  ::mkdir(ctx.status_dir.c_str(), 0755);
  std::vector<std::string> names;
  for (int i = 0; i < 400; ++i) {
    char name[16];
    std::snprintf(name, sizeof name, "g%03d", i);
    names.push_back(name);
    char uuid[40];
    std::snprintf(uuid, sizeof uuid, "6695eb01-f6a4-8304-79aa-97f2502e%04x", i);
    store::write_now(ctx.definition_path(name),
                     std::string("<domain type='test'><name>") + name + "</name><uuid>" +
                         uuid +
                         "</uuid><memory>65536</memory><os><type>hvm</type></os>"
                         "</domain>",
                     false);
  }
  store::write_now(ctx.definition_path("g100"), "<domain><name>g100", false); // torn
  store::write_now(ctx.definition_path("g200"),
                   "<domain type='test'><name>other</name><memory>65536</memory>"
                   "<os><type>hvm</type></os></domain>",
                   false); // its name lies
  BOOST_TEST_REQUIRE(::symlink(ctx.definition_path("g300").c_str(),
                               ctx.autostart_path("g300").c_str()) == 0);
  restore_plan plan = read_persisted(ctx);
  BOOST_TEST_REQUIRE(plan.domains.size() == 398u);
  size_t k = 0;
  for (auto& name : names) {
    if (name == "g100" || name == "g200")
      continue;
    const auto& d = plan.domains[k++];
    BOOST_TEST(d.name == name);
    BOOST_TEST(d.persistent);
    BOOST_TEST((d.persistent && d.persistent->compact()));
    BOOST_TEST(d.autostart == (name == "g300"));
  }
}

BOOST_AUTO_TEST_SUITE_END()
