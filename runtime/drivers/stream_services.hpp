// The host services of streams (plugin ABI 1.1): stream_attach, stream_send,
// stream_pause, stream_finish, and (1.3) stream_send_hole. A stream knows its table once
// it is the client's; the services need no instance (`ctx` is unused).
#pragma once

#include <domus/driver_v1.h>

namespace domus::runtime {

int32_t host_stream_attach(void* ctx, domus_stream* s, const domus_stream_cbs_v1* cbs,
                           void* arg);
int32_t host_stream_send(void* ctx, domus_stream* s, const void* data, size_t len);
int32_t host_stream_send_hole(void* ctx, domus_stream* s, uint64_t bytes);
void host_stream_pause(void* ctx, domus_stream* s, int32_t paused);
void host_stream_finish(void* ctx, domus_stream* s, int32_t status, const char* message);

} // namespace domus::runtime
