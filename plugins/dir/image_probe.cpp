#include "image_probe.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <limits>
#include <system_error>

namespace domus::dir_backend {
namespace {

// qcow2's limits, as QEMU enforces them (block/qcow2.h): clusters of 512 bytes to 2 MiB,
// a backing name of at most 1023 bytes inside the first cluster.
constexpr uint32_t qcow2_min_cluster_bits = 9, qcow2_max_cluster_bits = 21;
constexpr uint32_t backing_name_max = 1023;
constexpr size_t largest_head = (size_t{1} << qcow2_max_cluster_bits) + backing_name_max;

// qcow2 header extension types (QEMU's docs/interop/qcow2.txt).
constexpr uint32_t ext_end = 0, ext_backing_format = 0xe2792aca,
                   ext_data_file = 0x44415441;
// Incompatible feature bits: dirty, corrupt, external data file, compression type,
// extended L2 entries; QEMU refuses an image with a bit it does not know.
constexpr uint64_t incompat_data_file = 1u << 2, incompat_extended_l2 = 1u << 4;
constexpr uint64_t incompat_known = 0x1f;
constexpr uint64_t compat_lazy_refcounts = 1u << 0;

// The head was too short: probe again with the first `bytes` bytes.
struct need_more {
  size_t bytes;
};

// Reads fields of the head, and stops the probe when a field lies past it.
class header {
public:
  header(std::string_view head, uint64_t file_size, std::string format)
      : head_(head), file_size_(file_size), format_(std::move(format)) {}

  // Bytes [off, off + len) must be present; `region_end` is how far to read when they are
  // not (the rest of the structure they belong to), so that one more read is enough.
  void need(uint64_t off, uint64_t len, uint64_t region_end = 0) const {
    if (off + len <= head_.size())
      return;
    if (off + len > file_size_)
      throw image_error("the file ends at byte " + std::to_string(file_size_) +
                        ", inside its " + format_ + " header (which reaches byte " +
                        std::to_string(off + len) + ")");
    uint64_t want = std::max({off + len, std::min<uint64_t>(region_end, file_size_),
                              std::min<uint64_t>(file_size_, probe_head_bytes)});
    throw need_more{static_cast<size_t>(std::min<uint64_t>(want, largest_head))};
  }
  uint64_t be(uint64_t off, int bytes) const {
    need(off, bytes);
    uint64_t v = 0;
    for (int i = 0; i < bytes; ++i)
      v = v << 8 | static_cast<unsigned char>(head_[off + i]);
    return v;
  }
  uint64_t le(uint64_t off, int bytes) const {
    need(off, bytes);
    uint64_t v = 0;
    for (int i = bytes - 1; i >= 0; --i)
      v = v << 8 | static_cast<unsigned char>(head_[off + i]);
    return v;
  }
  // A name the header stores (a backing file, a format, a data file): it becomes XML and
  // a path, so a NUL or a control byte in it is an error, not something passed on.
  std::string text(uint64_t off, uint64_t len, const char* what) const {
    need(off, len);
    std::string s(head_.substr(off, len));
    for (unsigned char c : s)
      if (c < 0x20 || c == 0x7f)
        throw image_error(format_ + " header: the " + what + " holds a control byte");
    return s;
  }
  bool has(uint64_t off, std::string_view magic) const {
    return head_.size() >= off + magic.size() && head_.substr(off, magic.size()) == magic;
  }
  const std::string& format() const { return format_; }

private:
  std::string_view head_;
  uint64_t file_size_;
  std::string format_;
};

std::string hex(uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

// The size a header claims, refused when no file could have it (QEMU's limit is
// INT64_MAX bytes).
uint64_t size_field(uint64_t v, const char* format) {
  if (v > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
    throw image_error(std::string(format) + " header: virtual size " + std::to_string(v) +
                      " is larger than any image can be");
  return v;
}

// qcow2, versions 2 and 3 (QEMU's docs/interop/qcow2.txt; offsets big-endian).
image_info qcow2(const header& h, uint32_t version) {
  image_info out;
  out.format = "qcow2";
  out.compat = version == 2 ? "0.10" : "1.1";
  uint32_t bits = h.be(20, 4);
  if (bits < qcow2_min_cluster_bits || bits > qcow2_max_cluster_bits)
    throw image_error("qcow2 header: cluster_bits " + std::to_string(bits) +
                      " (QEMU takes 9 to 21)");
  uint64_t cluster = uint64_t{1} << bits;
  out.cluster_size = static_cast<uint32_t>(cluster);
  out.virtual_size = size_field(h.be(24, 8), "qcow2");
  switch (h.be(32, 4)) {
  case 0:
    break;
  case 1:
    out.encryption = "qcow";
    break;
  case 2:
    out.encryption = "luks";
    break;
  default:
    throw image_error("qcow2 header: unknown encryption method " +
                      std::to_string(h.be(32, 4)));
  }
  uint64_t header_length = 72, incompat = 0;
  if (version == 3) {
    incompat = h.be(72, 8);
    if (incompat & ~incompat_known)
      throw image_error("qcow2 header: incompatible features " +
                        hex(incompat & ~incompat_known) + " that QEMU 7.2 does not know");
    if (h.be(80, 8) & compat_lazy_refcounts)
      out.features.push_back("lazy_refcounts");
    if (incompat & incompat_extended_l2)
      out.features.push_back("extended_l2");
    header_length = h.be(100, 4);
    if (header_length < 104 || header_length > cluster)
      throw image_error("qcow2 header: header_length " + std::to_string(header_length) +
                        " (at least 104, at most the cluster size " +
                        std::to_string(cluster) + ")");
  }
  uint64_t backing_off = h.be(8, 8);
  uint32_t backing_len = h.be(16, 4);
  if (backing_off != 0) {
    if (backing_off > cluster)
      throw image_error("qcow2 header: the backing file name at byte " +
                        std::to_string(backing_off) + " lies past the first cluster (" +
                        std::to_string(cluster) + " bytes)");
    if (backing_len > backing_name_max || backing_len > cluster - backing_off)
      throw image_error("qcow2 header: a backing file name of " +
                        std::to_string(backing_len) +
                        " bytes (at most 1023, inside the first cluster)");
  }
  // Header extensions: from the header's end to the backing name (or the first
  // cluster's end), each a type, a length and data padded to 8 bytes.
  uint64_t end = backing_off != 0 ? backing_off : cluster;
  for (uint64_t off = header_length; off + 8 <= end;) {
    h.need(off, 8, end);
    uint32_t type = h.be(off, 4);
    uint64_t len = h.be(off + 4, 4);
    off += 8;
    if (type == ext_end)
      break;
    if (len > end - off)
      throw image_error("qcow2 header: extension " + hex(type) + " of " +
                        std::to_string(len) + " bytes runs past byte " +
                        std::to_string(end));
    h.need(off, len, end);
    if (type == ext_backing_format)
      out.backing_format = h.text(off, len, "backing format");
    else if (type == ext_data_file && version == 3)
      out.data_file = h.text(off, len, "external data file name");
    off += (len + 7) & ~uint64_t{7};
  }
  // The extension names a data file only while the feature bit says there is one.
  if ((incompat & incompat_data_file) == 0)
    out.data_file.clear();
  if (backing_off != 0 && backing_len != 0)
    out.backing_path = h.text(backing_off, backing_len, "backing file name");
  return out;
}

// The backing name of a qcow or qed header: at most 1023 bytes, where the probe reads.
std::string backing_name(const header& h, uint64_t off, uint64_t len) {
  if (len > backing_name_max || off > largest_head - backing_name_max)
    throw image_error(h.format() + " header: a backing file name of " +
                      std::to_string(len) + " bytes at byte " + std::to_string(off));
  return h.text(off, len, "backing file name");
}

// qcow, version 1 (QEMU's block/qcow.c; big-endian).
image_info qcow1(const header& h) {
  image_info out;
  out.format = "qcow";
  out.virtual_size = size_field(h.be(24, 8), "qcow");
  uint32_t bits = h.be(32, 1);
  if (bits < 9 || bits > 16)
    throw image_error("qcow header: cluster_bits " + std::to_string(bits) +
                      " (QEMU takes 9 to 16)");
  out.cluster_size = uint32_t{1} << bits;
  uint64_t backing_off = h.be(8, 8);
  uint32_t backing_len = h.be(16, 4);
  if (backing_off != 0)
    out.backing_path = backing_name(h, backing_off, backing_len);
  return out;
}

// QED (QEMU's block/qed.h; little-endian).
image_info qed(const header& h) {
  image_info out;
  out.format = "qed";
  out.cluster_size = static_cast<uint32_t>(h.le(4, 4));
  out.virtual_size = size_field(h.le(48, 8), "qed");
  uint64_t backing_off = h.le(56, 4);
  uint64_t backing_len = h.le(60, 4);
  if ((h.le(16, 8) & 1) != 0) // the "has a backing file" feature
    out.backing_path = backing_name(h, backing_off, backing_len);
  return out;
}

image_info probe_head(const header& h, std::string_view head, uint64_t file_size) {
  if (h.has(0, std::string_view("QFI\xfb", 4))) {
    uint32_t version = h.be(4, 4);
    if (version == 2 || version == 3)
      return qcow2(header(head, file_size, "qcow2"), version);
    if (version == 1)
      return qcow1(header(head, file_size, "qcow"));
  } else if (h.has(0, std::string_view("QED\0", 4))) {
    return qed(header(head, file_size, "qed"));
  } else if (h.has(0, "KDMV")) {
    image_info out;
    out.format = "vmdk";
    // The sparse extent's capacity, in 512-byte sectors.
    uint64_t sectors = header(head, file_size, "vmdk").le(12, 8);
    if (sectors > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) / 512)
      throw image_error("vmdk header: a capacity of " + std::to_string(sectors) +
                        " sectors is larger than any image can be");
    out.virtual_size = sectors * 512;
    return out;
  } else if (h.has(64, std::string_view("\x7f\x10\xda\xbe", 4))) {
    image_info out;
    out.format = "vdi";
    out.virtual_size = size_field(header(head, file_size, "vdi").le(368, 8), "vdi");
    return out;
  } else if (h.has(0, "conectix")) {
    image_info out;
    out.format = "vpc";
    return out;
  } else if (h.has(0, std::string_view("LUKS\xba\xbe", 6))) {
    image_info out;
    out.format = "luks";
    return out;
  } else if (h.has(32769, "CD001")) {
    image_info out;
    out.format = "iso";
    out.virtual_size = file_size;
    return out;
  } else if (head.size() < std::min<uint64_t>(file_size, probe_head_bytes)) {
    // Not every magic was looked at (iso's lies at 32,769).
    throw need_more{static_cast<size_t>(std::min<uint64_t>(file_size, probe_head_bytes))};
  }
  image_info out;
  out.virtual_size = file_size;
  return out;
}

} // namespace

probe_result probe(std::string_view head, uint64_t file_size) {
  try {
    return {probe_head(header(head, file_size, "image"), head, file_size), 0};
  } catch (const need_more& m) {
    probe_result r;
    r.more = m.bytes;
    return r;
  }
}

image_info probe_fd(int fd) {
  struct stat st {};
  if (::fstat(fd, &st) != 0)
    throw std::system_error(errno, std::generic_category(), "fstat");
  if (!S_ISREG(st.st_mode))
    throw image_error("not a regular file");
  uint64_t size = static_cast<uint64_t>(st.st_size);
  std::string head;
  size_t want = static_cast<size_t>(std::min<uint64_t>(size, probe_head_bytes));
  for (int round = 0; round < 2; ++round) {
    head.resize(want);
    size_t got = 0;
    while (got < want) {
      ssize_t n = ::pread(fd, head.data() + got, want - got, static_cast<off_t>(got));
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        throw std::system_error(errno, std::generic_category(), "pread");
      if (n == 0)
        break; // the file shrank meanwhile: probe what is there
      got += static_cast<size_t>(n);
    }
    head.resize(got);
    probe_result r = probe(head, got < want ? got : size);
    if (r.more == 0)
      return r.image;
    if (r.more <= head.size() || r.more > largest_head)
      break;
    want = r.more;
  }
  throw image_error("the header needs more than " + std::to_string(head.size()) +
                    " bytes read");
}

} // namespace domus::dir_backend
