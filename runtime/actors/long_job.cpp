#include "actors/long_job.hpp"

#include "daemon/deadlines.hpp"

#include <domus/protocol/procedures.hpp>

namespace domus::runtime {

using protocol::proc;

std::string_view long_job::proc() const {
  return protocol::entry(request.proc).name;
}

uint64_t long_job::elapsed_ms(clock::time_point now) const {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(now - since).count());
}

bool long_job::allows(protocol::proc p) {
  if (!protocol::entry(p).mutating)
    return true;
  switch (p) {
  case proc::domain_destroy:
  case proc::domain_define:
  case proc::domain_autostart:
  case proc::domain_open_console:
  case proc::domain_jobabort:
    return true;
  default:
    return false;
  }
}

std::string long_job::busy_message(const std::string& domain, protocol::proc refused,
                                   clock::time_point now) const {
  std::string how = seconds_text(static_cast<uint32_t>(elapsed_ms(now)));
  if (total > 0)
    how = std::to_string(processed * 100 / total) + "%, " + how;
  return "domain '" + domain + "' is busy: '" + std::string(proc()) +
         "' runs beside its changes (" + how + "), and '" +
         std::string(protocol::entry(refused).name) +
         "' cannot run beside it; only destroy, define, autostart and open-console do "
         "(domain.jobabort aborts it)";
}

protocol::json long_job::info(size_t waiting, clock::time_point now) const {
  protocol::json j = {{"proc", proc()},         {"elapsed_ms", elapsed_ms(now)},
                      {"waiting", waiting},     {"long", true},
                      {"processed", processed}, {"total", total}};
  if (!aborted_by.empty())
    j["aborted_by"] = aborted_by;
  return j;
}

} // namespace domus::runtime
