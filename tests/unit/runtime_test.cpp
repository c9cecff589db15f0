#define BOOST_TEST_MODULE runtime
#include <boost/test/unit_test.hpp>

#include "actors/domain_json.hpp"
#include "actors/job_queue.hpp"
#include "actors/lifecycle.hpp"
#include "actors/long_job.hpp"
#include "daemon/deadlines.hpp"
#include "daemon/limits.hpp"
#include "daemon/log.hpp"
#include "daemon/options.hpp"
#include "daemon/paths.hpp"
#include "daemon/pidfile.hpp"
#include "drivers/child_spawn.hpp"
#include "drivers/deadline_clock.hpp"
#include "drivers/driver_flags.hpp"
#include "drivers/host_services.hpp"
#include "drivers/open_arguments.hpp"
#include "drivers/plugin_loader.hpp"
#include "drivers/process_watch.hpp"
#include "gateway/client_table.hpp"
#include "gateway/event_loop.hpp"
#include "test_files.hpp"

#include <domus/driver_v1.h>
#include <domus/protocol/errors.hpp>

#include <algorithm>
#include <condition_variable>
#include <cstdlib>
#include <dirent.h>
#include <fcntl.h>
#include <fstream>
#include <grp.h>
#include <map>
#include <mutex>
#include <pwd.h>
#include <set>
#include <sstream>
#include <sys/stat.h>
#include <sys/wait.h>
#include <thread>
#include <tuple>
#include <unistd.h>
#include <vector>

using namespace domus::runtime;
using domus::protocol::errc;
using domus::protocol::proc;

namespace {

std::string temp_dir() {
  return domus::testing::temp_dir("unit");
}

std::string config_error(const std::string& text) {
  daemon_options o;
  try {
    load_config_text(text, "domusd.conf", o);
  } catch (const domus::protocol::error& e) {
    BOOST_TEST(static_cast<int>(e.code()) == static_cast<int>(errc::config_error));
    return e.what();
  }
  return "";
}

// What a spawned child's watch reported: its pid once SPAWNED, whether it EXITED. The
// host services call `on` on their loop thread; a test waits with `wait`.
struct child_events {
  std::mutex m;
  std::condition_variable cv;
  int64_t pid = 0;
  bool exited = false;

  static void on(void* arg, const domus_child_event_v1* ev) {
    auto* s = static_cast<child_events*>(arg);
    std::lock_guard<std::mutex> lock(s->m);
    if (ev->kind == DOMUS_CHILD_SPAWNED)
      s->pid = ev->pid;
    s->exited = s->exited || ev->kind == DOMUS_CHILD_EXITED;
    s->cv.notify_all();
  }
  // Waits (at most 10 s) until `done` holds; false if it never does.
  template <class Pred> bool wait(Pred done) {
    std::unique_lock<std::mutex> lock(m);
    return cv.wait_for(lock, std::chrono::seconds(10), done);
  }
};

} // namespace

BOOST_AUTO_TEST_SUITE(lifecycle)

BOOST_AUTO_TEST_CASE(table) {
  BOOST_TEST(!check_transition(proc::domain_start, DOMUS_STATE_SHUTOFF, "w"));
  BOOST_TEST(check_transition(proc::domain_start, DOMUS_STATE_RUNNING, "w").value() ==
             "cannot start domain 'w': it is running (start needs a shut off domain)");
  BOOST_TEST(check_transition(proc::domain_start, DOMUS_STATE_PAUSED, "w").has_value());
  BOOST_TEST(!check_transition(proc::domain_suspend, DOMUS_STATE_RUNNING, "w"));
  BOOST_TEST(check_transition(proc::domain_suspend, DOMUS_STATE_PAUSED, "w").value() ==
             "cannot suspend domain 'w': it is paused (suspend needs a running domain)");
  BOOST_TEST(!check_transition(proc::domain_resume, DOMUS_STATE_PAUSED, "w"));
  BOOST_TEST(check_transition(proc::domain_resume, DOMUS_STATE_RUNNING, "w").has_value());
  BOOST_TEST(
      check_transition(proc::domain_destroy, DOMUS_STATE_SHUTOFF, "w").value() ==
      "cannot destroy domain 'w': it is shut off (destroy needs an active domain)");
  // libvirt's test driver shuts a paused guest down.
  BOOST_TEST(!check_transition(proc::domain_shutdown, DOMUS_STATE_PAUSED, "w"));
  BOOST_TEST(!check_transition(proc::domain_reboot, DOMUS_STATE_RUNNING, "w"));
  BOOST_TEST(check_transition(proc::domain_reboot, DOMUS_STATE_SHUTOFF, "w").has_value());
  // Procedures without a rule are not lifecycle transitions.
  BOOST_TEST(!check_transition(proc::domain_undefine, DOMUS_STATE_RUNNING, "w"));
  BOOST_TEST(!find_rule(proc::domain_autostart));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(settings)

BOOST_AUTO_TEST_CASE(config_file) {
  daemon_options o;
  load_config_text("# comment\n"
                   "log_level = \"debug\"   # trailing comment\n"
                   "max_request_bytes = 4096\n"
                   "unix_sock_ro_perms = \"0644\"\n"
                   "plugin_dir = \"/opt/x#y\"\n"
                   "\n"
                   "scheduler_policy = \"stealing\"\n"
                   "worker_threads = 3\n",
                   "domusd.conf", o);
  BOOST_TEST(static_cast<int>(o.level) == static_cast<int>(log_level::debug));
  BOOST_TEST(o.max_request_bytes == 4096u);
  BOOST_TEST(o.ro_socket_mode == 0644u);
  BOOST_TEST(o.plugin_dir == "/opt/x#y");
  BOOST_TEST(o.scheduler_policy == "stealing");
  BOOST_TEST(o.worker_threads == 3u);
}

BOOST_AUTO_TEST_CASE(config_errors_name_file_line_and_key) {
  BOOST_TEST(config_error("\n\nbogus = 1\n") == "domusd.conf:3: unknown setting 'bogus'");
  BOOST_TEST(config_error("log_level = debug\n") ==
             "domusd.conf:1: log_level: expected a string in double quotes, got debug");
  BOOST_TEST(config_error("max_request_bytes = 12x\n")
                 .find("domusd.conf:1: max_request_bytes") == 0u);
  BOOST_TEST(config_error("max_request_bytes = 1\n").find("from 1024") !=
             std::string::npos);
  BOOST_TEST(config_error("unix_sock_rw_perms = \"0999\"\n").find("octal") !=
             std::string::npos);
  BOOST_TEST(config_error("just words\n") ==
             "domusd.conf:1: expected key = value, got 'just words'");
  BOOST_TEST(config_error("plugin_dir = \"open\n").find("unterminated") !=
             std::string::npos);
}

BOOST_AUTO_TEST_CASE(sample_config_parses) {
  // conf/domusd.conf documents every setting with its default; it must stay valid.
  command_line cl;
  cl.config_file = std::string(DOMUS_SOURCE_DIR) + "/conf/domusd.conf";
  daemon_options o = resolve_options(cl, "");
  daemon_options defaults;
  BOOST_TEST(o.max_request_bytes == defaults.max_request_bytes);
  BOOST_TEST(o.rw_socket_mode == defaults.rw_socket_mode);
  // Every "#key = value" it shows, read as a setting, is the default.
  std::ifstream in(*cl.config_file);
  std::string line, shown;
  while (std::getline(in, line))
    if (line.size() > 1 && line[0] == '#' &&
        std::islower(static_cast<unsigned char>(line[1])) &&
        line.find(" = ") != std::string::npos && line.rfind("#root", 0) != 0 &&
        line.rfind("#plugin_dir", 0) != 0)
      shown += line.substr(1) + "\n";
  daemon_options sample;
  load_config_text(shown, "domusd.conf", sample);
  const daemon_limits& a = sample;
  const daemon_limits& b = defaults;
  BOOST_TEST(a.max_request_bytes == b.max_request_bytes);
  BOOST_TEST(a.max_reply_bytes == b.max_reply_bytes);
  BOOST_TEST(a.max_xml_bytes == b.max_xml_bytes);
  BOOST_TEST(a.max_field_bytes == b.max_field_bytes);
  BOOST_TEST(a.max_event_bytes == b.max_event_bytes);
  BOOST_TEST(a.max_xml_depth == b.max_xml_depth);
  BOOST_TEST(a.max_xml_attributes == b.max_xml_attributes);
  BOOST_TEST(a.max_client_requests == b.max_client_requests);
  BOOST_TEST(a.max_clients == b.max_clients);
  BOOST_TEST(a.max_subscribers == b.max_subscribers);
  BOOST_TEST(a.reply_queue_limit == b.reply_queue_limit);
  BOOST_TEST(a.event_queue_limit == b.event_queue_limit);
  BOOST_TEST(sample.journal_events == defaults.journal_events);
  BOOST_TEST(sample.journal_reserve_bytes == defaults.journal_reserve_bytes);
  BOOST_TEST(sample.job_wait_ms == defaults.job_wait_ms);
  BOOST_TEST(shown.find("max_subscribers") != std::string::npos);
  // Every deadline setting is shown, with its default.
  for (size_t i = 0; i < driver_op_count; ++i) {
    auto op = static_cast<driver_op>(i);
    if (entry(op).default_ms == 0)
      continue; // no deadline, no setting
    BOOST_TEST(shown.find(deadline_setting(op) + " = ") != std::string::npos,
               deadline_setting(op));
    BOOST_TEST(sample.deadlines.of(op) == entry(op).default_ms, deadline_setting(op));
  }
}

// A limit of 0 reads as "unlimited" to ZeroMQ: refused, as are limits that do not fit
// together.
BOOST_AUTO_TEST_CASE(limits_are_never_zero_and_fit_together) {
  for (auto key : {"reply_queue_limit", "event_queue_limit", "max_client_requests",
                   "max_clients", "max_subscribers"})
    BOOST_TEST(config_error(std::string(key) + " = 0\n").find("expected a number from") !=
                   std::string::npos,
               key);
  command_line cl;
  std::string dir = temp_dir();
  cl.config_file = dir + "/c.conf";
  std::ofstream(*cl.config_file) << "max_client_requests = 40\nreply_queue_limit = 79\n";
  try {
    resolve_options(cl, "");
    BOOST_ERROR("a reply queue below twice the requests in flight was accepted");
  } catch (const domus::protocol::error& e) {
    BOOST_TEST(std::string(e.what()).find("reply_queue_limit (79) must be at least twice "
                                          "max_client_requests (40)") !=
                   std::string::npos,
               e.what());
  }
}

// Each driver operation's deadline is its own setting, from 10 ms to a day; opening has
// none.
BOOST_AUTO_TEST_CASE(deadlines_are_settings_per_operation) {
  daemon_options o;
  load_config_text("deadline_start_ms = 250\ndeadline_info_ms = 10\n", "d.conf", o);
  BOOST_TEST(o.deadlines.of(driver_op::start) == 250u);
  BOOST_TEST(o.deadlines.of(driver_op::info) == 10u);
  BOOST_TEST(o.deadlines.of(driver_op::destroy) == 120000u);
  BOOST_TEST(o.deadlines.of(driver_op::reconnect) == 60000u);
  BOOST_TEST(
      config_error("deadline_start_ms = 9\n") ==
      "domusd.conf:1: deadline_start_ms: expected a number from 10 to 86400000, got 9");
  BOOST_TEST(config_error("deadline_info_ms = 86400001\n").find("deadline_info_ms") !=
             std::string::npos);
  BOOST_TEST(config_error("deadline_release_ms = 100\n").find("unknown setting") !=
             std::string::npos);
}

// The stream settings, at and past their bounds, and the one rule that ties them: a
// connection may not have more streams than the daemon.
BOOST_AUTO_TEST_CASE(stream_settings_have_bounds) {
  for (auto [key, low, high] : {std::tuple{"stream_window", 1, 256},
                                {"max_client_streams", 1, 1024},
                                {"max_streams", 1, 65536},
                                {"stream_idle_ms", 100, 86400000}}) {
    BOOST_TEST(config_error(std::string(key) + " = " + std::to_string(low - 1) + "\n")
                       .find("expected a number from " + std::to_string(low) + " to " +
                             std::to_string(high)) != std::string::npos,
               key);
    BOOST_TEST(config_error(std::string(key) + " = " + std::to_string(high + 1) + "\n")
                       .find("expected a number from") != std::string::npos,
               key);
  }
  daemon_limits l;
  l.max_client_streams = 64;
  BOOST_TEST(l.check().empty());
  l.max_client_streams = 65;
  BOOST_TEST(l.check() == "max_client_streams (65) must not exceed max_streams (64)");
  // ZeroMQ's queue to a client holds its replies and twice its streams' windows.
  BOOST_TEST(daemon_limits{}.client_queue() == 64 + 2 * 8 * 4);
}

BOOST_AUTO_TEST_CASE(flags_override_the_file) {
  std::string dir = temp_dir();
  std::string conf = dir + "/domusd.conf";
  FILE* f = std::fopen(conf.c_str(), "w");
  std::fputs("log_level = \"error\"\nplugin_dir = \"/from/file\"\n", f);
  std::fclose(f);
  command_line cl = parse_command_line({"--config", conf, "--log-level=debug"});
  daemon_options o = resolve_options(cl, "");
  BOOST_TEST(static_cast<int>(o.level) == static_cast<int>(log_level::debug));
  BOOST_TEST(o.plugin_dir == "/from/file");
  command_line missing = parse_command_line({"--config", dir + "/nope.conf"});
  BOOST_CHECK_THROW(resolve_options(missing, ""), domus::protocol::error);
  // An absent default file is fine.
  BOOST_CHECK_NO_THROW(resolve_options(command_line{}, dir + "/absent.conf"));
}

BOOST_AUTO_TEST_CASE(command_line_errors) {
  BOOST_CHECK_THROW(parse_command_line({"--bogus"}), domus::protocol::error);
  BOOST_CHECK_THROW(parse_command_line({"--root"}), domus::protocol::error);
  BOOST_CHECK_THROW(parse_command_line({"--log-level", "loud"}), domus::protocol::error);
  BOOST_TEST(parse_command_line({"--help"}).help);
  BOOST_TEST(parse_command_line({"-V"}).version);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(layout)

BOOST_AUTO_TEST_CASE(root_tree) {
  daemon_paths p = make_paths("/srv/d/");
  BOOST_TEST(p.etc == "/srv/d/etc/domus");
  BOOST_TEST(p.lib == "/srv/d/var/lib/domus");
  BOOST_TEST(p.run == "/srv/d/run/domus");
  BOOST_TEST(p.log == "/srv/d/var/log/domus");
  BOOST_TEST(p.cache == "/srv/d/var/cache/domus");
  BOOST_TEST(p.driver_config_file("qemu") == "/srv/d/etc/domus/qemu.conf");
  BOOST_TEST(p.rw_socket() == "/srv/d/run/domus/domus-sock");
  BOOST_TEST(p.pid_file() == "/srv/d/run/domus/domusd.pid");
  BOOST_TEST(make_paths("/").etc == "/etc/domus");
}

BOOST_AUTO_TEST_CASE(long_socket_paths_are_refused_naming_the_path) {
  std::string root = "/tmp/" + std::string(100, 'x');
  try {
    check_socket_paths(make_paths(root));
    BOOST_ERROR("a socket path over the limit was accepted");
  } catch (const domus::protocol::error& e) {
    BOOST_TEST(std::string(e.what()).find(root + "/run/domus/domus-sock") !=
               std::string::npos);
    BOOST_TEST(std::string(e.what()).find("at most 107") != std::string::npos);
  }
  BOOST_CHECK_NO_THROW(check_socket_paths(make_paths("/tmp/short")));
}

BOOST_AUTO_TEST_CASE(pid_lock_is_exclusive) {
  std::string dir = temp_dir();
  {
    pid_file first(dir + "/domusd.pid");
    // A second holder in another process is refused; fcntl locks are per process, so
    // the second attempt runs in a child.
    pid_t child = ::fork();
    if (child == 0) {
      try {
        pid_file second(dir + "/domusd.pid");
        ::_exit(0);
      } catch (const domus::protocol::error& e) {
        bool names_pid =
            std::string(e.what()).find(std::to_string(::getppid())) != std::string::npos;
        ::_exit(names_pid ? 3 : 4);
      }
    }
    int status = 0;
    ::waitpid(child, &status, 0);
    BOOST_TEST(WEXITSTATUS(status) == 3);
  }
  // Released and removed with its holder.
  BOOST_TEST(::access((dir + "/domusd.pid").c_str(), F_OK) != 0);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(logging)

// What log() writes to stderr while `body` runs.
template <class Body> std::string captured_log(Body body) {
  std::string path = temp_dir() + "/stderr";
  int saved = ::dup(STDERR_FILENO);
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  ::dup2(fd, STDERR_FILENO);
  ::close(fd);
  body();
  ::dup2(saved, STDERR_FILENO);
  ::close(saved);
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

size_t lines_of(const std::string& text) {
  return static_cast<size_t>(std::count(text.begin(), text.end(), '\n'));
}

BOOST_AUTO_TEST_CASE(control_characters_are_escaped) {
  BOOST_TEST(log_escaped("a\nb\rc\td\x01"
                         "e\x7f\xc3\xa9") == "a\\nb\\rc\\td\\x01e\\x7f\xc3\xa9");
  std::string out = captured_log([] { log_error("uri test:///x\nforged: 1"); });
  BOOST_TEST(lines_of(out) == 1u);
  BOOST_TEST(out.find("error: uri test:///x\\nforged: 1\n") != std::string::npos, out);
}

// Lines of one shape (digits aside) beyond the limit are counted, and summarized in one
// line when the window ends; other shapes are not held back by them.
BOOST_AUTO_TEST_CASE(repeated_lines_are_counted_and_summarized) {
  set_log_rate_limit(std::chrono::milliseconds(200), 3, 50);
  std::string out = captured_log([] {
    for (int i = 0; i < 1000; ++i)
      log_warning("reply " + std::to_string(i) + " dropped");
    log_info("something else");
    // The window's end is the event under test: time passing, nothing else.
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
    log_tick();
  });
  BOOST_TEST(lines_of(out) == 5u, out);
  BOOST_TEST(out.find("reply 2 dropped") != std::string::npos);
  BOOST_TEST(out.find("reply 3 dropped") == std::string::npos);
  BOOST_TEST(out.find("something else") != std::string::npos);
  BOOST_TEST(out.find("warning: 997 more similar message(s) in the last 0.20 s were not "
                      "written; the last: reply 999 dropped") != std::string::npos,
             out);
  // Past the window, the shape is written again.
  out = captured_log([] { log_warning("reply 1000 dropped"); });
  BOOST_TEST(lines_of(out) == 1u, out);
  set_log_rate_limit(std::chrono::milliseconds(10000), 5, 500);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(clients)

// In flight: up to the limit per connection, each connection on its own.
BOOST_AUTO_TEST_CASE(requests_in_flight_are_counted_per_connection) {
  std::vector<std::string> lines;
  client_table t(2, [&](const std::string& l) { lines.push_back(l); });
  client_table::key a{1, "a"}, b{1, "b"}, a_rw{0, "a"};
  BOOST_TEST(t.admit(a));
  BOOST_TEST(t.admit(a));
  BOOST_TEST(!t.admit(a)); // at the limit: refused, not counted
  BOOST_TEST(t.in_flight(a) == 2u);
  BOOST_TEST(t.admit(b));
  BOOST_TEST(t.admit(a_rw)); // the same routing id on another socket is another client
  t.done(a);
  BOOST_TEST(t.admit(a));
  BOOST_TEST(lines.empty());
}

// Replies not sent: one line when a run starts, one summary when it ends, whatever the
// count; a client with nothing left is forgotten.
BOOST_AUTO_TEST_CASE(replies_not_sent_are_logged_once_per_run) {
  std::vector<std::string> lines;
  client_table t(4, [&](const std::string& l) { lines.push_back(l); });
  client_table::key k{1, std::string("\x00\x01", 2)};
  for (int i = 0; i < 100000; ++i)
    t.not_sent(k, "its queue is full");
  BOOST_TEST_REQUIRE(lines.size() == 1u);
  BOOST_TEST(lines[0] ==
             "client 0x0001: a reply was not sent: its queue is full; further "
             "ones are counted and summarized");
  auto now = client_table::clock_type::now();
  t.sweep(now); // not quiet yet
  BOOST_TEST(lines.size() == 1u);
  t.sweep(now + std::chrono::seconds(6));
  BOOST_TEST_REQUIRE(lines.size() == 2u);
  BOOST_TEST(lines[1] == "client 0x0001: 99999 more replies were not sent (its queue is "
                         "full)");
  BOOST_TEST(t.size() == 0u);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(plugins)

BOOST_AUTO_TEST_CASE(bad_plugins_are_refused_and_the_rest_load) {
  driver_table drivers;
  std::string bad = std::string(DOMUS_TEST_PLUGIN_DIR) + "/bad";
  BOOST_TEST(drivers.load_file(std::string(DOMUS_PLUGIN_DIR) + "/test.so"));
  for (auto name :
       {"no_entry", "null_entry", "abi_two", "too_small", "zz_dup_scheme", "unresolved"})
    BOOST_TEST(!drivers.load_file(bad + "/" + name + ".so"), name);
  BOOST_TEST_REQUIRE(drivers.find("test") != nullptr);
  BOOST_TEST(std::string(drivers.find("test")->driver->name) == "test");
  BOOST_TEST(!drivers.find("future"));
  BOOST_TEST(!drivers.find("tiny"));
  BOOST_TEST(drivers.load_directory(std::string(DOMUS_TEST_PLUGIN_DIR)) ==
             5u); // probe.so, probe10.so, probe11.so, probe12.so, probe13.so
  BOOST_TEST(drivers.find("probe") != nullptr);
  BOOST_TEST_REQUIRE(drivers.find("probe10") != nullptr);
  BOOST_TEST(drivers.find("probe10")->driver->abi_minor == 0u);
  BOOST_TEST_REQUIRE(drivers.find("probe11") != nullptr);
  BOOST_TEST(drivers.find("probe11")->driver->abi_minor == 1u);
  BOOST_TEST_REQUIRE(drivers.find("probe12") != nullptr);
  BOOST_TEST(drivers.find("probe12")->driver->abi_minor == 2u);
  BOOST_TEST_REQUIRE(drivers.find("probe13") != nullptr);
  BOOST_TEST(drivers.find("probe13")->driver->abi_minor == 3u);
  BOOST_TEST(drivers.find("broken") != nullptr);
  BOOST_TEST(drivers.load_directory("/nonexistent") == 0u);
}

// Pools and networks by kind (ABI 1.1): a host-wide driver's "*" serves every scheme some
// driver serves domains for, and a driver naming its own scheme comes first; a second
// "*" for a kind is refused.
BOOST_AUTO_TEST_CASE(objects_are_served_by_kind) {
  driver_table drivers;
  BOOST_TEST(drivers.load_file(std::string(DOMUS_PLUGIN_DIR) + "/test.so"));
  BOOST_TEST(drivers.load_directory(std::string(DOMUS_TEST_PLUGIN_DIR)) == 5u);
  std::string kinds = std::string(DOMUS_TEST_PLUGIN_DIR) + "/kinds";
  BOOST_TEST(drivers.load_directory(kinds) == 1u); // host_storage; zz_second_storage no
  auto name = [&](const std::string& scheme, int32_t kind) {
    auto* d = drivers.find(scheme, kind);
    return d ? std::string(d->driver->name) : std::string("-");
  };
  BOOST_TEST(name("test", DOMUS_OBJECT_POOL) == "test"); // its own (default-pool)
  BOOST_TEST(name("test", DOMUS_OBJECT_NETWORK) == "host-storage");
  BOOST_TEST(name("probe", DOMUS_OBJECT_POOL) == "probe"); // its own, over "*"
  BOOST_TEST(name("probe", DOMUS_OBJECT_NETWORK) == "host-storage");
  BOOST_TEST(name("probe10", DOMUS_OBJECT_POOL) == "host-storage"); // a 1.0 driver's
  BOOST_TEST(name("probe11", DOMUS_OBJECT_POOL) == "probe11");
  BOOST_TEST(name("probe", DOMUS_OBJECT_DOMAIN) == "probe");
  // No driver serves qemu domains here: "*" does not reach it, nor "*" itself.
  BOOST_TEST(name("qemu", DOMUS_OBJECT_POOL) == "-");
  BOOST_TEST(name("*", DOMUS_OBJECT_POOL) == "host-storage"); // (the claim, as stored)
  BOOST_TEST(name("host-storage", DOMUS_OBJECT_DOMAIN) == "-");
}

BOOST_AUTO_TEST_SUITE_END()

// domain.list writes its rows as text: the same JSON as summary_json, names escaped.
BOOST_AUTO_TEST_CASE(summary_text_is_summary_json) {
  using namespace domus::runtime;
  domain_summary a;
  a.name = "web \"1\"\\ \xc3\xa9";
  a.uuid = "6695eb01-f6a4-8304-79aa-97f2502e193f";
  domain_summary b = a;
  b.id = 4;
  b.state = DOMUS_STATE_PAUSED;
  b.reason = DOMUS_REASON_USER;
  b.persistent = false;
  b.autostart = true;
  for (const auto& s : {a, b}) {
    std::string text;
    append_summary_json(text, s);
    BOOST_TEST(text == summary_json(s).dump());
  }
}

// Posts made under a hold reach the loop together when the outermost hold ends, in the
// order they were made, after what was posted before the hold; a hold on another loop
// does not hold this one's posts.
BOOST_AUTO_TEST_CASE(held_posts_arrive_together_and_in_order) {
  using domus::runtime::event_loop;
  event_loop loop, other;
  loop.start();
  other.start();
  std::mutex m;
  std::condition_variable cv;
  std::vector<int> seen;
  auto record = [&](int v) {
    return [&, v] {
      std::lock_guard<std::mutex> lock(m);
      seen.push_back(v);
      cv.notify_all();
    };
  };
  auto wait_for = [&](size_t n) {
    std::unique_lock<std::mutex> lock(m);
    return cv.wait_for(lock, std::chrono::seconds(10), [&] { return seen.size() >= n; });
  };
  loop.post(record(1));
  BOOST_TEST_REQUIRE(wait_for(1));
  {
    event_loop::hold outer(loop);
    loop.post(record(2));
    {
      event_loop::hold inner(loop);
      loop.post(record(3));
    }
    {
      event_loop::hold elsewhere(other); // nested hold of another loop: no effect here
      other.post(record(100));
      BOOST_TEST_REQUIRE(wait_for(2)); // the other loop's post went at once
    }
    loop.post(record(4));
    // A thread that holds nothing posts now, and the loop runs posts in the order they
    // reach it: had 2, 3 or 4 been posted rather than held, they would run before 50.
    std::thread([&] { loop.post(record(50)); }).join();
    BOOST_TEST_REQUIRE(wait_for(3));
    std::lock_guard<std::mutex> lock(m);
    BOOST_TEST((seen == std::vector<int>{1, 100, 50}));
  }
  BOOST_TEST_REQUIRE(wait_for(6));
  BOOST_TEST((seen == std::vector<int>{1, 100, 50, 2, 3, 4}));
  loop.stop();
  other.stop();
}

// The deadline clock fires what is armed, in deadline order, once; a disarmed deadline
// never fires; disarming after firing says so.
BOOST_AUTO_TEST_CASE(deadline_clock_fires_in_order_unless_disarmed) {
  using clock = deadline_clock::clock;
  std::mutex m;
  std::condition_variable cv;
  std::vector<int> fired;
  auto record = [&](int v) {
    return [&, v] {
      std::lock_guard<std::mutex> lock(m);
      fired.push_back(v);
      cv.notify_all();
    };
  };
  deadline_clock dc;
  auto now = clock::now();
  auto late = dc.arm(now + std::chrono::hours(1), record(99));
  auto b = dc.arm(now + std::chrono::milliseconds(40), record(2));
  auto a = dc.arm(now + std::chrono::milliseconds(20), record(1));
  auto never = dc.arm(now + std::chrono::milliseconds(30), record(50));
  auto past = dc.arm(now - std::chrono::seconds(1), record(0)); // at once
  BOOST_TEST(dc.disarm(never));
  BOOST_TEST(!dc.disarm(never)); // once
  {
    std::unique_lock<std::mutex> lock(m);
    BOOST_TEST_REQUIRE(
        cv.wait_for(lock, std::chrono::seconds(10), [&] { return fired.size() >= 3; }));
    BOOST_TEST((fired == std::vector<int>{0, 1, 2}));
  }
  BOOST_TEST(!dc.disarm(a)); // fired already
  BOOST_TEST(!dc.disarm(b));
  BOOST_TEST(!dc.disarm(past));
  BOOST_TEST(!dc.disarm(deadline_clock::armed{})); // never armed
  BOOST_TEST(dc.size() == 1u);
  BOOST_TEST(dc.disarm(late));
  BOOST_TEST(dc.size() == 0u);
}

// A long-running job lets queries and the changes that leave its guest alone run beside
// it, refuses the others naming itself and how far it is, and shows its progress.
BOOST_AUTO_TEST_CASE(long_job_holds_its_domain_against_conflicting_changes) {
  using domus::protocol::proc;
  using domus::runtime::long_job;
  using namespace std::chrono_literals;
  for (proc p : {proc::domain_info, proc::domain_xml, proc::domain_jobinfo,
                 proc::domain_destroy, proc::domain_define, proc::domain_autostart,
                 proc::domain_open_console, proc::domain_jobabort})
    BOOST_TEST(long_job::allows(p), domus::protocol::entry(p).name);
  for (proc p : {proc::domain_start, proc::domain_shutdown, proc::domain_reboot,
                 proc::domain_suspend, proc::domain_resume, proc::domain_undefine,
                 proc::domain_attach_device, proc::domain_detach_device,
                 proc::domain_update_device, proc::domain_dump})
    BOOST_TEST(!long_job::allows(p), domus::protocol::entry(p).name);
  long_job lj;
  lj.request.proc = proc::domain_dump;
  lj.since = long_job::clock::time_point{} + 100s;
  lj.processed = 1 << 20;
  lj.total = 4 << 20;
  BOOST_TEST(lj.busy_message("web", proc::domain_suspend, lj.since + 2100ms) ==
             "domain 'web' is busy: 'domain.dump' runs beside its changes (25%, 2.1 s), "
             "and 'domain.suspend' cannot run beside it; only destroy, define, autostart "
             "and open-console do (domain.jobabort aborts it)");
  auto info = lj.info(2, lj.since + 1500ms);
  BOOST_TEST(info.dump() == R"({"elapsed_ms":1500,"long":true,"proc":"domain.dump",)"
                            R"("processed":1048576,"total":4194304,"waiting":2})");
  lj.aborted_by = "domain.jobabort";
  BOOST_TEST(lj.info(0, lj.since)["aborted_by"] == "domain.jobabort");
}

// One domain's changes, one at a time: a job waits while one runs or others wait before
// it, starts in order, and one that gives up is told what runs and for how long.
BOOST_AUTO_TEST_CASE(job_queue_runs_changes_one_at_a_time) {
  using domus::runtime::job;
  using domus::runtime::job_queue;
  using namespace std::chrono_literals;
  auto make = [](domus::protocol::proc p, int64_t id) {
    job j;
    j.request.proc = p;
    j.request.id = id;
    return j;
  };
  job_queue q;
  auto t0 = job_queue::clock::time_point{} + 100s;
  auto first = q.push(make(domus::protocol::proc::domain_start, 1), t0);
  BOOST_TEST(!first.waits); // nothing runs, nothing waits
  BOOST_TEST(q.startable());
  job running = q.start(t0);
  BOOST_TEST(running.request.id == 1);
  BOOST_TEST(q.busy());
  BOOST_TEST(!q.startable());
  auto second = q.push(make(domus::protocol::proc::domain_suspend, 2), t0 + 1s);
  auto third = q.push(make(domus::protocol::proc::domain_resume, 3), t0 + 2s);
  BOOST_TEST(second.waits);
  BOOST_TEST(third.waits);
  BOOST_TEST(second.token != third.token);
  std::string why;
  auto gave_up = q.give_up(third.token, "web", why, t0 + 2500ms);
  BOOST_TEST_REQUIRE(gave_up.has_value());
  BOOST_TEST(gave_up->request.id == 3);
  BOOST_TEST(why ==
             "domain 'web' is busy: 'domain.start' has been running for 2.5 s; gave "
             "up after waiting 0.5 s (job_wait_ms in domusd.conf)");
  BOOST_TEST(!q.give_up(third.token, "web", why, t0 + 3s).has_value()); // gone already
  q.done();
  BOOST_TEST(q.startable());
  BOOST_TEST(q.start(t0 + 3s).request.id == 2);
  BOOST_TEST(!q.give_up(second.token, "web", why, t0 + 4s).has_value()); // started
  // While draining, a pushed job waits for the loop that drains, even when idle.
  q.done();
  q.set_draining(true);
  BOOST_TEST(q.push(make(domus::protocol::proc::domain_destroy, 4), t0 + 5s).waits);
  q.set_draining(false);
  // Jobs behind a hold (a resync) are told what holds them; none are left after take_all.
  q.hold("the resync after a restart", t0 + 5s);
  auto fifth = q.push(make(domus::protocol::proc::domain_destroy, 5), t0 + 5s);
  q.give_up(fifth.token, "web", why, t0 + 6s);
  BOOST_TEST(why.find("busy: the resync after a restart has been running for 1.0 s") !=
                 std::string::npos,
             why);
  BOOST_TEST(q.take_all().size() == 1u);
  q.done();
  BOOST_TEST(!q.startable());
}

BOOST_AUTO_TEST_SUITE(driver_flags)

namespace {

// The code and message flags_for_driver throws for `flags` on `p`, or 0 and "".
std::pair<int, std::string> refusal(domus::protocol::proc p, uint32_t flags,
                                    const flags_target& to) {
  try {
    flags_for_driver(p, domus::protocol::json{{"flags", flags}}, to);
    return {0, ""};
  } catch (const domus::protocol::error& e) {
    return {static_cast<int>(e.code()), e.what()};
  }
}

} // namespace

// A driver is passed only what it can take: bits newer than its ABI, bits the daemon
// refuses itself, and any bit for a slot without flags are unsupported, named.
BOOST_AUTO_TEST_CASE(a_driver_is_passed_only_what_it_can_take) {

  const int unsupported = static_cast<int>(domus::protocol::errc::unsupported);
  flags_target v11{"qemu", 1, true, "start"};
  BOOST_TEST(flags_for_driver(proc::domain_start, domus::protocol::json{{"flags", 0x9}},
                              v11) == 0x9u);
  BOOST_TEST(flags_for_driver(proc::domain_start, domus::protocol::json::object(), v11) ==
             0u);

  flags_target v10{"old", 0, true, "start"};
  BOOST_TEST(flags_for_driver(proc::domain_start, domus::protocol::json::object(), v10) ==
             0u);
  auto r = refusal(proc::domain_start, 0x1, v10);
  BOOST_TEST(r.first == unsupported);
  BOOST_TEST(r.second == "the old driver (plugin ABI 1.0) cannot be passed 0x1 (paused) "
                         "of domain.start: flags need plugin ABI 1.1");

  r = refusal(proc::domain_start, 0x3, v11);
  BOOST_TEST(r.first == unsupported);
  BOOST_TEST(r.second == "domusd does not support 0x2 (autodestroy) of domain.start: "
                         "domusd does not track client connections yet");

  flags_target no_slot{"probe", 1, false, "undefine_flags"};
  BOOST_TEST(flags_for_driver(proc::domain_undefine, domus::protocol::json::object(),
                              no_slot) == 0u);
  r = refusal(proc::domain_undefine, 0x4, no_slot);
  BOOST_TEST(r.first == unsupported);
  BOOST_TEST(r.second == "the probe driver takes no flags for domain.undefine (it has "
                         "no undefine_flags): 0x4 (nvram)");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(driver_settings)

// A driver's settings file: absent is no settings; lines come with their numbers; a
// malformed line, a directory and a file past max_settings_file_bytes are refused
// naming the file (at the limit it is read).
BOOST_AUTO_TEST_CASE(read_settings_reads_or_names_what_is_wrong) {
  std::string dir = domus::testing::temp_dir("ds");
  BOOST_TEST(read_settings(dir + "/absent.conf").empty());

  domus::testing::write_file(dir + "/a.conf",
                             "# c\n\nuser = \"qemu\" # who\ngroup=kvm\n");
  auto lines = read_settings(dir + "/a.conf");
  BOOST_TEST_REQUIRE(lines.size() == 2u);
  BOOST_TEST(lines[0].key == "user");
  BOOST_TEST(lines[0].value == "qemu");
  BOOST_TEST(lines[0].quoted);
  BOOST_TEST(lines[0].line == 3);
  BOOST_TEST(lines[1].key == "group");
  BOOST_TEST(lines[1].value == "kvm");
  BOOST_TEST(lines[1].line == 4);

  auto refused = [](const std::string& path, const std::string& message) {
    try {
      read_settings(path);
      BOOST_FAIL("read " << path);
    } catch (const domus::protocol::error& e) {
      BOOST_TEST(static_cast<int>(e.code()) == static_cast<int>(errc::config_error));
      BOOST_TEST(e.what() == message);
    }
  };
  domus::testing::write_file(dir + "/b.conf", "user = qemu\nnonsense\n");
  refused(dir + "/b.conf", dir + "/b.conf:2: expected key = value, got 'nonsense'");
  refused(dir, dir + " is not a regular file");

  // 1 MiB of comment lines is read; one byte more is not.
  std::string text(max_settings_file_bytes, '#');
  for (size_t i = 63; i < text.size(); i += 64)
    text[i] = '\n';
  domus::testing::write_file(dir + "/c.conf", text);
  BOOST_TEST(read_settings(dir + "/c.conf").empty());
  domus::testing::write_file(dir + "/c.conf", text + "#");
  refused(dir + "/c.conf", dir + "/c.conf is 1048577 bytes, more than a settings file "
                                 "may be (1048576)");
}

// What open is handed points at the strings and settings kept beside it.
BOOST_AUTO_TEST_CASE(open_arguments_point_at_what_they_keep) {
  open_arguments a;
  a.uri = "probe:///one";
  a.scheme = "probe";
  a.path = "/one";
  a.state_dir = "/s";
  a.run_dir = "/r";
  a.log_dir = "/l";
  a.cache_dir = "/c";
  a.settings_file = "/e/probe.conf";
  a.settings = {{"guest_seconds", "5", false, 2}};
  a.fill(DOMUS_OPEN_FRESH, nullptr);
  BOOST_TEST(a.abi.struct_size == sizeof(domus_open_args_v1));
  BOOST_TEST(std::string(a.abi.uri) == "probe:///one");
  BOOST_TEST(std::string(a.abi.path) == "/one");
  BOOST_TEST(std::string(a.abi.run_dir) == "/r");
  BOOST_TEST(std::string(a.abi.log_dir) == "/l");
  BOOST_TEST(std::string(a.abi.cache_dir) == "/c");
  BOOST_TEST(std::string(a.abi.settings_file) == "/e/probe.conf");
  BOOST_TEST_REQUIRE(a.abi.n_settings == 1u);
  BOOST_TEST(std::string(a.abi.settings[0].key) == "guest_seconds");
  BOOST_TEST(a.abi.settings[0].line == 2u);
  BOOST_TEST(a.abi.flags == DOMUS_OPEN_FRESH);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(child_spawn)

namespace {

// A line of /proc/PID/status ("Groups:", "Uid:", "SigBlk:"), its value trimmed.
std::string status_field(pid_t pid, const std::string& field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(field, 0) == 0) {
      auto v = line.substr(field.size());
      auto b = v.find_first_not_of(" \t");
      auto e = v.find_last_not_of(" \t");
      return b == std::string::npos ? "" : v.substr(b, e - b + 1);
    }
  return "?";
}

// What a process's descriptors point to, by number.
std::map<int, std::string> open_fds(pid_t pid) {
  std::map<int, std::string> fds;
  std::string dir = "/proc/" + std::to_string(pid) + "/fd";
  if (DIR* d = ::opendir(dir.c_str())) {
    while (auto* e = ::readdir(d))
      if (e->d_name[0] != '.') {
        char target[4096];
        ssize_t n =
            ::readlink((dir + "/" + e->d_name).c_str(), target, sizeof target - 1);
        fds[std::atoi(e->d_name)] = n > 0 ? std::string(target, n) : "";
      }
    ::closedir(d);
  }
  return fds;
}

void stop(spawned_child& c) {
  ::kill(c.pid, SIGKILL);
  int status;
  ::waitpid(c.pid, &status, 0);
  ::close(c.pidfd);
}

} // namespace

// The child runs in a session of its own, keeps 0-2 and the passed descriptor only (a
// descriptor of ours without close-on-exec stays behind), and has no signal blocked
// although its parent blocks some.
BOOST_AUTO_TEST_CASE(a_child_has_its_own_session_and_only_the_descriptors_passed) {
  // Files of their own, so that the child's view names them whatever it opens itself.
  std::string dir = domus::testing::temp_dir("sp");
  domus::testing::write_file(dir + "/leaky", "");
  domus::testing::write_file(dir + "/passed", "");
  int leaky = ::open((dir + "/leaky").c_str(), O_RDONLY); // no O_CLOEXEC: stays behind
  int passed = ::open((dir + "/passed").c_str(), O_RDONLY | O_CLOEXEC);
  sigset_t block, old;
  sigemptyset(&block);
  sigaddset(&block, SIGTERM);
  ::pthread_sigmask(SIG_BLOCK, &block, &old);
  spawn_request r;
  r.file = "sleep";
  r.argv = {"sleep", "60"};
  r.pass_fds = {{passed, passed}};
  spawned_child c;
  BOOST_TEST_REQUIRE(spawn_child(r, c) == 0);
  ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
  BOOST_TEST(::getsid(c.pid) == c.pid);
  BOOST_TEST(::getpgid(c.pid) == c.pid);
  auto fds = open_fds(c.pid);
  BOOST_TEST(fds[passed] == dir + "/passed");
  for (auto& [fd, target] : fds)
    BOOST_TEST(target != dir + "/leaky", "descriptor " << fd << " leaked");
  for (int i = 0; i < 3; ++i)
    BOOST_TEST(fds[i] == "/dev/null");
  BOOST_TEST(status_field(c.pid, "SigBlk:") == "0000000000000000");
  stop(c);
  ::close(leaky);
  ::close(passed);
}

// Descriptors placed at numbers other than their own, two of them swapping numbers (the
// one placed first must not clobber the other's source), at the bound and past it.
BOOST_AUTO_TEST_CASE(passed_descriptors_land_at_their_numbers) {
  std::string dir = domus::testing::temp_dir("sp");
  domus::testing::write_file(dir + "/a", "");
  domus::testing::write_file(dir + "/b", "");
  int a = ::open((dir + "/a").c_str(), O_RDONLY | O_CLOEXEC);
  int b = ::open((dir + "/b").c_str(), O_RDONLY | O_CLOEXEC);
  spawn_request r;
  r.file = "sleep";
  r.argv = {"sleep", "60"};
  r.pass_fds = {{a, b}, {b, a}, {a, 200}};
  spawned_child c;
  BOOST_TEST_REQUIRE(spawn_child(r, c) == 0);
  auto fds = open_fds(c.pid);
  BOOST_TEST(fds[b] == dir + "/a");
  BOOST_TEST(fds[a] == dir + "/b");
  BOOST_TEST(fds[200] == dir + "/a");
  // No other copy of ours (the moved ones are closed). Counting every descriptor would
  // race the dynamic loader, which opens libraries after exec.
  for (auto& [fd, target] : fds)
    if (target.rfind(dir, 0) == 0)
      BOOST_TEST((fd == a || fd == b || fd == 200), "descriptor " << fd << " left open");
  stop(c);
  r.pass_fds.clear();
  for (int i = 0; i < static_cast<int>(max_pass_fds); ++i)
    r.pass_fds.push_back({a, 100 + i});
  BOOST_TEST_REQUIRE(spawn_child(r, c) == 0);
  size_t ours = 0;
  for (auto& [fd, target] : open_fds(c.pid))
    ours += target == dir + "/a";
  BOOST_TEST(ours == max_pass_fds);
  stop(c);
  r.pass_fds.push_back({a, 100 + static_cast<int>(max_pass_fds)});
  BOOST_TEST(spawn_child(r, c) == -EINVAL);
  ::close(a);
  ::close(b);
}

// Through the host table: the driver may close its descriptors as soon as spawn returns
// (the runtime keeps copies until the child has them); a closed one is refused at once.
BOOST_AUTO_TEST_CASE(spawn_copies_the_drivers_descriptors_before_it_returns) {
  event_loop loop;
  loop.start();
  host_services host(loop, "test:///spawn");
  const domus_host_v1* t = host.table();
  std::string dir = domus::testing::temp_dir("sp");
  domus::testing::write_file(dir + "/qmp", "");
  int qmp = ::open((dir + "/qmp").c_str(), O_RDONLY | O_CLOEXEC);
  int log = ::open((dir + "/log").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  const char* argv[] = {"sleep", "60", nullptr};
  domus_spawn_v1 spec{};
  spec.struct_size = sizeof spec;
  spec.file = "sleep";
  spec.argv = argv;
  spec.stdin_fd = -1;
  spec.stdout_fd = log;
  spec.stderr_fd = log;
  int32_t pass[] = {qmp};
  spec.pass_fds = pass;
  spec.n_pass_fds = 1;
  spec.uid = spec.gid = -1;
  child_events seen;
  auto on_child = &child_events::on;
  uint64_t child = t->spawn(t->ctx, &spec, on_child, &seen);
  BOOST_TEST_REQUIRE(child != 0u);
  ::close(qmp);
  ::close(log);
  BOOST_TEST_REQUIRE(seen.wait([&] { return seen.pid > 0; }));
  auto fds = open_fds(static_cast<pid_t>(seen.pid));
  BOOST_TEST(fds[qmp] == dir + "/qmp");
  BOOST_TEST(fds[1] == dir + "/log");
  BOOST_TEST(fds[2] == dir + "/log");
  BOOST_TEST(t->kill(t->ctx, child, SIGKILL) == 0);
  BOOST_TEST(seen.wait([&] { return seen.exited; })); // reaped, for the next test's count
  // Closed now: refused when spawn is called, nothing runs.
  BOOST_TEST(t->spawn(t->ctx, &spec, on_child, &seen) == 0u);
  std::vector<int32_t> many(max_pass_fds + 1, 0);
  spec.stdout_fd = spec.stderr_fd = -1;
  spec.pass_fds = many.data();
  spec.n_pass_fds = many.size();
  BOOST_TEST(t->spawn(t->ctx, &spec, on_child, &seen) == 0u);
  loop.stop();
}

// users_of (ABI 1.4) checks what the driver asks before the runtime looks: a kind it
// knows, a name, a take, no volume with a network, only defined flags; it hands over
// the lookup's names sorted, once each, and what the driver asked for.
BOOST_AUTO_TEST_CASE(users_of_checks_its_arguments_and_sorts_the_names) {
  event_loop loop;
  loop.start();
  host_services host(loop, "test:///users");
  const domus_host_v1* t = host.table();
  std::vector<std::string> got;
  auto take = [](void* arg, const char* domain) {
    static_cast<std::vector<std::string>*>(arg)->push_back(domain);
  };
  // Nothing to look in yet (an instance without domains): none, and no error.
  BOOST_TEST(t->users_of(t->ctx, DOMUS_OBJECT_POOL, "p", nullptr, 0, take, &got) == 0);
  BOOST_TEST(got.empty());
  std::string asked;
  host.set_users_lookup([&](int32_t kind, const std::string& name,
                            const std::string* volume, bool running) {
    asked = std::to_string(kind) + " " + name + " " + (volume ? *volume : "-") + " " +
            (running ? "running" : "all");
    return std::vector<std::string>{"web", "db", "web"};
  });
  for (auto [kind, name, volume, flags] :
       {std::tuple{int32_t{DOMUS_OBJECT_DOMAIN}, "x", (const char*)nullptr, 0u},
        std::tuple{int32_t{99}, "x", (const char*)nullptr, 0u},
        std::tuple{int32_t{DOMUS_OBJECT_NETWORK}, "n", "v", 0u},
        std::tuple{int32_t{DOMUS_OBJECT_POOL}, (const char*)nullptr, (const char*)nullptr,
                   0u},
        std::tuple{int32_t{DOMUS_OBJECT_POOL}, "p", (const char*)nullptr, 2u}})
    BOOST_TEST(t->users_of(t->ctx, kind, name, volume, flags, take, &got) ==
               DOMUS_E_INVALID_ARGUMENT);
  BOOST_TEST(t->users_of(t->ctx, DOMUS_OBJECT_POOL, "p", nullptr, 0, nullptr, &got) ==
             DOMUS_E_INVALID_ARGUMENT);
  BOOST_TEST(got.empty());
  BOOST_TEST(asked.empty()); // refused before the lookup
  BOOST_TEST(t->users_of(t->ctx, DOMUS_OBJECT_POOL, "p", "v", DOMUS_USERS_RUNNING, take,
                         &got) == 0);
  BOOST_TEST(asked == std::to_string(DOMUS_OBJECT_POOL) + " p v running");
  BOOST_TEST((got == std::vector<std::string>{"db", "web"}));
  got.clear();
  BOOST_TEST(t->users_of(t->ctx, DOMUS_OBJECT_NETWORK, "n", nullptr, 0, take, &got) == 0);
  BOOST_TEST(asked == std::to_string(DOMUS_OBJECT_NETWORK) + " n - all");
  loop.stop();
}

// As another user: its uid, its primary group and its supplementary groups (what
// getgrouplist says of the user), not the daemon's.
BOOST_AUTO_TEST_CASE(a_child_runs_as_the_user_with_the_users_groups) {
  if (::geteuid() != 0) {
    BOOST_TEST_MESSAGE(
        "skipped: a_child_runs_as_the_user_with_the_users_groups needs root");
    return;
  }
  struct passwd* pw = ::getpwnam("nobody");
  BOOST_TEST_REQUIRE(pw != nullptr);
  spawn_request r;
  r.file = "/bin/sleep";
  r.argv = {"sleep", "60"};
  r.uid = pw->pw_uid;
  spawned_child c;
  BOOST_TEST_REQUIRE(spawn_child(r, c) == 0);
  std::string uid = std::to_string(pw->pw_uid), gid = std::to_string(pw->pw_gid);
  BOOST_TEST(status_field(c.pid, "Uid:") == uid + "\t" + uid + "\t" + uid + "\t" + uid);
  BOOST_TEST(status_field(c.pid, "Gid:") == gid + "\t" + gid + "\t" + gid + "\t" + gid);
  int n = 64;
  std::vector<gid_t> want(n);
  ::getgrouplist(pw->pw_name, pw->pw_gid, want.data(), &n);
  want.resize(n);
  std::set<std::string> want_text;
  for (gid_t g : want)
    want_text.insert(std::to_string(g));
  std::istringstream groups(status_field(c.pid, "Groups:"));
  std::set<std::string> got;
  for (std::string g; groups >> g;)
    got.insert(g);
  BOOST_TEST((got == want_text));
  stop(c);
}

// What cannot start is an error, and leaves no process behind.
BOOST_AUTO_TEST_CASE(a_program_that_cannot_start_is_an_error) {
  spawn_request r;
  r.file = "/nonexistent/program";
  r.argv = {"program"};
  spawned_child c;
  BOOST_TEST(spawn_child(r, c) == -ENOENT);
  r.file = "sleep";
  r.argv = {"sleep", "1"};
  r.cwd = "/nonexistent";
  BOOST_TEST(spawn_child(r, c) == -ENOENT);
  r.cwd.clear();
  r.pass_fds = {{2, 2}};
  BOOST_TEST(spawn_child(r, c) == -EBADF); // a target below 3
  r.pass_fds = {{1, 7}, {2, 7}};
  BOOST_TEST(spawn_child(r, c) == -EINVAL); // two at one number
  int past = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  ::close(past);
  r.pass_fds = {{past, past}};
  BOOST_TEST(spawn_child(r, c) == -EBADF); // not open
  BOOST_TEST(c.pid == -1);
  int status;
  BOOST_TEST(::waitpid(-1, &status, WNOHANG) == -1); // no child left, zombie or not
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(process_watch)

namespace {

// Polls (bounded) until /proc says `pid` is a zombie; false if it never is.
bool becomes_zombie(pid_t pid) {
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < until) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string text((std::istreambuf_iterator<char>(in)), {});
    auto paren = text.rfind(')');
    if (paren != std::string::npos && text.compare(paren + 2, 1, "Z") == 0)
      return true;
    std::this_thread::yield();
  }
  return false;
}

// A child that waits for signals; the caller reaps it.
pid_t pausing_child() {
  pid_t pid = ::fork();
  if (pid == 0) {
    for (;;)
      ::pause();
  }
  return pid;
}

} // namespace

// Alive means there, not a zombie, and started when it should have.
BOOST_AUTO_TEST_CASE(a_zombie_or_another_process_on_the_pid_is_not_alive) {
  BOOST_TEST(process_alive(::getpid()));
  auto start = process_start_time(::getpid());
  BOOST_TEST_REQUIRE(start.has_value());
  BOOST_TEST(process_alive(::getpid(), *start));
  BOOST_TEST(!process_alive(::getpid(), *start + 1));
  pid_t z = ::fork();
  if (z == 0)
    ::_exit(0);
  BOOST_TEST_REQUIRE(becomes_zombie(z));
  BOOST_TEST(!process_alive(z));
  int status;
  ::waitpid(z, &status, 0);
  BOOST_TEST(!process_alive(z));
}

// A process that is reaped while its /proc entry is read is simply gone: never an
// exception (a stream's read of /proc/PID/stat threw ESRCH once and stopped the daemon's
// loop thread in reap_orphans). Children reaped by another thread while this one asks.
BOOST_AUTO_TEST_CASE(a_process_that_vanishes_while_read_is_gone) {
  for (int i = 0; i < 300; ++i) {
    pid_t pid = ::fork();
    if (pid == 0)
      ::_exit(0);
    std::thread reaper([pid] {
      int status;
      ::waitpid(pid, &status, 0);
    });
    // Until it is gone from /proc: alive, then a zombie, then nothing.
    for (int n = 0; n < 1000000 && process_start_time(pid).has_value(); ++n)
      BOOST_CHECK_NO_THROW(process_alive(pid));
    reaper.join();
    BOOST_TEST(!process_alive(pid));
  }
}

// As a subreaper, an orphaned grandchild that exits is reaped; a zombie child someone
// owns (the host services reap theirs) is left alone, and the orphans behind it wait
// for its owner's reaping.
BOOST_AUTO_TEST_CASE(orphans_are_reaped_and_owned_children_left_alone) {
  BOOST_TEST_REQUIRE(become_subreaper());
  pid_t held = ::fork();
  if (held == 0)
    ::_exit(0);
  own_child(held);
  int pipe_fds[2];
  BOOST_TEST_REQUIRE(::pipe(pipe_fds) == 0);
  pid_t test_pid = ::getpid();
  pid_t mid = ::fork();
  if (mid == 0) {
    pid_t grandchild = ::fork();
    if (grandchild == 0) {
      // Exits once its parent is gone and it is ours (a bounded wait).
      for (int i = 0; i < 100000 && ::getppid() != test_pid; ++i)
        ::usleep(100);
      ::_exit(0);
    }
    ssize_t w = ::write(pipe_fds[1], &grandchild, sizeof grandchild);
    (void)w;
    ::_exit(0);
  }
  pid_t grandchild = 0;
  BOOST_TEST_REQUIRE(::read(pipe_fds[0], &grandchild, sizeof grandchild) ==
                     static_cast<ssize_t>(sizeof grandchild));
  int status;
  ::waitpid(mid, &status, 0);
  BOOST_TEST_REQUIRE(becomes_zombie(grandchild));
  BOOST_TEST_REQUIRE(becomes_zombie(held));
  // The kernel shows exited children one at a time, the oldest first: the owned one
  // stops the reaper, whose owner reaps it and calls again.
  BOOST_TEST(reap_orphans() == 0);
  BOOST_TEST(process_start_time(grandchild).has_value()); // not reaped yet
  BOOST_TEST(::waitpid(held, &status, WNOHANG) == held);  // still ours to reap
  disown_child(held);
  BOOST_TEST(reap_orphans() == 1);
  BOOST_TEST(!process_start_time(grandchild).has_value()); // reaped: gone from /proc
  BOOST_TEST(reap_orphans() == 0);                         // and nothing else
  ::close(pipe_fds[0]);
  ::close(pipe_fds[1]);
}

// The chain through the host services: a spawned child leaves an exited grandchild
// behind; when the child exits, the grandchild, now ours and behind the owned child
// among the exited, is reaped by the child's own reaping (no SIGCHLD handler here).
BOOST_AUTO_TEST_CASE(an_orphan_behind_a_spawned_child_is_reaped_with_it) {
  BOOST_TEST_REQUIRE(become_subreaper());
  BOOST_TEST_REQUIRE(is_subreaper());
  event_loop loop;
  loop.start();
  host_services host(loop, "test:///orphans");
  const domus_host_v1* t = host.table();
  int to_child[2], from_child[2], to_grandchild[2];
  BOOST_TEST_REQUIRE(::pipe2(to_child, O_CLOEXEC) == 0);
  BOOST_TEST_REQUIRE(::pipe2(from_child, O_CLOEXEC) == 0);
  BOOST_TEST_REQUIRE(::pipe2(to_grandchild, O_CLOEXEC) == 0);
  // The child starts the grandchild (waiting on its own pipe), says its pid, and becomes
  // head(1), which never reaps a child (sh would); each exits when its pipe says so.
  // (The grandchild's pipe is the child's stderr: an asynchronous list's stdin is
  // /dev/null.)
  const char* argv[] = {"sh", "-c", "read x <&2 & echo $!; exec head -c1", nullptr};
  domus_spawn_v1 spec{};
  spec.struct_size = sizeof spec;
  spec.file = "sh";
  spec.argv = argv;
  spec.stdin_fd = to_child[0];
  spec.stdout_fd = from_child[1];
  spec.stderr_fd = to_grandchild[0];
  spec.uid = spec.gid = -1;
  child_events seen;
  BOOST_TEST_REQUIRE(t->spawn(t->ctx, &spec, &child_events::on, &seen) != 0u);
  ::close(to_child[0]);
  ::close(from_child[1]);
  ::close(to_grandchild[0]);
  char line[32] = {};
  BOOST_TEST_REQUIRE(::read(from_child[0], line, sizeof line - 1) > 0);
  pid_t grandchild = static_cast<pid_t>(std::atoi(line));
  BOOST_TEST_REQUIRE(grandchild > 0);
  BOOST_TEST_REQUIRE(seen.wait([&] { return seen.pid > 0; }));
  pid_t child = static_cast<pid_t>(seen.pid);
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  auto comm = [&] {
    std::ifstream in("/proc/" + std::to_string(child) + "/comm");
    std::string c;
    std::getline(in, c);
    return c;
  };
  while (comm() != "head" && std::chrono::steady_clock::now() < until)
    std::this_thread::yield();
  BOOST_TEST_REQUIRE(comm() == "head");
  BOOST_TEST_REQUIRE(::write(to_grandchild[1], "\n", 1) == 1);
  BOOST_TEST_REQUIRE(becomes_zombie(grandchild)); // head's, unreaped
  BOOST_TEST_REQUIRE(::write(to_child[1], "x", 1) == 1);
  BOOST_TEST_REQUIRE(seen.wait([&] { return seen.exited; }));
  // Reaped on the loop thread right after the child: gone from /proc (bounded poll).
  until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (process_start_time(grandchild) && std::chrono::steady_clock::now() < until)
    std::this_thread::yield();
  BOOST_TEST(!process_start_time(grandchild).has_value());
  for (int fd : {to_child[1], from_child[0], to_grandchild[1]})
    ::close(fd);
  loop.stop();
}

// watch_pid: EXITED fires when the process exits though no one reaps it; a zombie, or a
// pid with another start time, cannot be watched; signal_pid reaches only the watched.
BOOST_AUTO_TEST_CASE(watch_pid_sees_an_exit_that_leaves_a_zombie) {
  using domus::runtime::event_loop;
  event_loop loop;
  loop.start();
  host_services host(loop, "test:///watch");
  const domus_host_v1* t = host.table();
  pid_t pid = pausing_child();
  auto start = process_start_time(pid);
  BOOST_TEST_REQUIRE(start.has_value());
  BOOST_TEST(t->watch_pid(
                 t->ctx, pid, *start + 1, [](void*, const domus_child_event_v1*) {},
                 nullptr) == 0u);
  struct seen_t {
    std::mutex m;
    std::condition_variable cv;
    int exits = 0;
    int64_t pid = 0;
  } seen;
  uint64_t w = t->watch_pid(
      t->ctx, pid, *start,
      [](void* arg, const domus_child_event_v1* ev) {
        auto* s = static_cast<seen_t*>(arg);
        std::lock_guard<std::mutex> lock(s->m);
        s->exits += ev->kind == DOMUS_CHILD_EXITED;
        s->pid = ev->pid;
        s->cv.notify_all();
      },
      &seen);
  BOOST_TEST_REQUIRE(w != 0u);
  BOOST_TEST(t->signal_pid(t->ctx, w, 0) == 0);
  BOOST_TEST(t->signal_pid(t->ctx, w, SIGKILL) == 0);
  {
    std::unique_lock<std::mutex> lock(seen.m);
    BOOST_TEST(
        seen.cv.wait_for(lock, std::chrono::seconds(10), [&] { return seen.exits; }));
    BOOST_TEST(seen.pid == pid);
  }
  BOOST_TEST(becomes_zombie(pid)); // not reaped by the watch
  BOOST_TEST(t->signal_pid(t->ctx, w, SIGKILL) == -ESRCH);
  BOOST_TEST(t->watch_pid(
                 t->ctx, pid, 0, [](void*, const domus_child_event_v1*) {}, nullptr) ==
             0u);
  int status;
  BOOST_TEST(::waitpid(pid, &status, 0) == pid);
  loop.stop();
}

BOOST_AUTO_TEST_SUITE_END()
