// Completing an operation of the test driver: an empty result, an error, and a body
// whose exceptions become error completions (nothing throws across the ABI).
#pragma once

#include <domus/driver_v1.h>
#include <domus/errors.hpp>

#include <exception>
#include <string>

namespace domus::test_driver {

/// A result with nothing in it but its size.
inline domus_result_v1 blank() {
  domus_result_v1 r{};
  r.struct_size = sizeof r;
  return r;
}

/// Completes with an error.
inline void fail(domus_complete_fn done, void* user, int32_t status,
                 const std::string& message) {
  domus_result_v1 r = blank();
  r.status = status;
  r.message = message.c_str();
  done(user, &r);
}

/// Runs body; an exception becomes an error completion.
template <class F> void guarded(domus_complete_fn done, void* user, F&& body) {
  try {
    body();
  } catch (const error& e) {
    fail(done, user, static_cast<int32_t>(e.code()), e.what());
  } catch (const std::exception& e) {
    fail(done, user, DOMUS_E_INTERNAL, std::string("test driver: ") + e.what());
  }
}

} // namespace domus::test_driver
