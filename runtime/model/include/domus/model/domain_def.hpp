// The domain model: what Domus understands of a libvirt domain definition, plus every
// element and attribute it does not model, kept in order and written back.
#pragma once

#include "domus/model/uuid.hpp"
#include "domus/model/xml_tree.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace domus::model {

/// A domain definition.
struct domain_def {
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

  // What the model does not know, kept verbatim.
  std::vector<xml_attr> domain_attrs;  ///< other <domain> attributes (xmlns:...)
  std::vector<xml_attr> memory_attrs;  ///< other <memory> attributes (dumpCore)
  std::vector<xml_attr> vcpu_attrs;    ///< other <vcpu> attributes (placement, cpuset)
  std::vector<xml_attr> os_type_attrs; ///< other <os><type> attributes
  std::vector<xml_attr> os_attrs;      ///< <os> attributes (firmware)
  std::vector<xml_node> os_children;   ///< <os> children other than <type>
  std::vector<xml_node> children;      ///< every other child of <domain>

  /// The vCPUs the guest has now: current when given, else the maximum.
  uint32_t vcpus_now() const { return vcpus_current.value_or(vcpus); }
  /// The UUID, dashed lower case; "" when absent.
  std::string uuid_string() const;
};

/// Parses and validates a definition. `origin` names the source in errors ("web1.xml" or
/// "<request>"); errors read "ORIGIN:LINE: /domain/memory: unknown unit 'GB2' (...)" and
/// throw protocol::error(xml_error), or invalid_name for a bad name.
domain_def parse_domain(std::string_view xml, std::string_view origin);

/// Same, from an already parsed root element.
domain_def parse_domain(const xml_node& root, std::string_view origin);

/// The generic normalization every driver gets: a missing UUID generated, currentMemory
/// defaulted to (and capped at) memory, vcpu current dropped when equal to the maximum.
void normalize(domain_def& def);

/// Formats a definition in libvirt's element order. `id` is written on an active domain's
/// live definition.
std::string format_domain(const domain_def& def, std::optional<int> id = std::nullopt);

} // namespace domus::model
