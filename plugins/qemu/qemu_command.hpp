// A domain definition as QEMU's command line, for the elements docs/qemu.md lists as
// applied; any other element fails with `unsupported` naming it, never ignored.
#pragma once

#include "qemu_caps.hpp"

#include <domus/model/domain_def.hpp>

#include <string>
#include <vector>

namespace domus::qemu_driver {

/// Where the command line finds its monitor.
struct monitor_spec {
  int fd = -1;      ///< a listening socket QEMU inherits (a start)
  std::string path; ///< else a socket path QEMU listens on (domxml-to-native)
};

/// The command line, argv[0] the emulator. `kvm`: accelerate with KVM (type kvm), else
/// TCG. Throws domus::error: unsupported (an element not applied, naming it and its
/// line), invalid_argument (a value QEMU cannot take, naming it).
std::vector<std::string> build_argv(const model::domain_def& def, const qemu_caps& caps,
                                    const monitor_spec& monitor, bool kvm);

/// A value in a QEMU option list: each ',' doubled.
std::string option_value(const std::string& value);

/// The files a definition's disks open, writable or not (for the checks before a
/// start: each exists and can be opened so).
struct disk_file {
  std::string path;
  std::string target; ///< the disk's target dev, for errors
  bool read_only = false;
};
std::vector<disk_file> disk_files(const model::domain_def& def);

} // namespace domus::qemu_driver
