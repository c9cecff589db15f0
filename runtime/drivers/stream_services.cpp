#include "drivers/stream_services.hpp"

#include "drivers/abi_fields.hpp"
#include "gateway/stream_table.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>

namespace domus::runtime {

int32_t host_stream_attach(void*, domus_stream* s, const domus_stream_cbs_v1* cbs,
                           void* arg) {
  if (!s || !DOMUS_HAS_FIELD(cbs, domus_stream_cbs_v1, on_end) || !cbs->on_data ||
      !cbs->on_end || s->attached)
    return DOMUS_E_INVALID_ARGUMENT;
  // A driver built against an older header passes a shorter table: what it lacks
  // stays NULL (no holes, the client's end is the stream's).
  s->cbs = domus_stream_cbs_v1{};
  std::memcpy(&s->cbs, cbs, std::min<size_t>(cbs->struct_size, sizeof s->cbs));
  s->arg = arg;
  s->attached = true; // published last: the loop reads cbs only once it is set
  return 0;
}

// Before the stream is the client's (the driver sends from its open), there is no
// credit yet: the client grants it once it has the stream, and on_writable follows.
int32_t host_stream_send(void*, domus_stream* s, const void* data, size_t len) {
  if (!s)
    return -EINVAL;
  if (!s->table) {
    if (len == 0 || len > DOMUS_STREAM_CHUNK_BYTES)
      return -EMSGSIZE;
    s->wants_writable = true;
    return -EAGAIN;
  }
  return s->table->send(s, data, len);
}

int32_t host_stream_send_hole(void*, domus_stream* s, uint64_t bytes) {
  if (!s)
    return -EINVAL;
  if (!s->table) {
    if (!s->holes)
      return -ENOTSUP;
    s->wants_writable = true;
    return -EAGAIN;
  }
  return s->table->send_hole(s, bytes);
}

void host_stream_pause(void*, domus_stream* s, int32_t paused) {
  if (!s)
    return;
  if (!s->table)
    s->paused = paused != 0;
  else
    s->table->pause(s, paused != 0);
}

void host_stream_finish(void*, domus_stream* s, int32_t status, const char* message) {
  if (!s)
    return;
  if (!s->table) {
    s->ended = true; // the open then fails: the stream never reaches the client
    if (status != DOMUS_OK)
      s->early_end = message && *message ? message
                                         : "the driver ended the stream with error " +
                                               std::to_string(status);
    return;
  }
  s->table->finish(s, status, message ? message : "");
}

} // namespace domus::runtime
