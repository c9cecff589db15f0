// The request decoder, as the gateway uses it: whatever a client sends decodes to a
// request or a failure, and what the daemon answers with decodes as a reply carrying
// the same id.
#include <domus/protocol/codec.hpp>
#include <domus/protocol/uri.hpp>

#include <cstdint>
#include <cstdlib>

using namespace domus::protocol;

int fuzz_request(const uint8_t* data, size_t size) {
  std::string_view frame(reinterpret_cast<const char*>(data), size);
  auto recovered = recover_request_id(frame);
  auto decoded = decode_request(frame);
  std::string answer;
  std::optional<int64_t> id;
  if (auto* req = std::get_if<request>(&decoded)) {
    try {
      (void)parse_uri(req->uri).normalized();
    } catch (const error&) {
    }
    id = req->id;
    answer = encode_reply(req->id, req->args);
  } else {
    auto& f = std::get<request_failure>(decoded);
    id = f.id;
    answer = encode_error(f.id, f.code, f.message);
  }
  reply r = decode_reply(answer); // the daemon's own answer must read back
  if (r.id != id)
    std::abort();
  // A reply opens as a request does: its id is recovered from the text alone.
  if (id && recover_request_id(answer) != id)
    std::abort();
  (void)recovered;
  return 0;
}

#ifndef DOMUS_FUZZ_NO_ENTRY
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return fuzz_request(data, size);
}
#endif
