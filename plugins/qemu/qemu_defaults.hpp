// libvirt's QEMU driver's defaults: what `virsh define` adds to a definition on
// qemu:///system beyond what every driver adds (docs/qemu.md, "What define adds").
#pragma once

#include "qemu_caps.hpp"

#include <domus/model/domain_def.hpp>

namespace domus::qemu_driver {

/// Applies the QEMU driver's defaults to a parsed, generically normalized definition in
/// libvirt's order: the machine's concrete name, the default CPU model, the devices the
/// machine implies (USB controller, PCI root, balloon, PS/2 mouse and keyboard, audio
/// backend), then libvirt's generic implied devices (model::add_implied_devices), then
/// the device models (controllers, NICs, serial ports, video, TPM, panic, disk drivers),
/// virtio-serial ports and PCI addresses. Idempotent. Throws domus::error naming an
/// architecture or machine the emulator lacks, or a device no PCI slot is left for.
void apply_qemu_defaults(model::domain_def& def, const qemu_caps& caps);

/// Gives every PCI device of an i440fx (`pc`) machine without an address one, as
/// libvirt assigns them (qemu_pci.cpp): the PIIX3's IDE and USB at 00:01.1 and
/// 00:01.2, the primary video at 00:02.0, then PCI bridges, NICs, sound cards,
/// controllers, virtio disks, the balloon, RNGs, watchdogs and the other videos, each
/// the first free slot (bus 0, then the bridges). Throws domus::error
/// (invalid_argument) when no slot is left, naming the device.
void assign_pci_addresses(model::xml_node& devices);

/// The same for a q35 machine (qemu_pcie.cpp): the primary video at 00:01.0, every PCI
/// Express device alone behind a pcie-root-port, legacy PCI ones on a
/// pcie-to-pci-bridge, adding the root ports and the bridge they need as libvirt adds
/// them (root ports packed eight to a slot of pcie.0 from slot 2).
void assign_pcie_addresses(model::xml_node& devices);

} // namespace domus::qemu_driver
