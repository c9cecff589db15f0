// pool-define-as and pool-create-as: the pool definition virsh builds from their
// options (the elements each option makes, in virsh's order), which --print-xml shows
// and the daemon then reads as any definition.
#pragma once

#include "command_table.hpp"

#include <string>
#include <vector>

namespace domus::cli {

/// The options both commands take, after NAME and TYPE (virsh's names and help).
std::vector<option_spec> pool_as_options();

/// The definition the options of `pc` describe.
std::string pool_xml_from_options(const parsed_command& pc);

} // namespace domus::cli
