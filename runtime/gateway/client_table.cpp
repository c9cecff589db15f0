#include "gateway/client_table.hpp"

#include <cstdio>
#include <vector>

namespace domus::runtime {

std::string client_table::shown(const std::string& routing_id) {
  std::string out = "0x";
  for (unsigned char c : routing_id) {
    char buf[3];
    std::snprintf(buf, sizeof buf, "%02x", c);
    out += buf;
  }
  return out;
}

bool client_table::admit(const key& k) {
  auto& c = clients_[k];
  c.last = clock_type::now();
  if (c.in_flight >= max_)
    return false;
  ++c.in_flight;
  return true;
}

void client_table::done(const key& k) {
  auto it = clients_.find(k);
  if (it == clients_.end())
    return;
  if (it->second.in_flight > 0)
    --it->second.in_flight;
  it->second.last = clock_type::now();
}

void client_table::not_sent(const key& k, const std::string& why) {
  auto& c = clients_[k];
  c.last = c.last_not_sent = clock_type::now();
  if (!c.why.empty()) {
    ++c.not_sent;
    return;
  }
  c.why = why;
  c.run_started = c.last;
  log_("client " + shown(k.routing_id) + ": a reply was not sent: " + why +
       "; further ones are counted and summarized");
}

void client_table::summarize(const key& k, client& c, bool ended) {
  if (c.not_sent > 0)
    log_("client " + shown(k.routing_id) + ": " + std::to_string(c.not_sent) +
         " more replies were not sent (" + c.why + ")" + (ended ? "" : "; it goes on"));
  c.not_sent = 0;
  if (ended)
    c.why.clear();
}

void client_table::sweep(clock_type::time_point now, std::chrono::seconds quiet) {
  std::vector<key> gone;
  for (auto& [k, c] : clients_) {
    if (!c.why.empty()) {
      if (now - c.last_not_sent >= quiet)
        summarize(k, c, true);
      else if (now - c.run_started >= std::chrono::minutes(1)) {
        summarize(k, c, false);
        c.run_started = now;
      }
    }
    if (c.in_flight == 0 && c.why.empty() && now - c.last >= quiet)
      gone.push_back(k);
  }
  for (auto& k : gone)
    clients_.erase(k);
}

uint32_t client_table::in_flight(const key& k) const {
  auto it = clients_.find(k);
  return it == clients_.end() ? 0 : it->second.in_flight;
}

} // namespace domus::runtime
