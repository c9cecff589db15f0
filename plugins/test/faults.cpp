#include "faults.hpp"

#include "completion.hpp"
#include "test_state.hpp"

#include <array>
#include <string_view>

namespace domus::test_driver {

namespace {
// The driver operations that consult the plan (test_driver.cpp and test_pool.cpp call
// injected()); the pool operations name a pool, the others a domain.
constexpr std::array<std::string_view, 12> operations{
    "start",        "shutdown",   "reboot",      "destroy",
    "suspend",      "resume",     "undefine",    "pool_start",
    "pool_destroy", "pool_build", "pool_delete", "pool_refresh"};
} // namespace

bool is_fault_operation(const std::string& op) {
  for (auto o : operations)
    if (op == o)
      return true;
  return false;
}

bool is_pool_fault_operation(const std::string& op) {
  return is_fault_operation(op) && op.compare(0, 5, "pool_") == 0;
}

std::string fault_operations() {
  std::string out;
  for (auto o : operations)
    out += (out.empty() ? "" : ", ") + std::string(o);
  return out;
}

fault fault_plan::lookup(const std::string& op, const std::string& name) const {
  for (auto& e : entries)
    if (e.op == op && (e.domain == "*" || e.domain == name))
      return e.action;
  return fault::none;
}

bool injected_fault(domus_instance& inst, const std::string& op, const char* kind,
                    const std::string& name, domus_complete_fn done, void* user) {
  switch (inst.faults.lookup(op, name)) {
  case fault::none:
    return false;
  case fault::fail:
    fail(done, user, DOMUS_E_OPERATION_FAILED,
         "injected failure of " + op + " on " + kind + " '" + name +
             "' (test:fault in the node file)");
    return true;
  case fault::hang: {
    std::lock_guard<std::mutex> lock(inst.hung.mutex);
    inst.hung.calls.emplace_back(done, user);
    return true;
  }
  }
  return false;
}

} // namespace domus::test_driver
