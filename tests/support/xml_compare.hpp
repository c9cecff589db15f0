// Comparing Domus's XML with libvirt's: the canonical comparison of the conformance tests
// (whitespace and attribute order ignored, element order significant) and RelaxNG checks.
#pragma once

#include <domus/model/xml_tree.hpp>

#include <optional>
#include <string>

namespace domus::testing {

/// Whether `ours` is contained in `theirs`: every element of ours matches one of theirs
/// in the same order under the same parent, with the same attribute values and text;
/// theirs may hold more (the defaults of a driver ours did not apply). nullopt when it
/// is, else where it is not.
std::optional<std::string> not_contained(const model::xml_node& ours,
                                         const model::xml_node& theirs);

/// Whether two documents are the same after canonicalization: element names and order,
/// attribute sets (their order ignored), and text (the whitespace around it ignored).
/// nullopt when they are, else the first place they differ.
std::optional<std::string> differs(const model::xml_node& ours,
                                   const model::xml_node& theirs);

/// Whether everything the user wrote came back: every element path of `input` occurs at
/// least as often in `output`, and every attribute name it has there too, unless
/// libvirt's output (`theirs`) drops it as well. nullopt when so, else what is missing.
std::optional<std::string> not_covered(const model::xml_node& input,
                                       const model::xml_node& output,
                                       const model::xml_node& theirs);

/// The RelaxNG errors of `xml` against the schema file; "" when it is valid.
std::string relaxng_errors(const std::string& schema_path, const std::string& xml);

} // namespace domus::testing
