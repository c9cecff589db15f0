#include "actors/failure_reason.hpp"

#include <caf/sec.hpp>

#include <stdexcept>
#include <string>

namespace domus::runtime {

caf::error failure_reason(std::string_view who, const std::exception_ptr& ep) {
  std::string what = "unknown exception";
  try {
    std::rethrow_exception(ep);
  } catch (const std::exception& e) {
    what = e.what();
  } catch (...) {
  }
  return caf::make_error(caf::sec::runtime_error, std::string(who) + " failed: " + what);
}

} // namespace domus::runtime
