#include "faults.hpp"

#include <domus/errors.hpp>

#include <cstdlib>
#include <sstream>

namespace domus::test_driver {

fault_plan fault_plan::from_environment() {
  fault_plan plan;
  const char* env = std::getenv("DOMUS_TEST_DRIVER_FAULTS");
  if (!env || !*env)
    return plan;
  std::stringstream all(env);
  std::string item;
  while (std::getline(all, item, ',')) {
    auto a = item.find(':');
    auto b = a == std::string::npos ? a : item.find(':', a + 1);
    std::string action = b == std::string::npos ? "" : item.substr(a + 1, b - a - 1);
    if (b == std::string::npos || (action != "fail" && action != "hang"))
      throw domus::error(domus::errc::config_error,
                         "DOMUS_TEST_DRIVER_FAULTS: '" + item +
                             "' is not OPERATION:fail|hang:DOMAIN");
    plan.entries.push_back({item.substr(0, a), item.substr(b + 1),
                            action == "fail" ? fault::fail : fault::hang});
  }
  return plan;
}

fault fault_plan::lookup(const std::string& op, const std::string& name) const {
  for (auto& e : entries)
    if (e.op == op && (e.domain == "*" || e.domain == name))
      return e.action;
  return fault::none;
}

} // namespace domus::test_driver
