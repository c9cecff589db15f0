// What a domain is, as its actor announces it, its supervisor restarts it from, and its
// status file records. CAF-free: actors/messages.hpp makes it a message.
#pragma once

#include <domus/driver_v1.h>

#include <cstdint>
#include <memory>
#include <string>

namespace domus::model {
struct domain_def;
}

namespace domus::runtime {

/// What a domain reports to its instance whenever its summary changes; also what the
/// supervisor restarts it from.
struct domain_summary {
  std::string name;
  std::string uuid;
  int32_t id = -1;
  int32_t state = DOMUS_STATE_SHUTOFF;
  int32_t reason = DOMUS_REASON_UNKNOWN;
  bool persistent = true;
  bool autostart = false;
  domus_dom* dom = nullptr;
  std::shared_ptr<const model::domain_def> persistent_def;
  std::shared_ptr<const model::domain_def> live_def;
  std::string private_data;
};

} // namespace domus::runtime
