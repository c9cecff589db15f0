#include "domus/protocol/codec.hpp"

#include "domus/protocol/topics.hpp"

#include <cctype>
#include <ctime>

namespace domus::protocol {
namespace {

std::optional<int64_t> integer_field(const json& obj, const char* key) {
  auto it = obj.find(key);
  if (it == obj.end() || !it->is_number_integer())
    return std::nullopt;
  return it->get<int64_t>();
}

request_failure failure(std::optional<int64_t> id, errc code, std::string message) {
  return {id, code, std::move(message)};
}

} // namespace

std::string json_text(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::optional<int64_t> recover_request_id(std::string_view frame) {
  // Accepts only the exact shape {"v":1,"id":N with optional whitespace; anything else
  // is not guessed at.
  size_t i = 0;
  auto skip_ws = [&] {
    while (i < frame.size() && std::isspace(static_cast<unsigned char>(frame[i])))
      ++i;
  };
  auto expect = [&](std::string_view s) {
    skip_ws();
    if (frame.substr(i, s.size()) != s)
      return false;
    i += s.size();
    return true;
  };
  if (!expect("{") || !expect("\"v\"") || !expect(":") || !expect("1") || !expect(",") ||
      !expect("\"id\"") || !expect(":"))
    return std::nullopt;
  skip_ws();
  bool negative = i < frame.size() && frame[i] == '-';
  if (negative)
    ++i;
  size_t start = i;
  // Any int64: up to 19 digits, checked against the range as they are read (the
  // magnitude of INT64_MIN is one more than INT64_MAX's).
  uint64_t value = 0;
  const uint64_t limit = negative ? uint64_t{1} << 63 : (uint64_t{1} << 63) - 1;
  while (i < frame.size() && std::isdigit(static_cast<unsigned char>(frame[i]))) {
    uint64_t digit = static_cast<uint64_t>(frame[i++] - '0');
    if (value > (limit - digit) / 10)
      return std::nullopt;
    value = value * 10 + digit;
  }
  if (i == start)
    return std::nullopt;
  return negative ? static_cast<int64_t>(~value + 1) : static_cast<int64_t>(value);
}

std::variant<request, request_failure> decode_request(std::string_view frame) {
  json doc = json::parse(frame.begin(), frame.end(), nullptr, false);
  if (doc.is_discarded())
    return failure(recover_request_id(frame), errc::bad_request,
                   "the request is not valid JSON");
  if (!doc.is_object())
    return failure(std::nullopt, errc::bad_request, "the request must be a JSON object");
  auto id = integer_field(doc, "id");
  auto v = doc.find("v");
  if (v == doc.end() || !v->is_number_integer())
    return failure(id, errc::bad_request,
                   "the request has no integer \"v\" (protocol version)");
  if (v->get<int64_t>() != version)
    return failure(id, errc::version_mismatch,
                   "protocol version " + v->dump() +
                       " is not supported (this daemon speaks " +
                       std::to_string(version) + ")");
  if (!id)
    return failure(std::nullopt, errc::bad_request, "the request has no integer \"id\"");
  request req;
  req.id = *id;
  auto p = doc.find("proc");
  if (p == doc.end() || !p->is_string())
    return failure(id, errc::bad_request, "the request has no string \"proc\"");
  req.proc = find_proc(p->get_ref<const std::string&>());
  if (!req.proc)
    return failure(id, errc::unknown_procedure,
                   "unknown procedure '" + p->get<std::string>() + "'");
  if (auto u = doc.find("uri"); u != doc.end()) {
    if (!u->is_string())
      return failure(id, errc::bad_request, "\"uri\" must be a string");
    req.uri = u->get<std::string>();
  }
  if (req.uri.empty() && req.proc->target != proc_target::daemon)
    return failure(id, errc::bad_request,
                   "procedure '" + std::string(req.proc->name) + "' needs a \"uri\"");
  if (auto a = doc.find("args"); a != doc.end()) {
    if (!a->is_object())
      return failure(id, errc::bad_request, "\"args\" must be a JSON object");
    req.args = std::move(*a);
  }
  return req;
}

std::string encode_request(int64_t id, std::string_view uri, std::string_view proc,
                           const json& args) {
  // v and id first, so that the daemon can recover the id of an oversized request.
  std::string out = "{\"v\":" + std::to_string(version) + ",\"id\":" + std::to_string(id);
  out += ",\"uri\":" + json_text(json(uri));
  out += ",\"proc\":" + json_text(json(proc));
  out += ",\"args\":" + json_text(args) + "}";
  return out;
}

std::string encode_reply(int64_t id, const json& result) {
  return encode_reply_text(id, json_text(result));
}

std::string encode_reply_text(int64_t id, std::string_view result_json) {
  std::string out = "{\"v\":" + std::to_string(version) + ",\"id\":" + std::to_string(id);
  out += ",\"ok\":true,\"result\":";
  out += result_json;
  return out + "}";
}

std::string encode_error(std::optional<int64_t> id, errc code, std::string_view message,
                         const json& extra) {
  json err = extra.is_object() ? extra : json::object();
  err["code"] = to_string(code);
  err["number"] = static_cast<int>(code);
  err["message"] = message;
  std::string out = "{\"v\":" + std::to_string(version) + ",\"id\":";
  out += id ? std::to_string(*id) : std::string("null");
  out += ",\"ok\":false,\"error\":" + json_text(err) + "}";
  return out;
}

reply decode_reply(std::string_view frame) {
  json doc = json::parse(frame.begin(), frame.end(), nullptr, false);
  if (doc.is_discarded() || !doc.is_object())
    throw error(errc::bad_request, "the daemon sent a reply that is not a JSON object");
  reply r;
  if (auto id = doc.find("id"); id != doc.end() && id->is_number_integer())
    r.id = id->get<int64_t>();
  auto ok = doc.find("ok");
  if (ok == doc.end() || !ok->is_boolean())
    throw error(errc::bad_request, "the daemon sent a reply without \"ok\"");
  r.ok = ok->get<bool>();
  if (r.ok) {
    if (auto res = doc.find("result"); res != doc.end())
      r.result = std::move(*res);
    return r;
  }
  auto err = doc.find("error");
  if (err == doc.end() || !err->is_object())
    throw error(errc::bad_request, "the daemon sent an error reply without \"error\"");
  r.error = *err;
  r.message = err->value("message", std::string{});
  auto code = errc_from_string(err->value("code", std::string{}));
  r.code = code ? *code : errc::internal;
  return r;
}

bool subscription_can_match(std::string_view prefix) {
  for (auto t : topics)
    if (t.substr(0, prefix.size()) == prefix)
      return true;
  for (auto& t : driver_topics())
    if (t.name.substr(0, prefix.size()) == prefix)
      return true;
  return false;
}

std::string format_utc_ms(std::chrono::system_clock::time_point t) {
  using namespace std::chrono;
  auto ms = duration_cast<milliseconds>(t.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  char out[40];
  std::snprintf(out, sizeof out, "%s.%03dZ", buf, static_cast<int>(ms % 1000));
  return out;
}

} // namespace domus::protocol
