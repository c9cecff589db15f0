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

/// What a stream carries: data, or (on a sparse transfer) a hole of `hole` zero bytes.
struct stream_piece {
  chunk data;
  uint64_t hole = 0;
};

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
  /// Sends a hole of `bytes` zeros (1 or more) on a stream opened sparse (its reply's
  /// `holes`); one credit, as a data message. Throws as write() does.
  void write_hole(uint64_t bytes, std::chrono::milliseconds timeout);
  /// Whether write() would send at once.
  bool can_write() const { return credit_ > 0 && !over_; }

  /// The next chunk, waiting at most timeout (nullopt then); throws at the stream's end
  /// as write() does. Grants the daemon credit back as chunks are taken.
  std::optional<chunk> read(std::chrono::milliseconds timeout);
  /// The same, where holes may arrive (a sparse download): data, or a hole.
  std::optional<stream_piece> read_piece(std::chrono::milliseconds timeout);
  /// Whether the daemon ended the stream (its "end").
  bool ended() const { return over_ && why_.empty(); }

  /// Ends the stream (no more data either way), or aborts it with a message.
  void end();
  /// Ends what this side sends and waits (at most timeout) for the daemon's answer, on
  /// a stream whose daemon confirms it (an upload: its end once the content is
  /// durable). Throws the daemon's error when it aborted instead, error(timeout) when
  /// nothing came.
  void finish(std::chrono::milliseconds timeout);
  void abort(const std::string& message);
  /// A credit message of 0: says the client is there (stream_idle_ms).
  void keepalive();

private:
  // Takes one message from the daemon (waiting at most timeout); false if none came.
  bool take(std::chrono::milliseconds timeout);
  // Waits (at most timeout) for a credit to send one message, and spends it.
  void spend_credit(std::chrono::milliseconds timeout);
  void check_open() const;

  connection& c_;
  uint64_t id_ = 0;
  uint32_t window_ = 0;
  size_t chunk_ = 0;
  uint32_t credit_ = 0;  ///< data messages this side may send
  uint32_t granted_ = 0; ///< data messages the daemon may still send
  std::deque<stream_piece> inbox_;
  bool over_ = false;
  bool sent_end_ = false; ///< finish() sent this side's end; the daemon's answer follows
  errc code_ = errc::internal;
  std::string why_; ///< the daemon's abort message ("" for its end)
};

} // namespace domus::protocol
