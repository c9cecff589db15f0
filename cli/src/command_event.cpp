// `event` and `pool-event`: follow the daemon's domain and storage pool events as virsh
// prints them.
#include "command_table.hpp"
#include "shell.hpp"

#include <domus/protocol/vocabulary.hpp>

#include <algorithm>
#include <csignal>
#include <iostream>

namespace domus::cli {

using protocol::json;

namespace {

volatile std::sig_atomic_t interrupted = 0;

void on_sigint(int) {
  interrupted = 1;
}

// "2026-11-28T00:10:13.993Z" -> "2026-11-28 00:10:13.993+0000", virsh's --timestamp.
std::string virsh_time(const std::string& t) {
  if (t.size() < 24)
    return t;
  return t.substr(0, 10) + " " + t.substr(11, 12) + "+0000";
}

// The event types domsh follows, in virsh's order (`event --list`), each with the topic
// that carries it and what virsh prints after "for domain 'NAME': ".
struct event_type {
  std::string_view name;
  std::string_view topic;
  std::string (*text)(const json& body);
};

std::string str(const json& body, const char* key) {
  auto it = body.find(key);
  return it != body.end() && it->is_string() ? it->get<std::string>() : "";
}

std::string num(const json& body, const char* key) {
  auto it = body.find(key);
  return it != body.end() && it->is_number_integer() ? it->dump() : "0";
}

std::string lifecycle_text(const json& body) {
  auto* e = protocol::find_event(str(body, "event"));
  auto* d = e ? protocol::find_detail(e->event, str(body, "detail")) : nullptr;
  return (e ? std::string(e->text) : "unknown") + " " +
         (d ? std::string(d->text) : "unknown");
}

std::string block_job_text(const json& body) {
  static const std::pair<std::string_view, std::string_view> types[] = {
      {"pull", "Block Pull"},
      {"copy", "Block Copy"},
      {"commit", "Block Commit"},
      {"active_commit", "Active Block Commit"},
      {"backup", "Backup"}};
  std::string type = "Unknown";
  for (auto& [wire, text] : types)
    if (wire == str(body, "type"))
      type = text;
  return type + " for " + str(body, "disk") + " " + str(body, "status");
}

const event_type event_types[] = {
    {"lifecycle", protocol::topic_domain_lifecycle, lifecycle_text},
    {"rtc-change", "domain.rtc-change", [](const json& b) { return num(b, "offset_s"); }},
    {"io-error", "domain.io-error",
     [](const json& b) {
       return str(b, "source") + " (" + str(b, "device") + ") " + str(b, "action");
     }},
    {"io-error-reason", "domain.io-error",
     [](const json& b) {
       return str(b, "source") + " (" + str(b, "device") + ") " + str(b, "action") +
              " due to " + str(b, "reason");
     }},
    {"block-job", "domain.block-job", block_job_text},
    {"balloon-change", "domain.balloon-change",
     [](const json& b) { return num(b, "actual_kib") + "KiB"; }},
    {"device-removed", "domain.device-removed",
     [](const json& b) { return str(b, "device"); }},
    {"device-added", "domain.device-added",
     [](const json& b) { return str(b, "device"); }},
};

// Storage pool events (pool-event): what virsh prints after the pool's name.
std::string pool_lifecycle_text(const json& body) {
  static const std::pair<std::string_view, std::string_view> events[] = {
      {"defined", "Defined"}, {"undefined", "Undefined"}, {"started", "Started"},
      {"stopped", "Stopped"}, {"created", "Created"},     {"deleted", "Deleted"}};
  for (auto& [wire, text] : events)
    if (wire == str(body, "event"))
      return ": " + std::string(text);
  return ": unknown";
}

const event_type pool_event_types[] = {
    {"lifecycle", protocol::topic_pool_lifecycle, pool_lifecycle_text},
    {"refresh", protocol::topic_pool_refresh, [](const json&) { return std::string(); }},
};

// What one event command follows: `event` a domain's events, `pool-event` a storage
// pool's, each with virsh's line for them.
struct event_family {
  std::string_view object; ///< the body's key and the filter option: "domain", "pool"
  std::string_view replay_prefix;
  const event_type* begin;
  const event_type* end;
  std::string (*line)(const event_type& t, const json& body);
};

const event_family domain_events = {
    "domain", "domain.", std::begin(event_types), std::end(event_types),
    [](const event_type& t, const json& body) {
      return "event '" + std::string(t.name) + "' for domain '" +
             body["domain"].value("name", "") + "': " + t.text(body);
    }};

const event_family pool_events = {"pool", "pool.", std::begin(pool_event_types),
                                  std::end(pool_event_types),
                                  [](const event_type& t, const json& body) {
                                    return "event '" + std::string(t.name) +
                                           "' for storage pool " +
                                           body["pool"].value("name", "") + t.text(body);
                                  }};

const event_type* find_event_type(const event_family& f, std::string_view name) {
  for (auto* t = f.begin; t != f.end; ++t)
    if (t->name == name)
      return t;
  return nullptr;
}

// The lines an event prints under the types followed: one per type of its topic (an
// I/O error is both io-error and, with a reason, io-error-reason, as libvirt emits both).
std::vector<std::string> event_lines(const event_family& f, const json& body,
                                     const event_type* only, bool timestamp) {
  std::vector<std::string> lines;
  std::string topic = str(body, "topic");
  for (auto* t = f.begin; t != f.end; ++t) {
    if (t->topic != topic || (only && only != t))
      continue;
    if (t->name == "io-error-reason" && !body.contains("reason"))
      continue;
    std::string line;
    if (timestamp)
      line = virsh_time(str(body, "time")) + ": ";
    lines.push_back(line + f.line(*t, body));
  }
  return lines;
}

// SIGINT ends the wait (virsh prints "event loop interrupted"); the old handler is back
// when the scope ends, however it ends.
class sigint_scope {
public:
  sigint_scope() {
    interrupted = 0;
    struct sigaction sa {};
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_);
  }
  ~sigint_scope() { sigaction(SIGINT, &old_, nullptr); }
  sigint_scope(const sigint_scope&) = delete;
  sigint_scope& operator=(const sigint_scope&) = delete;

private:
  struct sigaction old_ {};
};

// The options as virsh checks them: false (said why) when they do not go together;
// `listed` when --list was answered and nothing more is to be done.
bool check_options(const event_family& f, const parsed_command& pc, bool& listed) {
  auto event = pc.value("event");
  listed = false;
  if (&f == &pool_events) {
    // pool-event has no --all, and lists its types whatever else is given.
    if (pc.flag("list")) {
      for (auto* t = f.begin; t != f.end; ++t)
        std::cout << t->name << '\n';
      listed = true;
      return true;
    }
    if (!event) {
      shell::error("either --list or --event <type> is required");
      return false;
    }
    if (!find_event_type(f, *event)) {
      shell::error("unknown event type " + *event);
      return false;
    }
    return true;
  }
  if (pc.flag("list")) {
    if (pc.flag("all") || event) {
      shell::error(std::string("Options --list and --") + (event ? "event" : "all") +
                   " are mutually exclusive");
      return false;
    }
    for (auto& t : event_types)
      std::cout << t.name << '\n';
    listed = true;
    return true;
  }
  if (pc.flag("all") && event) {
    shell::error("Options --all and --event are mutually exclusive");
    return false;
  }
  if (!event && !pc.flag("all")) {
    shell::error("one of --list, --all, or --event <type> is required");
    return false;
  }
  if (event && !find_event_type(f, *event)) {
    shell::error("unknown event type " + *event);
    return false;
  }
  return true;
}

// One `event` run: what it prints, and the two ways events reach it (the journal with
// --since, then the subscription).
class event_watch {
public:
  enum class ending { done, interrupted, timed_out, daemon_gone };

  event_watch(shell& sh, const event_family& f, const parsed_command& pc,
              std::string uuid)
      : sh_(sh), family_(f), uri_(protocol::parse_uri(sh.uri()).normalized()),
        uuid_(std::move(uuid)),
        only_(pc.value("event") ? find_event_type(f, *pc.value("event")) : nullptr),
        timestamp_(pc.flag("timestamp")), loop_(pc.flag("loop")) {}

  /// The topics to subscribe to and replay: the one type's, or every type's (--all).
  std::vector<std::string> topics() const {
    std::vector<std::string> out;
    for (auto* t = family_.begin; t != family_.end; ++t)
      if ((!only_ || only_ == t) &&
          std::find(out.begin(), out.end(), t->topic) == out.end())
        out.emplace_back(t->topic);
    return out;
  }

  int count() const { return count_; }

  // Prints an event of this connection's instance (and domain); false once a one-shot
  // wait has its event.
  bool print(const json& body) {
    // One daemon serves every URI: keep this connection's instance only.
    if (body.value("uri", "") != uri_)
      return true;
    std::string object(family_.object);
    if (!uuid_.empty() &&
        (!body.contains(object) || body[object].value("uuid", "") != uuid_))
      return true;
    auto lines = event_lines(family_, body, only_, timestamp_);
    for (auto& line : lines) {
      std::cout << line << std::endl;
      ++count_;
    }
    return loop_ || lines.empty();
  }

  // --since: the journal's events after `after`. The subscription is already live, so
  // nothing published meanwhile is missed; what it brings again (seq up to the last one
  // the journal answered for) is dropped by follow(). False (said why) when the
  // journal refuses; `more` false once a one-shot wait has its event.
  bool replay(uint64_t after, bool& more) {
    more = true;
    while (more) {
      auto r = sh_.connection().call(
          "", "events.since",
          {{"after", after}, {"topic", replay_topic()}, {"limit", 1000}},
          std::chrono::seconds(10));
      if (!r.ok) {
        std::string oldest =
            r.error.contains("oldest_seq") ? r.error["oldest_seq"].dump() : "?";
        shell::error(r.message + (r.code == protocol::errc::resync
                                      ? " (the oldest event held is seq " + oldest + ")"
                                      : ""));
        return false;
      }
      for (auto& body : r.result["events"])
        if (!(more = print(body)))
          break;
      replayed_through_ = r.result.value("last", uint64_t{0});
      uint64_t next = r.result.value("next", uint64_t{0});
      if (next >= replayed_through_ || next <= after)
        break;
      after = next;
    }
    return true;
  }

  // Live events until a one-shot wait has its event, SIGINT, the deadline (when
  // `timed`), or a daemon that stopped answering.
  ending follow(protocol::subscriber& sub, bool timed,
                std::chrono::steady_clock::time_point deadline) {
    // A quiet stream may mean a daemon that went away: after a few idle seconds, ask it.
    auto last_heard = std::chrono::steady_clock::now();
    while (!interrupted) {
      if (std::chrono::steady_clock::now() - last_heard > std::chrono::seconds(2)) {
        try {
          sh_.connection().call("", "events.ping", {{"token", "alive"}},
                                std::chrono::seconds(2));
          last_heard = std::chrono::steady_clock::now();
        } catch (const protocol::error&) {
          return ending::daemon_gone;
        }
      }
      auto wait = std::chrono::milliseconds(200);
      if (timed) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0)
          return ending::timed_out;
        wait = std::min(wait, left);
      }
      auto m = sub.next(wait);
      if (!m || !m->body.is_object())
        continue;
      last_heard = std::chrono::steady_clock::now();
      if (m->body.contains("seq") &&
          m->body.value("seq", uint64_t{0}) <= replayed_through_)
        continue; // replayed already (samples have no seq: never replayed)
      if (!print(m->body))
        return ending::done;
    }
    return ending::interrupted;
  }

private:
  // One topic prefix for events.since: the type's topic, or "domain." for several (the
  // ones no type follows print nothing).
  std::string replay_topic() const {
    auto t = topics();
    return t.size() == 1 ? t.front() : std::string(family_.replay_prefix);
  }

  shell& sh_;
  const event_family& family_;
  std::string uri_, uuid_;
  const event_type* only_; // nullptr: --all
  bool timestamp_, loop_;
  int count_ = 0;
  uint64_t replayed_through_ = 0;
};

// virsh's closing lines; the exit status says whether any event came.
bool report(shell& sh, event_watch::ending how, int count) {
  switch (how) {
  case event_watch::ending::daemon_gone:
    shell::error("the daemon on " + sh.connection().request_socket() +
                 " stopped answering; " + std::to_string(count) + " event(s) received");
    return false;
  case event_watch::ending::interrupted:
    std::cout << "event loop interrupted\n";
    break;
  case event_watch::ending::timed_out:
    std::cout << "event loop timed out\n";
    break;
  case event_watch::ending::done:
    break;
  }
  std::cout << "events received: " << count << '\n';
  return count > 0;
}

} // namespace

namespace {

// `event` and `pool-event`: the object to follow (all when not named), then the
// journal with --since, then live events.
bool follow_events(shell& sh, const event_family& f, const parsed_command& pc) {
  bool listed = false;
  if (!check_options(f, pc, listed))
    return false;
  if (listed)
    return true;
  std::string uuid;
  if (&f == &domain_events) {
    if (auto d = pc.value("domain"))
      uuid = sh.call("domain.lookup", {{"domain", *d}}).value("uuid", "");
  } else if (auto p = pc.value("pool")) {
    uuid = sh.call("pool.info", {{"pool", *p}}).value("uuid", "");
  }
  long timeout_s = pc.value("timeout") ? std::stol(*pc.value("timeout")) : 0;

  event_watch watch(sh, f, pc, uuid);
  protocol::subscriber sub(sh.connection(), watch.topics());
  sub.handshake(std::chrono::seconds(5));
  sh.info("listening for events on " + sh.connection().files().events);

  sigint_scope sigint;
  // --timeout counts from here: a --since replay is part of the wait.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  bool more = true;
  if (auto since = pc.value("since"))
    if (!watch.replay(std::stoull(*since), more))
      return false;
  auto how = more          ? watch.follow(sub, timeout_s > 0, deadline)
             : interrupted ? event_watch::ending::interrupted
                           : event_watch::ending::done;
  return report(sh, how, watch.count());
}

} // namespace

bool cmd_event(shell& sh, const parsed_command& pc) {
  return follow_events(sh, domain_events, pc);
}

bool cmd_pool_event(shell& sh, const parsed_command& pc) {
  return follow_events(sh, pool_events, pc);
}

} // namespace domus::cli
