// The dir backend's image probe: any bytes, as a whole file or as the head of a longer
// one, probe to an image or fail with image_error. Given the whole file it never asks
// for more; given a head it asks only for bytes past it that the file has; and what it
// reports of the header's names holds no control byte.
#include "image_probe.hpp"

#include <cstdint>
#include <cstdlib>

using namespace domus::dir_backend;

namespace {

bool clean(const std::string& s) {
  for (unsigned char c : s)
    if (c < 0x20 || c == 0x7f)
      return false;
  return true;
}

void check(std::string_view head, uint64_t file_size) {
  probe_result r;
  try {
    r = probe(head, file_size);
  } catch (const image_error&) {
    return;
  }
  if (r.more != 0) {
    if (head.size() == file_size || r.more <= head.size() || r.more > file_size)
      std::abort();
    return;
  }
  const image_info& i = r.image;
  if (!clean(i.backing_path) || !clean(i.backing_format) || !clean(i.data_file))
    std::abort();
  if (i.format == "raw" && i.virtual_size != file_size)
    std::abort();
}

} // namespace

int fuzz_image_probe(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  check(bytes, size);                   // the whole file
  check(bytes, uint64_t{size} + 70000); // the head of a longer one
  return 0;
}

#ifndef DOMUS_FUZZ_NO_ENTRY
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return fuzz_image_probe(data, size);
}
#endif
