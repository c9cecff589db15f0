// The tables of what a storage pool and a storage volume definition may hold (see
// schema.hpp).
#pragma once

#include "domus/model/schema.hpp"

namespace domus::model {

/// The <pool> element's rule, built once.
const elem_rule& pool_schema();

/// The <volume> element's rule, built once.
const elem_rule& volume_schema();

} // namespace domus::model
