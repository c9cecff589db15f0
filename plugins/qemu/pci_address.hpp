// What the PCI address assignment of pc (qemu_pci.cpp) and q35 (qemu_pcie.cpp) machines
// share: reading a device element and writing its <address type='pci'>.
#pragma once

#include <domus/model/xml_tree.hpp>

#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace domus::qemu_driver::pci {

/// Whether `n` is an element named `name`.
inline bool is(const model::xml_node& n, std::string_view name) {
  return !n.is_text && n.name == name;
}

/// The attribute's value, "" when absent (or `n` null).
inline std::string attr_or(const model::xml_node* n, std::string_view name) {
  const std::string* v = n ? n->attr(name) : nullptr;
  return v ? *v : std::string();
}

/// A number (decimal or 0x hex) up to 0xffff, -1 when empty or anything else.
long number(const std::string& v);

/// Writes `d`'s <address type='pci' domain='0x0000' bus= slot= function=> at its place
/// (replacing any), with multifunction='on' when asked.
void write_address(model::xml_node& d, long bus, long slot, long function,
                   bool multifunction = false);

/// The devices `wanted` picks, in libvirt's order of assignment: PCI controllers, NICs,
/// sound cards, other controllers, virtio disks, the balloon, RNGs, watchdogs, videos,
/// inputs (each kind in document order).
std::vector<model::xml_node*>
in_assignment_order(model::xml_node& devices,
                    const std::function<bool(const model::xml_node&)>& wanted);

} // namespace domus::qemu_driver::pci
