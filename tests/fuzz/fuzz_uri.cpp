// The URI parser: any text parses to a URI or fails with invalid-argument; a parsed
// URI's normalized form parses to itself.
#include <domus/protocol/errors.hpp>
#include <domus/protocol/uri.hpp>

#include <cstdint>
#include <cstdlib>

using namespace domus::protocol;

int fuzz_uri(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  uri u;
  try {
    u = parse_uri(text);
  } catch (const error& e) {
    if (e.code() != errc::invalid_argument)
      std::abort();
    return 0;
  }
  try {
    (void)socket_path_for(u);
  } catch (const error&) {
  }
  // The normalized form is what the daemon keys instances by: it must parse back to
  // the same instance (a path with '?' is written percent-encoded by no one, so only
  // paths without it are checked).
  if (u.path.find_first_of("?%") == std::string::npos &&
      parse_uri(u.normalized()).normalized() != u.normalized())
    std::abort();
  return 0;
}

#ifndef DOMUS_FUZZ_NO_ENTRY
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return fuzz_uri(data, size);
}
#endif
