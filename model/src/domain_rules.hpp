// The rules of a domain that a schema cannot say: required values, cross-references,
// uniqueness, and libvirt's generic normalizations (bus from a disk's name, ranges of
// vcpusched split per vCPU, a graphics listen address as a <listen> element).
#pragma once

#include "domus/model/device_def.hpp"
#include "domus/model/xml_tree.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace domus::model {

/// Checks and normalizes a <domain> tree that has passed conform(). `input` applies what
/// libvirt does to input only (disks ordered by bus as written). Throws domus::error
/// as "ORIGIN:LINE: PATH: message". Then validates it (validate_domain), the findings
/// of a stored definition going to `warnings`.
void check_domain(xml_node& root, std::string_view origin, bool input,
                  std::vector<std::string>& warnings);

/// libvirt's validation rules beyond the tree's shape (domain_validation.cpp): for
/// `input` (define, create, edit) a finding is refused as "ORIGIN:LINE: PATH: message";
/// for a stored definition or status file it is appended to `warnings` in the same
/// form, and the definition loads: a rule added by an upgrade never makes a domain
/// vanish.
void validate_domain(const xml_node& root, std::string_view origin, bool input,
                     std::vector<std::string>& warnings);

/// Where libvirt puts a disk of a drive bus (ide, scsi, fdc, sata) from its name's
/// index (disk_name_index); nullopt for other buses or no index.
struct drive_address {
  long controller, bus, unit;
};
std::optional<drive_address> drive_address_of(std::string_view bus, long index);

/// The attribute `name` of `n` as a number (decimal or 0x hex), or -1 when `n` or the
/// attribute is absent, not a number, or past 2^31 (the schema checked the syntax).
long attr_number(const xml_node* n, std::string_view name);

/// Controllers without an index get the lowest one their type does not use (a PCI root
/// is always 0), at parse as libvirt does, before any driver looks for a controller by
/// index (implied_devices.cpp).
void controller_indexes(xml_node& devices);

/// Puts the controllers in libvirt's order (controller_order.cpp): each type together,
/// in the order types first appear, sorted by index, ties and controllers without an
/// index (after their type's others) as written. The controllers' places among
/// <devices>' children stay the controllers'.
void order_controllers(xml_node& devices);

} // namespace domus::model
