// The mock storage pools, as libvirt's test driver keeps them: in memory, with the
// sizes its mock gives every pool it defines (100 GiB, nothing allocated), started and
// stopped without touching the host; building or deleting their storage does nothing,
// and the build options libvirt's mock refuses are refused.
#pragma once

#include "test_state.hpp"

#include <memory>
#include <string>

namespace domus::test_driver {

/// The pool operation table.
const domus_pool_ops_v1& pool_ops();

/// A pool the instance starts with (default-pool, a node file's): its definition as
/// the seed has it, sizes included; nullptr when it does not parse (the runtime, which
/// reads it too, then skips it and says why).
std::unique_ptr<domus_pool> seed_pool(const std::string& xml, int32_t state,
                                      const std::string& origin);

} // namespace domus::test_driver
