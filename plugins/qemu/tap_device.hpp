// Tap devices for a guest's bridge and ethernet interfaces, made as libvirt makes them:
// in the daemon's network namespace, up, attached to an existing bridge, and held by
// the descriptor QEMU inherits (the kernel removes the device when QEMU is gone).
#pragma once

#include <string>

namespace domus::qemu_driver {

/// A tap device and the descriptor that holds it.
struct tap_device {
  int fd = -1;      ///< close-on-exec; QEMU inherits a duplicate
  std::string name; ///< "vnet0", or the name the definition asked for
};

/// Makes a tap device: `name` (empty: the kernel's next vnetN), with IFF_VNET_HDR when
/// `vnet_hdr` (a virtio NIC), its MAC the guest's with the first byte 0xFE (so that a
/// bridge never takes the guest's address as its own), attached to `bridge` when not
/// empty (the bridge's MTU taken), and up. Blocking; throws domus::error
/// (operation_failed) naming the device or bridge and why, leaving nothing behind.
tap_device make_tap(const std::string& name, const std::string& guest_mac,
                    const std::string& bridge, bool vnet_hdr);

} // namespace domus::qemu_driver
