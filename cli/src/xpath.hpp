// dumpxml --xpath: the nodes an XPath expression selects, printed as virsh prints them.
#pragma once

#include <string>
#include <vector>

namespace domus::cli {

/// Each node `expr` selects in `xml` on its own line (elements serialized, attributes as
/// ` name="value"`, text as is), or with `wrap` all of them inside one <nodes> element.
/// Throws std::runtime_error naming the expression when it is invalid or selects no
/// node set (count(), string()).
std::string xpath_select(const std::string& xml, const std::string& expr, bool wrap);

/// For each node `nodes` selects in `xml`, the string value of each of `fields`
/// evaluated from that node ("string(target/@dev)"), as virsh reads domblklist's rows.
std::vector<std::vector<std::string>>
xpath_records(const std::string& xml, const std::string& nodes,
              const std::vector<std::string>& fields);

} // namespace domus::cli
