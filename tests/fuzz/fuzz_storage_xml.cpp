// The storage pool and volume XML parsers and normalizers, with the daemon's default
// limits: any document is refused with an error or read; what Domus then formats reads
// back, as stored, to the same text. One input is tried as a pool and as a volume (of a
// dir pool, where volumes are files and their formats checked).
#include <domus/errors.hpp>
#include <domus/model/storage_def.hpp>

#include <cstdint>
#include <cstdlib>

using namespace domus::model;

int fuzz_storage_xml(const uint8_t* data, size_t size) {
  std::string_view doc(reinterpret_cast<const char*>(data), size);
  const xml_limits limits{1u << 20, 64, 256};
  try {
    pool_def pool = parse_pool(doc, "fuzz.xml", parse_mode::input, limits);
    normalize(pool);
    pool.sizes = {3, 2, 1};
    std::string text = format_pool(pool);
    pool_def again = parse_pool(text, "again.xml", parse_mode::stored);
    normalize(again);
    again.sizes = {3, 2, 1};
    if (format_pool(again) != text)
      std::abort();
  } catch (const domus::error&) {
  }
  static const pool_def dir = [] {
    pool_def p = parse_pool("<pool type='dir'><name>p</name><target><path>/p</path>"
                            "</target></pool>",
                            "dir.xml");
    normalize(p);
    return p;
  }();
  try {
    volume_def vol = parse_volume(doc, "fuzz.xml", dir, parse_mode::input, limits);
    std::string text = format_volume(vol);
    if (format_volume(parse_volume(text, "again.xml", dir, parse_mode::stored)) != text)
      std::abort();
  } catch (const domus::error&) {
  }
  return 0;
}

#ifndef DOMUS_FUZZ_NO_ENTRY
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return fuzz_storage_xml(data, size);
}
#endif
