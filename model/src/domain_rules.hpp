// The rules of a domain that a schema cannot say: required values, cross-references,
// uniqueness, and libvirt's generic normalizations (bus from a disk's name, ranges of
// vcpusched split per vCPU, a graphics listen address as a <listen> element).
#pragma once

#include "domus/model/device_def.hpp"
#include "domus/model/xml_tree.hpp"

#include <optional>
#include <string_view>

namespace domus::model {

/// Checks and normalizes a <domain> tree that has passed conform(). `input` applies what
/// libvirt does to input only (disks ordered by bus as written). Throws domus::error
/// as "ORIGIN:LINE: PATH: message".
void check_domain(xml_node& root, std::string_view origin, bool input);

/// Where libvirt puts a disk of a drive bus (ide, scsi, fdc, sata) from its name's
/// index (disk_name_index); nullopt for other buses or no index.
struct drive_address {
  long controller, bus, unit;
};
std::optional<drive_address> drive_address_of(std::string_view bus, long index);

/// Controllers without an index get the lowest one their type does not use (a PCI root
/// is always 0), at parse as libvirt does, before any driver looks for a controller by
/// index (implied_devices.cpp).
void controller_indexes(xml_node& devices);

} // namespace domus::model
