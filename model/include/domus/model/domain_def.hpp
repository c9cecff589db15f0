// The domain model: a libvirt domain definition checked against the domain schema
// (domain_schema.cpp), normalized as libvirt normalizes it, with the values the runtime
// and drivers use at hand as typed fields.
#pragma once

#include "domus/model/uuid.hpp"
#include "domus/model/xml_tree.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace domus::model {

/// The values of a definition the runtime and drivers use, typed.
struct domain_fields {
  std::string type; ///< <domain type=...>: the hypervisor type
  std::string name;
  std::optional<model::uuid> uuid; ///< absent until normalized when the input had none
  uint64_t memory_kib = 0;         ///< <memory>, maximum memory
  uint64_t current_memory_kib = 0; ///< <currentMemory>; 0 until normalized when absent
  uint32_t vcpus = 1;              ///< <vcpu>, the maximum
  std::optional<uint32_t> vcpus_current; ///< <vcpu current=...>
  std::string os_type;                   ///< <os><type>
  std::string os_arch;                   ///< <os><type arch=...>
  std::string os_machine;                ///< <os><type machine=...>

  /// The vCPUs the guest has now: current when given, else the maximum.
  uint32_t vcpus_now() const { return vcpus_current.value_or(vcpus); }
  /// The UUID, dashed lower case; "" when absent.
  std::string uuid_string() const;
};

/// What a compacted definition releases, in one allocation.
struct domain_tree {
  /// The whole definition, checked and in libvirt's order, unknown nodes kept after the
  /// known children of their parent. The typed fields win over it when formatted.
  xml_node root;
  /// The kept nodes outside the schema, "LINE: PATH" each (refused by strict parsing).
  std::vector<std::string> unknown;
  /// What validation found in a stored definition, "ORIGIN:LINE: PATH: message" each
  /// (refused in a new one): for the loader to report.
  std::vector<std::string> warnings;
};

/// A domain definition: the typed fields and the whole tree, or, once compacted, the
/// typed fields and the text the tree formats to. Copies copy the tree.
struct domain_def : domain_fields {
  domain_def() = default;
  domain_def(const domain_def& other);
  domain_def& operator=(const domain_def& other);
  domain_def(domain_def&&) noexcept = default;
  domain_def& operator=(domain_def&&) noexcept = default;
  ~domain_def() = default;

  /// The tree; null when compacted (idle domains keep hundreds of bytes less).
  std::unique_ptr<domain_tree> tree;
  /// Set by compacted(): what format_domain() wrote of this definition (secrets kept),
  /// which it then returns as is; `tree` is null.
  std::string text;
  /// Set by compacted() when the definition holds secrets: the text without them.
  std::string public_text;

  /// Whether the tree was released (see compacted()).
  bool compact() const { return !text.empty(); }
  /// The root element; an empty element when there is no tree.
  const xml_node& root() const;
  /// The same, to change it; a tree is made when there is none.
  xml_node& root();
  /// The kept nodes outside the schema; none when there is no tree.
  const std::vector<std::string>& unknown() const;
  /// What validation found in a stored definition (domain_tree::warnings); none when
  /// there is no tree.
  const std::vector<std::string>& warnings() const;
};

/// Whose document a parse reads.
enum class parse_mode : int {
  input = 1, ///< a user's document: checked and normalized as libvirt normalizes input
  strict, ///< the same, refusing elements and attributes outside the schema (--validate)
  stored, ///< Domus's own output read back (from a driver, a status file): checked,
          ///< and libvirt's input-only reordering (disks by bus) is not redone
};

/// Parses and validates a definition. `origin` names the source in errors ("web1.xml" or
/// "<request>"); errors read "ORIGIN:LINE: /domain/memory: unknown unit 'GB2' (...)" and
/// throw domus::error(xml_error), or invalid_name for a bad name.
domain_def parse_domain(std::string_view xml, std::string_view origin,
                        parse_mode mode = parse_mode::input,
                        const xml_limits& limits = {});

/// Same, from an already parsed root element.
domain_def parse_domain(xml_node root, std::string_view origin,
                        parse_mode mode = parse_mode::input);

/// The generic normalization every driver gets: a missing UUID generated, currentMemory
/// defaulted to (and capped at) memory, vcpu current dropped when equal to the maximum.
void normalize(domain_def& def);

/// libvirt's generic device defaults (implied_devices.cpp): controller indexes, drive
/// addresses, a CD-ROM read-only, the controllers disks, virtio consoles and channels
/// and smartcards imply (appended after the others), serial and parallel ports, the
/// first serial's console, the primary video and its sizes (its model too for `test`
/// and `xen` domains). A driver's own defaults that libvirt applies before these (a
/// machine's USB controller and PCI root) come first: the runtime applies these after
/// the driver's normalize hook, which may apply them itself at its point. Idempotent.
void add_implied_devices(domain_def& def);

/// The same definition holding only its typed fields and formatted text: about a tenth
/// of the memory of the tree, for definitions held long and no longer changed (what an
/// idle domain keeps). Formatting it returns that text; a change of its typed fields is
/// not formatted, so change expanded() copies instead.
domain_def compacted(const domain_def& def);

/// The full definition of a compacted one (its text parsed again); a full one unchanged.
domain_def expanded(const domain_def& def);

/// Whether a formatted definition keeps the attributes the schema marks secret (graphics
/// passwords). Every caller says which: files and drivers keep them, what a client reads
/// keeps them only for dumpxml --security-info on the read-write socket.
enum class secrets : int { omit = 1, keep };

/// How many bytes format_domain() writes for the definition, without formatting it
/// (within a few bytes: the typed fields are counted as the tree holds them).
uint64_t formatted_size(const domain_def& def);

/// Formats a definition in libvirt's element order. `id` is written on an active domain's
/// live definition.
std::string format_domain(const domain_def& def, secrets which,
                          std::optional<int> id = std::nullopt);

} // namespace domus::model
