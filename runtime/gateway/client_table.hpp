// What the gateway knows of each client connection: how many of its requests are in
// flight (bounded by max_client_requests) and how many replies to it were not sent
// because it does not read them (logged once when that starts and summarized once when
// it ends, never a line per reply). Loop thread only; no CAF, no ZeroMQ.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <unordered_map>

namespace domus::runtime {

class client_table {
public:
  using clock_type = std::chrono::steady_clock;
  /// Writes a log line (the gateway's log_warning; a test's collector).
  using log_fn = std::function<void(const std::string&)>;

  client_table(uint32_t max_in_flight, log_fn log)
      : max_(max_in_flight), log_(std::move(log)) {}

  /// A client: the socket it is on (a small number) and its ZeroMQ routing id.
  struct key {
    int sock;
    std::string routing_id;
    bool operator==(const key& o) const {
      return sock == o.sock && routing_id == o.routing_id;
    }
  };

  /// Counts a request in flight for the client; false when it already has
  /// max_in_flight (the request is then refused, not counted).
  bool admit(const key& k);
  /// A request of the client was answered (or failed).
  void done(const key& k);
  /// A reply to the client was not sent: its queue is full (it does not read) or it is
  /// gone. The first of a run is logged; the rest counted for its summary.
  void not_sent(const key& k, const std::string& why);
  /// Ends runs of replies not sent that saw none for `quiet` with their summary line (a
  /// run that goes on is summarized once a minute), and forgets clients with nothing in
  /// flight that have been quiet as long (a client that vanished leaves no trace).
  void sweep(clock_type::time_point now,
             std::chrono::seconds quiet = std::chrono::seconds(5));

  uint32_t in_flight(const key& k) const;
  size_t size() const { return clients_.size(); }
  uint32_t max_in_flight() const { return max_; }

  /// How a routing id is shown in the log: hex.
  static std::string shown(const std::string& routing_id);

private:
  struct hash {
    size_t operator()(const key& k) const {
      return std::hash<std::string>()(k.routing_id) * 31 + static_cast<size_t>(k.sock);
    }
  };
  struct client {
    uint32_t in_flight = 0;
    uint64_t not_sent = 0;                ///< in the current run
    std::string why;                      ///< of the current run
    clock_type::time_point last{};        ///< of anything
    clock_type::time_point run_started{}; ///< or last summarized
    clock_type::time_point last_not_sent{};
  };
  void summarize(const key& k, client& c, bool ended);

  uint32_t max_;
  log_fn log_;
  std::unordered_map<key, client, hash> clients_;
};

} // namespace domus::runtime
