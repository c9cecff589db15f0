// The table of what a domain definition may hold (see schema.hpp).
#pragma once

#include "domus/model/schema.hpp"

namespace domus::model {

/// The <domain> element's rule, built once.
const elem_rule& domain_schema();

} // namespace domus::model
