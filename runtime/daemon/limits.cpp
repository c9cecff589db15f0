#include "daemon/limits.hpp"

#include <domus/protocol/errors.hpp>

#include <cerrno>
#include <cstring>
#include <sys/resource.h>

namespace domus::runtime {

uint64_t daemon_limits::descriptor_budget() const {
  uint64_t connections = 2 * uint64_t{max_clients} + max_subscribers;
  return connections + connections / 4 + reserved_descriptors;
}

std::string daemon_limits::check() const {
  // A client that pipelines up to its in-flight limit and reads must never lose a
  // reply to the queue limit; ZeroMQ's view of what a client read lags by up to half
  // the queue limit (its low-water mark).
  if (reply_queue_limit < 2 * static_cast<int64_t>(max_client_requests))
    return "reply_queue_limit (" + std::to_string(reply_queue_limit) +
           ") must be at least twice max_client_requests (" +
           std::to_string(max_client_requests) +
           "): a client that reads its replies would lose some";
  if (max_client_streams > max_streams)
    return "max_client_streams (" + std::to_string(max_client_streams) +
           ") must not exceed max_streams (" + std::to_string(max_streams) + ")";
  return "";
}

uint64_t raise_descriptor_limit(const daemon_limits& limits) {
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0)
    throw protocol::error(protocol::errc::config_error,
                          std::string("getrlimit: ") + std::strerror(errno));
  if (rl.rlim_cur < rl.rlim_max) {
    rlimit raised = rl;
    raised.rlim_cur = rl.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &raised) == 0)
      rl = raised;
  }
  uint64_t have = rl.rlim_cur == RLIM_INFINITY ? UINT64_MAX : rl.rlim_cur;
  uint64_t need = limits.descriptor_budget();
  if (need > have)
    throw protocol::error(
        protocol::errc::config_error,
        "the settings need up to " + std::to_string(need) +
            " file descriptors (max_clients " + std::to_string(limits.max_clients) +
            " on each of the two request sockets, max_subscribers " +
            std::to_string(limits.max_subscribers) + ", a quarter more, and " +
            std::to_string(daemon_limits::reserved_descriptors) +
            " of the daemon's own), but the limit is " + std::to_string(have) +
            " (ulimit -n; the hard limit " +
            (rl.rlim_max == RLIM_INFINITY ? std::string("unlimited")
                                          : std::to_string(rl.rlim_max)) +
            "): lower them in domusd.conf or raise the limit");
  return have;
}

} // namespace domus::runtime
