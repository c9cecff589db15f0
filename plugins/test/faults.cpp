#include "faults.hpp"

#include <array>
#include <string_view>

namespace domus::test_driver {

namespace {
// The driver operations that consult the plan (test_driver.cpp calls injected()).
constexpr std::array<std::string_view, 7> operations{
    "start", "shutdown", "reboot", "destroy", "suspend", "resume", "undefine"};
} // namespace

bool is_fault_operation(const std::string& op) {
  for (auto o : operations)
    if (op == o)
      return true;
  return false;
}

fault fault_plan::lookup(const std::string& op, const std::string& name) const {
  for (auto& e : entries)
    if (e.op == op && (e.domain == "*" || e.domain == name))
      return e.action;
  return fault::none;
}

} // namespace domus::test_driver
