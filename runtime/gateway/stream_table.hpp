// Byte streams between clients and drivers (docs/protocol.md, "Streams"): who owns
// each, and the credit both ways that bounds what any of them holds. Loop thread only
// (stream_attach aside, which a driver may call before the stream is the client's).
// No ZeroMQ and no CAF: the gateway sends what the table says to.
#pragma once

#include <domus/driver_v1.h>

#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace domus::runtime {
class stream_table;
}

/// The ABI's stream: made by the actor that opens it, then the table's.
struct domus_stream {
  // Set by stream_attach (any thread, before the stream is the client's).
  std::atomic<bool> attached{false};
  domus_stream_cbs_v1 cbs{};
  void* arg = nullptr;
  // The table's (loop thread), once the stream is the client's.
  domus::runtime::stream_table* table = nullptr;
  uint64_t id = 0;
  int sock = 0;
  std::string routing_id;
  uint32_t client_credit = 0; ///< data messages the client may still send
  uint32_t daemon_credit = 0; ///< data messages the daemon may still send
  bool paused = false;
  bool wants_writable = false;
  bool ended = false;
  /// Why the driver ended it before it was the client's ("" for an end without error).
  std::string early_end;
  /// Set by the actor that opens it: holes travel both ways (a sparse transfer).
  bool holes = false;
  /// The client sent its end and the driver took it (on_eof): the stream waits for the
  /// driver's finish, which tells the client the outcome; the client sends nothing more
  /// but an abort, and no idle bound applies.
  bool client_done = false;
  /// What the client sent while the stream was paused (within its credit), in order.
  struct piece {
    std::string data;  ///< data, when not empty
    uint64_t hole = 0; ///< a hole of that many bytes, when not 0
    // both empty: the client's end
  };
  std::deque<piece> held;
  std::chrono::steady_clock::time_point heard;
};

namespace domus::runtime {

/// A stream that never became a client's (its request failed, the daemon stops, its
/// opening passed its deadline): the driver hears its end, if it attached, and it is
/// freed. Loop thread.
void discard_stream(domus_stream* s, int32_t status, const char* message);

/// How the table reaches clients: one stream message (its JSON header, its bytes).
/// Returns false when the message cannot be sent (the client is gone).
using stream_send_fn =
    std::function<bool(int sock, const std::string& routing_id,
                       const nlohmann::json& header, std::string_view bytes)>;

struct stream_bounds {
  uint32_t window = 8;
  uint32_t max_client_streams = 4;
  uint32_t max_streams = 64;
  uint32_t idle_ms = 300000;
};

class stream_table {
public:
  using clock_type = std::chrono::steady_clock;

  /// `wake` asks the gateway to call flush() soon, from the top of the loop (never from
  /// inside a driver's call).
  stream_table(stream_bounds bounds, stream_send_fn send, std::function<void()> wake);
  ~stream_table();

  /// Holds a place for a stream the client asked to open; why not when a bound is
  /// reached (max_client_streams, max_streams).
  std::optional<std::string> reserve(int sock, const std::string& routing_id);
  /// Gives back a place held for a stream that did not open.
  void unreserve(int sock, const std::string& routing_id);
  /// The stream the driver accepted becomes the client's, in the place held for it: its
  /// id. The client may send `window` data messages.
  uint64_t open(std::unique_ptr<domus_stream> s, int sock, const std::string& routing_id);

  /// A stream message from a client.
  void on_client(int sock, const std::string& routing_id, const nlohmann::json& header,
                 std::string_view bytes);

  /// The driver's side (host services).
  int32_t send(domus_stream* s, const void* data, size_t len);
  int32_t send_hole(domus_stream* s, uint64_t bytes);
  void pause(domus_stream* s, bool paused);
  void finish(domus_stream* s, int32_t status, const std::string& message);

  /// Runs what waits for the top of the loop: data held while a stream was paused,
  /// the end of streams whose client went away; frees ended streams.
  void flush();
  /// Aborts the streams that heard nothing from their client for idle_ms.
  void sweep(clock_type::time_point now);
  /// Aborts every stream (the daemon stops): clients and drivers hear why.
  void abort_all(int32_t status, const std::string& message);

  size_t size() const { return open_.size(); }
  /// The open stream `id`, or nullptr.
  domus_stream* find_open(uint64_t id) {
    auto it = open_.find(id);
    return it == open_.end() ? nullptr : it->second.get();
  }
  const stream_bounds& bounds() const { return bounds_; }

private:
  using key = std::pair<int, std::string>;
  void end(domus_stream* s, int32_t status, const std::string& message, bool tell_client,
           bool tell_driver);
  void refuse(int sock, const std::string& routing_id, uint64_t id, const char* code,
              const std::string& message);
  void deliver(domus_stream* s);
  // Hands the driver one piece of what the client sent (data, a hole, its end).
  void hand_over(domus_stream* s, domus_stream::piece& p);
  // Spends one of the client's credits on a data or hole message, or ends the stream.
  bool spend_client_credit(domus_stream* s);
  void top_up(domus_stream* s);
  domus_stream* find(int sock, const std::string& routing_id, uint64_t id);

  stream_bounds bounds_;
  stream_send_fn send_;
  std::function<void()> wake_;
  uint64_t next_id_ = 1;
  std::unordered_map<uint64_t, std::unique_ptr<domus_stream>> open_;
  std::map<key, uint32_t> per_client_; ///< open and reserved, per connection
  uint32_t total_ = 0;                 ///< open and reserved
  std::vector<std::unique_ptr<domus_stream>> ended_; ///< freed by flush()
  std::vector<uint64_t> to_deliver_; ///< ids of streams resumed with data held
};

} // namespace domus::runtime
