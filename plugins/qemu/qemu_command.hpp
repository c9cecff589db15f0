// A domain definition as QEMU's command line, for the elements docs/qemu.md lists as
// applied; any other element fails with `unsupported` naming it, never ignored.
#pragma once

#include "qemu_caps.hpp"

#include <domus/model/domain_def.hpp>

#include <map>
#include <string>
#include <vector>

namespace domus::qemu_driver {

/// Where the command line finds its monitor, and where it puts what needs a place.
struct monitor_spec {
  int fd = -1;      ///< a listening socket QEMU inherits (a start)
  std::string path; ///< else a socket path QEMU listens on (domxml-to-native)
  /// Where a <channel type='unix'> without a source path gets its socket
  /// (libvirt's /var/lib/libvirt/qemu/channel/target/domain-N-NAME/).
  std::string channel_dir;
  /// Listening sockets the driver made for those channels, by target name: QEMU
  /// inherits them (-chardev socket,fd=N).
  std::map<std::string, int> channel_fds;
  /// Tap devices the driver made for bridge and ethernet interfaces, by the interface's
  /// place among the definition's interfaces (0 the first): QEMU inherits them
  /// (-netdev tap,fd=N). Without one, QEMU is asked to make the tap itself (ifname;
  /// domxml-to-native).
  std::map<int, int> tap_fds;
};

/// The target names of the <channel type='unix'> without a source path: the sockets a
/// start makes in monitor_spec::channel_dir.
std::vector<std::string> driver_made_channels(const model::domain_def& def);

/// The port a VNC display of `def` listens on: its port attribute, 0 with autoport (a
/// start allocates one and writes it in with set_vnc_port), -1 without a VNC display.
int vnc_port(const model::domain_def& def);
/// Writes the port a start allocated into the definition (port, autoport kept).
void set_vnc_port(model::domain_def& def, int port);
/// Whether `def` has a virtio memory balloon (whose actual size `info` reports).
bool has_balloon(const model::domain_def& def);

/// The VNC password of `def` (graphics passwd), empty when none: set over QMP after
/// QEMU runs, never on its command line.
std::string vnc_password(const model::domain_def& def);

/// The command line, argv[0] the emulator. `kvm`: accelerate with KVM (type kvm), else
/// TCG. Throws domus::error: unsupported (an element not applied, naming it and its
/// line), invalid_argument (a value QEMU cannot take, naming it).
std::vector<std::string> build_argv(const model::domain_def& def, const qemu_caps& caps,
                                    const monitor_spec& monitor, bool kvm);

/// A bridge or ethernet interface, for the tap device a start makes for it.
struct tap_nic {
  int place;          ///< among the definition's interfaces, 0 the first
  std::string name;   ///< the tap's name the definition asks for; empty: vnetN
  std::string mac;    ///< the guest's MAC
  std::string bridge; ///< the bridge to attach it to (type bridge)
  bool vnet_hdr;      ///< a virtio NIC: the tap carries virtio-net headers
};
std::vector<tap_nic> tap_nics(const model::domain_def& def);
/// Writes the tap's name a start made into the interface's <target dev>.
void set_tap_name(model::domain_def& def, int place, const std::string& name);
/// An interface's <source bridge>, empty when none.
std::string bridge_of(const model::xml_node& interface);

/// The environment QEMU runs with ("K=V" each): nothing of the daemon's.
const std::vector<std::string>& qemu_environment();

/// The environment and command line as one shell line (`virsh domxml-to-native
/// qemu-argv`): each word that holds a character a shell would read single-quoted.
std::string shell_line(const std::vector<std::string>& env,
                       const std::vector<std::string>& argv);

/// A value in a QEMU option list: each ',' doubled.
std::string option_value(const std::string& value);

/// The files a definition's disks open, writable or not (for the checks before a
/// start: each exists and can be opened so).
struct disk_file {
  std::string path;
  std::string target; ///< the disk's target dev, for errors
  bool read_only = false;
  bool shareable = false; ///< <shareable/>: other domains may write it too
};
std::vector<disk_file> disk_files(const model::domain_def& def);

} // namespace domus::qemu_driver
