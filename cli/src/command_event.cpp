// `event`: follow the daemon's lifecycle events as virsh prints them.
#include "command_table.hpp"
#include "shell.hpp"

#include <domus/protocol/vocabulary.hpp>

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

std::string event_line(const json& body, bool timestamp) {
  std::string ev = body.value("event", ""), det = body.value("detail", "");
  auto* e = protocol::find_event(ev);
  auto* d = e ? protocol::find_detail(e->event, det) : nullptr;
  std::string line;
  if (timestamp)
    line = virsh_time(body.value("time", "")) + ": ";
  line += "event 'lifecycle' for domain '" + body["domain"].value("name", "") +
          "': " + (e ? std::string(e->text) : "unknown") + " " +
          (d ? std::string(d->text) : "unknown");
  return line;
}

} // namespace

bool cmd_event(shell& sh, const parsed_command& pc) {
  auto event = pc.value("event");
  if (pc.flag("list")) {
    if (pc.flag("all") || event) {
      shell::error(std::string("Options --list and --") + (event ? "event" : "all") +
                   " are mutually exclusive");
      return false;
    }
    std::cout << "lifecycle\n";
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
  if (event && *event != "lifecycle") {
    shell::error("unknown event type " + *event);
    return false;
  }
  std::string uuid;
  if (auto d = pc.value("domain"))
    uuid = sh.call("domain.lookup", {{"domain", *d}}).value("uuid", "");
  long timeout_s = pc.value("timeout") ? std::stol(*pc.value("timeout")) : 0;

  protocol::subscriber sub(sh.connection(),
                           {std::string(protocol::topic_domain_lifecycle)});
  sub.handshake(std::chrono::seconds(5));
  sh.info("listening for events on " + sh.connection().files().events);

  interrupted = 0;
  struct sigaction sa {
  }, old{};
  sa.sa_handler = on_sigint;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, &old);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  int count = 0;
  bool timed_out = false;
  const std::string uri = protocol::parse_uri(sh.uri()).normalized();
  // Prints an event of this connection's instance (and domain); false once a one-shot
  // wait has its event.
  auto print = [&](const json& body) {
    // One daemon serves every URI: keep this connection's instance only.
    if (body.value("uri", "") != uri)
      return true;
    if (!uuid.empty() && body["domain"].value("uuid", "") != uuid)
      return true;
    std::cout << event_line(body, pc.flag("timestamp")) << std::endl;
    ++count;
    return pc.flag("loop");
  };
  // --since: the journal's events first. The subscription above is already live, so
  // nothing published meanwhile is missed; what it brings again (seq up to the last one
  // the journal answered for) is dropped below.
  uint64_t replayed_through = 0;
  bool more = true;
  if (auto since = pc.value("since")) {
    uint64_t after = std::stoull(*since);
    while (more) {
      auto r =
          sh.connection().call("", "events.since",
                               {{"after", after},
                                {"topic", std::string(protocol::topic_domain_lifecycle)},
                                {"limit", 1000}},
                               std::chrono::seconds(10));
      if (!r.ok) {
        std::string oldest =
            r.error.contains("oldest_seq") ? r.error["oldest_seq"].dump() : "?";
        shell::error(r.message + (r.code == protocol::errc::resync
                                      ? " (the oldest event held is seq " + oldest + ")"
                                      : ""));
        sigaction(SIGINT, &old, nullptr);
        return false;
      }
      for (auto& body : r.result["events"])
        if (!(more = print(body)))
          break;
      replayed_through = r.result.value("last", uint64_t{0});
      uint64_t next = r.result.value("next", uint64_t{0});
      if (next >= replayed_through || next <= after)
        break;
      after = next;
    }
  }
  // A quiet stream may mean a daemon that went away: after a few idle seconds, ask it.
  auto last_heard = std::chrono::steady_clock::now();
  bool daemon_gone = false;
  while (more && !interrupted) {
    if (std::chrono::steady_clock::now() - last_heard > std::chrono::seconds(2)) {
      try {
        sh.connection().call("", "events.ping", {{"token", "alive"}},
                             std::chrono::seconds(2));
        last_heard = std::chrono::steady_clock::now();
      } catch (const protocol::error&) {
        daemon_gone = true;
        break;
      }
    }
    auto wait = std::chrono::milliseconds(200);
    if (timeout_s) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) {
        timed_out = true;
        break;
      }
      wait = std::min(wait, left);
    }
    auto m = sub.next(wait);
    if (!m || !m->body.is_object())
      continue;
    last_heard = std::chrono::steady_clock::now();
    if (m->body.value("seq", uint64_t{0}) <= replayed_through)
      continue; // replayed already
    if (!print(m->body))
      break;
  }
  sigaction(SIGINT, &old, nullptr);
  if (daemon_gone) {
    shell::error("the daemon on " + sh.connection().request_socket() +
                 " stopped answering; " + std::to_string(count) + " event(s) received");
    return false;
  }
  if (interrupted)
    std::cout << "event loop interrupted\n";
  else if (timed_out)
    std::cout << "event loop timed out\n";
  std::cout << "events received: " << count << '\n';
  return count > 0;
}

} // namespace domus::cli
