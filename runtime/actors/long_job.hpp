// A long-running job of one domain (a dump; volume transfers and block jobs later): it
// runs beside the domain's queue of changes instead of holding it, reports progress,
// can be aborted, and holds the domain against the changes that would conflict with it
// (docs/architecture.md, "Long-running jobs"). No CAF here: the domain actor owns one
// at a time and makes its driver call.
#pragma once

#include "gateway/rpc.hpp"

#include <chrono>
#include <cstdint>
#include <string>

namespace domus::runtime {

struct long_job {
  using clock = std::chrono::steady_clock;

  rpc request;          ///< its caller, answered when the driver completes it
  std::string title;    ///< for messages: "dump of domain 'web1' to /var/tmp/web1.core"
  uint64_t call_id = 0; ///< its driver call (pending_calls)
  clock::time_point since{};
  uint64_t processed = 0; ///< bytes, as the driver last reported
  uint64_t total = 0;     ///< 0: not known yet
  /// Who aborted it ("domain.jobabort", "domain.destroy", "the daemon stopping"); empty
  /// while it runs. Its caller then hears `abort_code`.
  std::string aborted_by;
  protocol::errc abort_code = protocol::errc::aborted;

  /// "domain.dump"
  std::string_view proc() const;
  uint64_t elapsed_ms(clock::time_point now = clock::now()) const;

  /// Whether `p` may run beside it: queries always; of the changes, only those that
  /// leave what it reads alone (a redefinition, autostart, a console) or end it (a
  /// destroy, which aborts it first).
  static bool allows(protocol::proc p);

  /// Why `refused` waits no turn: "domain 'web1' is busy: 'domain.dump' runs beside
  /// its changes (34%, 2.1 s); only destroy, define, autostart and open-console run
  /// beside it (domain.jobabort aborts it)".
  std::string busy_message(const std::string& domain, protocol::proc refused,
                           clock::time_point now = clock::now()) const;

  /// domain.jobinfo's `job`: {proc, elapsed_ms, waiting, long: true, processed,
  /// total, aborted_by?}.
  protocol::json info(size_t waiting, clock::time_point now = clock::now()) const;
};

} // namespace domus::runtime
