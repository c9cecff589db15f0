// A client's end of a stream (docs/protocol.md, "Streams"): writes that wait for the
// daemon's credit, reads that grant it credit back, so that neither side ever holds
// more than the window. Used by the tests and the benchmarks; a model for clients in
// other languages (docs/protocol.md has the same in Python).
#pragma once

#include "domus/protocol/client.hpp"

#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>

namespace domus::protocol {

class byte_stream {
public:
  /// The stream an opening procedure answered with ({stream, window, chunk_bytes}).
  /// Grants the daemon `window` data messages at once.
  byte_stream(connection& c, const json& opened);

  uint64_t id() const { return id_; }
  size_t chunk_bytes() const { return chunk_; }
  uint32_t window() const { return window_; }

  /// Sends 1 to chunk_bytes bytes, waiting (at most timeout) for credit; what arrives
  /// meanwhile is kept for read() (at most `window` chunks: the credit this side gave).
  /// Throws error(timeout), or the daemon's error when it ended or aborted the stream.
  void write(std::string_view bytes, std::chrono::milliseconds timeout);
  /// Whether write() would send at once.
  bool can_write() const { return credit_ > 0 && !over_; }

  /// The next chunk, waiting at most timeout (nullopt then); throws at the stream's end
  /// as write() does. Grants the daemon credit back as chunks are taken.
  std::optional<chunk> read(std::chrono::milliseconds timeout);
  /// Whether the daemon ended the stream (its "end").
  bool ended() const { return over_ && why_.empty(); }

  /// Ends the stream (no more data either way), or aborts it with a message.
  void end();
  void abort(const std::string& message);
  /// A credit message of 0: says the client is there (stream_idle_ms).
  void keepalive();

private:
  // Takes one message from the daemon (waiting at most timeout); false if none came.
  bool take(std::chrono::milliseconds timeout);
  void check_open() const;

  connection& c_;
  uint64_t id_ = 0;
  uint32_t window_ = 0;
  size_t chunk_ = 0;
  uint32_t credit_ = 0;  ///< data messages this side may send
  uint32_t granted_ = 0; ///< data messages the daemon may still send
  std::deque<chunk> inbox_;
  bool over_ = false;
  errc code_ = errc::internal;
  std::string why_; ///< the daemon's abort message ("" for its end)
};

} // namespace domus::protocol
