#include "daemon/options.hpp"

#include "daemon/conf_file.hpp"

#include <domus/protocol/errors.hpp>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>

namespace domus::runtime {

using protocol::errc;
using protocol::error;

command_line parse_command_line(const std::vector<std::string>& args) {
  command_line cl;
  for (size_t i = 0; i < args.size(); ++i) {
    std::string a = args[i];
    std::optional<std::string> inline_value;
    if (auto eq = a.find('='); a.rfind("--", 0) == 0 && eq != std::string::npos) {
      inline_value = a.substr(eq + 1);
      a = a.substr(0, eq);
    }
    auto value = [&]() -> std::string {
      if (inline_value)
        return *inline_value;
      if (i + 1 >= args.size())
        throw error(errc::invalid_argument, "option " + a + " needs a value");
      return args[++i];
    };
    if (a == "--help" || a == "-h")
      cl.help = true;
    else if (a == "--version" || a == "-V")
      cl.version = true;
    else if (a == "--root")
      cl.root = value();
    else if (a == "--config" || a == "-f")
      cl.config_file = value();
    else if (a == "--plugin-dir")
      cl.plugin_dir = value();
    else if (a == "--log-level") {
      std::string v = value();
      cl.level = parse_log_level(v);
      if (!cl.level)
        throw error(errc::invalid_argument,
                    "unknown log level '" + v +
                        "' (expected error, warning, info or debug)");
    } else
      throw error(errc::invalid_argument,
                  "unknown option '" + args[i] + "' (see --help)");
  }
  return cl;
}

std::string usage_text() {
  return R"(Usage: domusd [OPTIONS]

The Domus virtualization daemon. Runs in the foreground and logs to stderr.

Options:
  --root DIR         keep configuration, state and sockets under DIR
                     (DIR/etc/domus, DIR/var/lib/domus, DIR/run/domus)
  -f, --config FILE  read settings from FILE instead of <etc>/domusd.conf
  --plugin-dir DIR   load driver plugins from DIR instead of the bundled ones
  --log-level LEVEL  error, warning, info (default) or debug
  -h, --help         print this help
  -V, --version      print the version

Without --root, root uses /etc/domus, /var/lib/domus and /run/domus, and other users
the XDG directories ($XDG_CONFIG_HOME/domus, $XDG_DATA_HOME/domus, $XDG_RUNTIME_DIR/domus).
Clients reach the daemon with: domsh -c 'test:///default?socket=<run>/domus-sock'
)";
}

namespace {

struct setting {
  std::function<void(const std::string& value, bool quoted, daemon_options&)> apply;
};

uint64_t to_number(const std::string& v, bool quoted, uint64_t min, uint64_t max) {
  if (quoted || v.empty() || v.find_first_not_of("0123456789") != std::string::npos)
    throw std::invalid_argument("expected a whole number, got " + v);
  errno = 0;
  unsigned long long n = std::strtoull(v.c_str(), nullptr, 10);
  if (errno || n < min || n > max)
    throw std::invalid_argument("expected a number from " + std::to_string(min) + " to " +
                                std::to_string(max) + ", got " + v);
  return n;
}

std::string to_string_value(const std::string& v, bool quoted) {
  if (!quoted)
    throw std::invalid_argument("expected a string in double quotes, got " + v);
  return v;
}

unsigned to_mode(const std::string& v, bool quoted) {
  std::string s = to_string_value(v, quoted);
  if (s.empty() || s.size() > 4 || s.find_first_not_of("01234567") != std::string::npos)
    throw std::invalid_argument("expected an octal mode such as \"0600\", got \"" + s +
                                "\"");
  return static_cast<unsigned>(std::stoul(s, nullptr, 8));
}

// deadline_<operation>_ms, one per driver operation: 10 ms to a day.
void add_deadline_settings(std::map<std::string, setting>& table) {
  for (size_t i = 0; i < driver_op_count; ++i)
    if (entry(static_cast<driver_op>(i)).default_ms > 0)
      table.emplace(deadline_setting(static_cast<driver_op>(i)),
                    setting{[i](auto& v, bool q, auto& o) {
                      o.deadlines.ms[i] =
                          static_cast<uint32_t>(to_number(v, q, 10, 86400000));
                    }});
}

const std::map<std::string, setting>& settings() {
  static const std::map<std::string, setting> table = [] {
    std::map<std::string, setting> table = {
        {"log_level", {[](auto& v, bool q, auto& o) {
           auto l = parse_log_level(to_string_value(v, q));
           if (!l)
             throw std::invalid_argument("expected \"error\", \"warning\", \"info\" or "
                                         "\"debug\", got \"" +
                                         v + "\"");
           o.level = *l;
         }}},
        {"plugin_dir",
         {[](auto& v, bool q, auto& o) { o.plugin_dir = to_string_value(v, q); }}},
        {"root", {[](auto& v, bool q, auto& o) { o.root = to_string_value(v, q); }}},
        {"max_request_bytes", {[](auto& v, bool q, auto& o) {
           o.max_request_bytes = to_number(v, q, 1024, uint64_t{1} << 30);
         }}},
        {"max_reply_bytes", {[](auto& v, bool q, auto& o) {
           o.max_reply_bytes = to_number(v, q, 1024, uint64_t{1} << 30);
         }}},
        {"max_xml_bytes", {[](auto& v, bool q, auto& o) {
           o.max_xml_bytes = to_number(v, q, 1024, uint64_t{1} << 30);
         }}},
        {"max_field_bytes", {[](auto& v, bool q, auto& o) {
           o.max_field_bytes = to_number(v, q, 256, uint64_t{1} << 20);
         }}},
        {"max_event_bytes", {[](auto& v, bool q, auto& o) {
           o.max_event_bytes = to_number(v, q, 1024, uint64_t{1} << 24);
         }}},
        {"max_xml_depth", {[](auto& v, bool q, auto& o) {
           o.max_xml_depth = static_cast<uint32_t>(to_number(v, q, 8, 256));
         }}},
        {"max_xml_attributes", {[](auto& v, bool q, auto& o) {
           o.max_xml_attributes = static_cast<uint32_t>(to_number(v, q, 16, 65536));
         }}},
        {"max_client_requests", {[](auto& v, bool q, auto& o) {
           o.max_client_requests = static_cast<uint32_t>(to_number(v, q, 1, 1000000));
         }}},
        {"max_clients", {[](auto& v, bool q, auto& o) {
           o.max_clients = static_cast<uint32_t>(to_number(v, q, 1, 1000000));
         }}},
        {"max_subscribers", {[](auto& v, bool q, auto& o) {
           o.max_subscribers = static_cast<uint32_t>(to_number(v, q, 1, 1000000));
         }}},
        {"unix_sock_rw_perms",
         {[](auto& v, bool q, auto& o) { o.rw_socket_mode = to_mode(v, q); }}},
        {"unix_sock_ro_perms",
         {[](auto& v, bool q, auto& o) { o.ro_socket_mode = to_mode(v, q); }}},
        {"unix_sock_events_perms",
         {[](auto& v, bool q, auto& o) { o.events_socket_mode = to_mode(v, q); }}},
        // (0 would be "unlimited" to ZeroMQ: refused.)
        {"reply_queue_limit", {[](auto& v, bool q, auto& o) {
           o.reply_queue_limit = static_cast<int64_t>(to_number(v, q, 1, 100000000));
         }}},
        {"event_queue_limit", {[](auto& v, bool q, auto& o) {
           o.event_queue_limit = static_cast<int64_t>(to_number(v, q, 1, 100000000));
         }}},
        {"stream_window", {[](auto& v, bool q, auto& o) {
           o.stream_window = static_cast<uint32_t>(to_number(v, q, 1, 256));
         }}},
        {"max_client_streams", {[](auto& v, bool q, auto& o) {
           o.max_client_streams = static_cast<uint32_t>(to_number(v, q, 1, 1024));
         }}},
        {"max_streams", {[](auto& v, bool q, auto& o) {
           o.max_streams = static_cast<uint32_t>(to_number(v, q, 1, 65536));
         }}},
        {"stream_idle_ms", {[](auto& v, bool q, auto& o) {
           o.stream_idle_ms = static_cast<uint32_t>(to_number(v, q, 100, 86400000));
         }}},
        {"job_wait_ms", {[](auto& v, bool q, auto& o) {
           o.job_wait_ms = static_cast<uint32_t>(to_number(v, q, 0, 86400000));
         }}},
        {"journal_events", {[](auto& v, bool q, auto& o) {
           o.journal_events = static_cast<size_t>(to_number(v, q, 100, 100000000));
         }}},
        {"journal_reserve_bytes", {[](auto& v, bool q, auto& o) {
           o.journal_reserve_bytes = to_number(v, q, 4096, uint64_t{1} << 30);
         }}},
        {"scheduler_policy", {[](auto& v, bool q, auto& o) {
           std::string s = to_string_value(v, q);
           if (s != "sharing" && s != "stealing")
             throw std::invalid_argument("expected \"sharing\" or \"stealing\", got \"" +
                                         s + "\"");
           o.scheduler_policy = s;
         }}},
        {"worker_threads", {[](auto& v, bool q, auto& o) {
           o.worker_threads = static_cast<unsigned>(to_number(v, q, 0, 256));
         }}},
        {"open_at_start", {[](auto& v, bool q, auto& o) {
           std::string list = to_string_value(v, q);
           o.open_at_start.clear();
           std::string word;
           for (char c : list + " ") {
             if (c == ' ' || c == ',') {
               if (!word.empty())
                 o.open_at_start.push_back(word);
               word.clear();
             } else {
               word += c;
             }
           }
         }}},
        {"shutdown_timeout_ms", {[](auto& v, bool q, auto& o) {
           o.shutdown_timeout_ms = static_cast<unsigned>(to_number(v, q, 0, 600000));
         }}},
    };
    add_deadline_settings(table);
    return table;
  }();
  return table;
}

} // namespace

void load_config_text(const std::string& text, const std::string& origin,
                      daemon_options& opts) {
  for (auto& c : parse_conf(text, origin)) {
    auto where = origin + ":" + std::to_string(c.line) + ": ";
    auto it = settings().find(c.key);
    if (it == settings().end())
      throw error(errc::config_error, where + "unknown setting '" + c.key + "'");
    try {
      it->second.apply(c.value, c.quoted, opts);
    } catch (const std::invalid_argument& e) {
      throw error(errc::config_error, where + c.key + ": " + e.what());
    }
  }
}

daemon_options resolve_options(const command_line& cl,
                               const std::string& default_config) {
  daemon_options opts;
  std::string path = cl.config_file ? *cl.config_file : default_config;
  std::ifstream in(path);
  if (in) {
    std::ostringstream ss;
    ss << in.rdbuf();
    load_config_text(ss.str(), path, opts);
    opts.config_file = path;
  } else if (cl.config_file) {
    throw error(errc::config_error,
                "cannot read config file " + path + ": " + std::strerror(errno));
  }
  if (cl.root)
    opts.root = *cl.root;
  if (cl.plugin_dir)
    opts.plugin_dir = *cl.plugin_dir;
  if (cl.level)
    opts.level = *cl.level;
  if (std::string why = opts.check(); !why.empty())
    throw error(
        errc::config_error,
        (opts.config_file.empty() ? std::string("the settings") : opts.config_file) +
            ": " + why);
  return opts;
}

} // namespace domus::runtime
