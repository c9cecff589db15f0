// The command lines of Debian's `qemu-img` (qemu-utils) for a dir pool's qcow2
// volumes. The file qemu-img writes is always one the backend opened beneath the pool and
// passes down as an inherited descriptor (`/dev/fd/N`), never a path qemu-img resolves;
// a backing volume is named by the path its header keeps, and qemu-img is told not to
// open it (`-u`): the backend already knows its size and format from the probe. Running
// the command (through the host services, off the loop) is the driver's. No CAF.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace domus::dir_backend {

/// A qcow2 volume to make.
struct qcow2_spec {
  uint64_t capacity = 0;          ///< bytes (the backing volume's size when it has one)
  std::string compat = "1.1";     ///< "0.10" or "1.1"
  std::string backing_path;       ///< absolute; "" for none
  std::string backing_format;     ///< required with a backing path: raw, qcow2, ...
  bool prealloc_metadata = false; ///< vol-create --prealloc-metadata
  bool lazy_refcounts = false;    ///< <features><lazy_refcounts/>, compat 1.1 only
  bool extended_l2 = false;       ///< <features><extended_l2/>, compat 1.1 only
};

/// A volume request qemu-img cannot be asked for (a relative backing path, an unknown
/// backing format, a feature compat 0.10 lacks, ...), named.
class qemu_img_error : public std::invalid_argument {
public:
  using std::invalid_argument::invalid_argument;
};

/// The argv (argv[0] = `qemu_img`) that writes `spec` as a qcow2 image into the file open
/// at descriptor `fd` in qemu-img's process. Throws qemu_img_error.
std::vector<std::string> qcow2_create_argv(const std::string& qemu_img, int fd,
                                           const qcow2_spec& spec);

/// The argv that copies the image open at `from` (format `from_format`, one the probe
/// read) into the new file open at `to` as `to_format` (raw or qcow2, compat 1.1), as
/// vol-clone and vol-create-from do: every guest-visible byte, holes kept, a backing
/// chain flattened. Throws qemu_img_error.
std::vector<std::string> convert_argv(const std::string& qemu_img, int from,
                                      const std::string& from_format, int to,
                                      const std::string& to_format);

/// The argv that sets the virtual size of the qcow2 image open at descriptor `fd` to
/// `capacity` bytes; a smaller size only with `shrink` (qemu-img's --shrink: the data
/// past it is lost). Throws qemu_img_error.
std::vector<std::string> qcow2_resize_argv(const std::string& qemu_img, int fd,
                                           uint64_t capacity, bool shrink);

} // namespace domus::dir_backend
