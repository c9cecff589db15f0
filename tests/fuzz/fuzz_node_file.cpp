// The test driver's node-file reader (test:///PATH.xml): any file is refused with an
// error or read; every domain it holds is then read as the driver reads it.
#include "test_state.hpp"

#include <domus/errors.hpp>
#include <domus/model/domain_def.hpp>

#include <cstdint>
#include <cstdio>
#include <string>
#include <unistd.h>

int fuzz_node_file(const uint8_t* data, size_t size) {
  static const std::string path =
      "/tmp/domus-fuzz-node-" + std::to_string(::getpid()) + ".xml";
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f)
    return 0;
  std::fwrite(data, 1, size, f);
  std::fclose(f);
  try {
    auto seed = domus::test_driver::load_node_file(path);
    for (auto& obj : seed.objects) {
      if (obj.kind != DOMUS_OBJECT_DOMAIN)
        continue;
      try {
        auto def = domus::model::parse_domain(obj.xml, obj.origin);
        domus::model::normalize(def);
        (void)domus::model::format_domain(def, domus::model::secrets::keep);
      } catch (const domus::error&) {
      }
    }
  } catch (const domus::error&) {
  }
  std::remove(path.c_str());
  return 0;
}

#ifndef DOMUS_FUZZ_NO_ENTRY
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return fuzz_node_file(data, size);
}
#endif
