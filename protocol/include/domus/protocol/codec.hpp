// The JSON envelopes of protocol v1: requests, replies and events (docs/protocol.md).
#pragma once

#include "domus/protocol/errors.hpp"
#include "domus/protocol/procedures.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace domus::protocol {

using json = nlohmann::json;

/// A decoded request: {"v": 1, "id": N, "uri": "...", "proc": "...", "args": {...}}.
struct request {
  int64_t id = 0;
  std::string uri; ///< as sent; empty when absent (daemon procedures need none)
  const proc_entry* proc = nullptr;
  json args = json::object();
};

/// Why a request could not be decoded, with the id when it could be read.
struct request_failure {
  std::optional<int64_t> id;
  errc code;
  std::string message;
};

/// Serializes JSON compactly; invalid UTF-8 (a value echoed from a bad request) is
/// replaced rather than thrown on.
std::string json_text(const json& j);

/// Decodes one request frame.
std::variant<request, request_failure> decode_request(std::string_view frame);

/// Reads the id from the start of a frame that is too large or not valid JSON, when it
/// begins like {"v": 1, "id": N (as this library writes requests).
std::optional<int64_t> recover_request_id(std::string_view frame);

/// Encodes a request.
std::string encode_request(int64_t id, std::string_view uri, std::string_view proc,
                           const json& args);

/// Encodes a success reply.
std::string encode_reply(int64_t id, const json& result);

/// The same, with the result already JSON text (spliced in as it is).
std::string encode_reply_text(int64_t id, std::string_view result_json);

/// Encodes an error reply; extra fields (e.g. oldest_seq) are merged into "error".
std::string encode_error(std::optional<int64_t> id, errc code, std::string_view message,
                         const json& extra = json::object());

/// A decoded reply.
struct reply {
  std::optional<int64_t> id;
  bool ok = false;
  json result;                ///< when ok
  errc code = errc::internal; ///< when not ok
  std::string message;        ///< when not ok
  json error;                 ///< the whole error object, when not ok
};

/// Decodes a reply frame; throws protocol::error(bad_request) when it is not one.
reply decode_reply(std::string_view frame);

/// Formats a UTC time as YYYY-MM-DDTHH:MM:SS.mmmZ.
std::string format_utc_ms(std::chrono::system_clock::time_point t);

/// Event topics.
inline constexpr std::string_view topic_domain_lifecycle = "domain.lifecycle";
inline constexpr std::string_view topic_domain_error = "domain.error";
inline constexpr std::string_view topic_domain_unresponsive = "domain.unresponsive";
inline constexpr std::string_view topic_domain_responsive = "domain.responsive";
inline constexpr std::string_view topic_domain_job_progress = "domain.job-progress";
inline constexpr std::string_view topic_pool_lifecycle = "pool.lifecycle";
inline constexpr std::string_view topic_pool_refresh = "pool.refresh";
inline constexpr std::string_view topic_pool_volume = "pool.volume";
inline constexpr std::string_view topic_pong = "sys.pong";

/// Every topic the daemon publishes itself (a new topic is added here); drivers' topics
/// are in topics.hpp.
inline constexpr std::string_view topics[] = {
    topic_domain_lifecycle,  topic_domain_error,        topic_domain_unresponsive,
    topic_domain_responsive, topic_domain_job_progress, topic_pool_lifecycle,
    topic_pool_refresh,      topic_pool_volume,         topic_pong};

/// Whether a subscription can match a topic the daemon publishes: it is a prefix of one
/// ("" and "domain." included). The daemon keeps no other subscription.
bool subscription_can_match(std::string_view prefix);

} // namespace domus::protocol
