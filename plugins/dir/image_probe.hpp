// What a disk image's own header says: its format, its virtual size and its backing
// file, read from the file's first bytes as libvirt's storage probe reads them, without
// a `qemu-img` process per file (a refresh of 10,000 files would take minutes). The `dir`
// pool backend reports volumes from it. No CAF, no runtime: plain functions on bytes,
// and one on an open descriptor.
//
// Formats: qcow2 (versions 2 and 3, "compat" 0.10 and 1.1: virtual size, backing file
// and its format, encryption, external data file, features) and raw (anything no magic
// matches; its virtual size is the file's size), parsed. qcow, qed, vmdk (sparse
// extents), vdi, vpc, luks and iso are recognised by their magic; the virtual size of
// qcow, qed, vmdk and vdi is read from their headers, iso's is the file's size, and vpc's
// and luks's are left unknown. A qcow2 header that claims the magic and a known version
// but is damaged (a cluster size QEMU refuses, a backing name or header extension past
// the first cluster, a size that overflows) is an error naming what is wrong, never a
// guess: QEMU would refuse the file too. A magic with a version no one defined is raw,
// as libvirt's probe has it.
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace domus::dir_backend {

/// What a header says.
struct image_info {
  std::string format =
      "raw"; ///< libvirt's name: raw, qcow2, qcow, qed, vmdk, vdi, vpc, luks, iso
  std::optional<uint64_t> virtual_size; ///< bytes; unset when the format's is not read
  std::string backing_path;   ///< as the header stores it (relative to the image's
                              ///< directory when not absolute); "" for none
  std::string backing_format; ///< the header's backing format extension; "" when absent
  std::string compat;         ///< qcow2: "0.10" (version 2) or "1.1" (version 3)
  std::string encryption;     ///< qcow2: "qcow" (AES) or "luks"; "" for none
  std::string data_file;      ///< qcow2: an external data file's name; "" for none
  std::vector<std::string>
      features;              ///< qcow2: lazy_refcounts, extended_l2 (libvirt's names)
  uint32_t cluster_size = 0; ///< qcow2, qcow, qed: bytes
};

/// A header that claims a format and breaks its rules.
class image_error : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

/// How many bytes of a file the probe reads first: every magic it knows (iso's lies at
/// 32,769) and, for files qemu-img made, the whole qcow2 header with its extensions
/// and backing name. A header that needs more says so (probe_result::more).
constexpr size_t probe_head_bytes = 64 * 1024;

/// probe()'s answer: the image, or how many bytes from the start it needs to see.
struct probe_result {
  image_info image;
  size_t more = 0; ///< nonzero: call again with the file's first `more` bytes
};

/// Probes `head`, the first bytes of a file of `file_size` bytes (all of it when the file
/// is shorter than what was asked). Throws image_error.
probe_result probe(std::string_view head, uint64_t file_size);

/// Probes the regular file open at `fd` (read with pread; the offset is unchanged),
/// reading at most what its header needs, never more than 2 MiB + 1 KiB (qcow2's largest
/// first cluster and backing name). Throws image_error, and std::system_error when the
/// file cannot be read.
image_info probe_fd(int fd);

} // namespace domus::dir_backend
