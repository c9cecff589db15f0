// The mock storage pools and volumes, as libvirt's test driver keeps them: in memory,
// with the sizes its mock gives every pool it defines (100 GiB, nothing allocated, less
// what its volumes allocate), started and stopped without touching the host; building
// or deleting their storage does nothing, the build options libvirt's mock refuses are
// refused, and so are a volume's resize and wipe.
#pragma once

#include "test_state.hpp"

#include <memory>
#include <string>

namespace domus::test_driver {

/// The pool and volume operation tables.
const domus_pool_ops_v1& pool_ops();
const domus_volume_ops_v1& volume_ops();

/// A pool the instance starts with (default-pool, a node file's, `obj`): its definition
/// as the seed has it, sizes included, and its volumes; nullptr when it does not parse
/// (the runtime, which reads it too, then skips it and says why).
std::unique_ptr<domus_pool> seed_pool(const seed_object& obj);

} // namespace domus::test_driver
