#include "qemu_img.hpp"

#include <algorithm>
#include <array>
#include <limits>

namespace domus::dir_backend {
namespace {

// The backing formats a dir pool's qcow2 volume may name: those the probe reads.
constexpr std::array<const char*, 8> backing_formats = {"raw",  "qcow2", "qcow", "qed",
                                                        "vmdk", "vdi",   "vpc",  "luks"};

void check_capacity(uint64_t capacity) {
  if (capacity == 0 ||
      capacity > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
    throw qemu_img_error("a qcow2 volume's capacity must be 1 to 2^63-1 bytes, not " +
                         std::to_string(capacity));
}

} // namespace

std::vector<std::string> qcow2_create_argv(const std::string& qemu_img, int fd,
                                           const qcow2_spec& spec) {
  if (fd < 0)
    throw qemu_img_error("qemu-img: no descriptor for the new volume");
  if (spec.compat != "0.10" && spec.compat != "1.1")
    throw qemu_img_error("qcow2 compat '" + spec.compat + "' is not 0.10 or 1.1");
  if (spec.compat == "0.10" && (spec.lazy_refcounts || spec.extended_l2))
    throw qemu_img_error(std::string("qcow2 compat 0.10 has no ") +
                         (spec.lazy_refcounts ? "lazy_refcounts" : "extended_l2") +
                         " (it needs compat 1.1)");
  check_capacity(spec.capacity);
  std::vector<std::string> argv = {qemu_img, "create", "-q", "-f", "qcow2"};
  if (!spec.backing_path.empty()) {
    // An absolute path: qemu would read "json:{...}" or "nbd:..." as a protocol, and
    // resolve a relative one against the new image's directory.
    if (spec.backing_path.front() != '/')
      throw qemu_img_error("the backing volume's path '" + spec.backing_path +
                           "' is not absolute");
    for (unsigned char c : spec.backing_path)
      if (c < 0x20 || c == 0x7f)
        throw qemu_img_error("the backing volume's path holds a control byte");
    if (std::none_of(backing_formats.begin(), backing_formats.end(),
                     [&](const char* f) { return spec.backing_format == f; }))
      throw qemu_img_error("backing format '" + spec.backing_format +
                           "' is not one of raw, qcow2, qcow, qed, vmdk, vdi, vpc, luks");
    argv.insert(argv.end(), {"-u", "-b", spec.backing_path, "-F", spec.backing_format});
  }
  // Every value here is Domus's own (no user text), so no ',' needs qemu's ",," escape.
  std::string options = "compat=" + spec.compat;
  if (spec.prealloc_metadata)
    options += ",preallocation=metadata";
  if (spec.lazy_refcounts)
    options += ",lazy_refcounts=on";
  if (spec.extended_l2)
    options += ",extended_l2=on";
  argv.insert(argv.end(), {"-o", options, "/dev/fd/" + std::to_string(fd),
                           std::to_string(spec.capacity)});
  return argv;
}

std::vector<std::string> convert_argv(const std::string& qemu_img, int from,
                                      const std::string& from_format, int to,
                                      const std::string& to_format) {
  if (from < 0 || to < 0 || from == to)
    throw qemu_img_error("qemu-img: no descriptors for the copy");
  if (std::none_of(backing_formats.begin(), backing_formats.end(),
                   [&](const char* f) { return from_format == f; }))
    throw qemu_img_error("cannot copy from format '" + from_format +
                         "' (raw, qcow2, qcow, qed, vmdk, vdi, vpc, luks)");
  std::vector<std::string> argv = {qemu_img, "convert", "-q", "-f", from_format};
  if (to_format == "qcow2")
    argv.insert(argv.end(), {"-O", "qcow2", "-o", "compat=1.1"});
  else if (to_format == "raw")
    argv.insert(argv.end(), {"-O", "raw"});
  else
    throw qemu_img_error("cannot copy into format '" + to_format + "' (raw, qcow2)");
  argv.insert(argv.end(),
              {"/dev/fd/" + std::to_string(from), "/dev/fd/" + std::to_string(to)});
  return argv;
}

std::vector<std::string> qcow2_resize_argv(const std::string& qemu_img, int fd,
                                           uint64_t capacity, bool shrink) {
  if (fd < 0)
    throw qemu_img_error("qemu-img: no descriptor for the volume to resize");
  check_capacity(capacity);
  std::vector<std::string> argv = {qemu_img, "resize", "-q", "-f", "qcow2"};
  if (shrink)
    argv.push_back("--shrink");
  argv.insert(argv.end(), {"/dev/fd/" + std::to_string(fd), std::to_string(capacity)});
  return argv;
}

} // namespace domus::dir_backend
