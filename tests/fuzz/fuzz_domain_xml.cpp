// The domain XML parser and normalizer, with the daemon's default limits: any document
// is refused with an error or read; what Domus then formats (with and without secrets,
// full and compact) reads back, as stored, to the same text.
#include <domus/errors.hpp>
#include <domus/model/domain_def.hpp>

#include <cstdint>
#include <cstdlib>

using namespace domus::model;

int fuzz_domain_xml(const uint8_t* data, size_t size) {
  std::string_view doc(reinterpret_cast<const char*>(data), size);
  domain_def def;
  try {
    def = parse_domain(doc, "fuzz.xml", parse_mode::input, {1u << 20, 64, 256});
    normalize(def);
    add_implied_devices(def);
  } catch (const domus::error&) {
    return 0;
  }
  std::string kept = format_domain(def, secrets::keep);
  std::string open = format_domain(def, secrets::omit);
  // Domus's own output must read back as stored, format to itself, and its size be
  // known without formatting it (what the daemon's max_xml_bytes check relies on).
  domain_def again = parse_domain(kept, "again.xml", parse_mode::stored);
  normalize(again);
  add_implied_devices(again);
  if (format_domain(again, secrets::keep) != kept || formatted_size(again) != kept.size())
    std::abort();
  domain_def small = compacted(def);
  if (format_domain(small, secrets::keep) != kept ||
      format_domain(small, secrets::omit) != open)
    std::abort();
  (void)format_domain(small, secrets::omit, 7);
  return 0;
}

#ifndef DOMUS_FUZZ_NO_ENTRY
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return fuzz_domain_xml(data, size);
}
#endif
