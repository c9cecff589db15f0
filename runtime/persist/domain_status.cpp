#include "persist/domain_status.hpp"

#include <domus/model/xml_tree.hpp>
#include <domus/protocol/errors.hpp>
#include <domus/protocol/vocabulary.hpp>

namespace domus::runtime {

using model::xml_node;

namespace {

std::string to_hex(const std::string& bytes) {
  static const char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out += digits[c >> 4];
    out += digits[c & 0xF];
  }
  return out;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  return -1;
}

[[noreturn]] void bad(const std::string& origin, const std::string& why) {
  throw protocol::error(protocol::errc::xml_error, origin + ": " + why);
}

} // namespace

std::string format_status(const domain_status& s) {
  // Written on every state change: the live XML (already formatted) goes in as it is,
  // rather than parsed again to be written once more. Not indented: a line of a
  // multi-line text (a description) would change. Wire names and hex need no escaping.
  auto* state = protocol::find_state(s.state.state);
  auto* reason = protocol::find_reason(s.state.state, s.state.reason);
  std::string out =
      "<domstatus state='" + (state ? std::string(state->wire) : std::string("shutoff")) +
      "' reason='" + (reason ? std::string(reason->wire) : std::string("unknown")) +
      "' id='" + std::to_string(s.state.id) + "'>\n";
  out += "  <privdata>" + to_hex(s.private_data) + "</privdata>\n";
  out += s.live_xml;
  if (!s.live_xml.empty() && s.live_xml.back() != '\n')
    out += '\n';
  return out + "</domstatus>\n";
}

domain_status parse_status(const std::string& text, const std::string& origin) {
  xml_node root = model::parse_xml(text, origin);
  if (root.name != "domstatus")
    bad(origin, "not a status file (no <domstatus>)");
  domain_status s;
  const std::string* state = root.attr("state");
  const std::string* reason = root.attr("reason");
  const std::string* id = root.attr("id");
  auto* sw = state ? protocol::find_state(*state) : nullptr;
  if (!sw)
    bad(origin, "unknown state '" + (state ? *state : std::string()) + "'");
  auto* rw = reason ? protocol::find_reason(sw->state, *reason) : nullptr;
  s.state.state = sw->state;
  s.state.reason = rw ? rw->reason : DOMUS_REASON_UNKNOWN;
  try {
    s.state.id = id ? std::stoi(*id) : -1;
  } catch (const std::exception&) {
    bad(origin, "malformed id '" + *id + "'");
  }
  const xml_node* priv = root.child("privdata");
  std::string hex = priv ? priv->text_content() : "";
  if (hex.size() % 2)
    bad(origin, "malformed <privdata>");
  for (size_t i = 0; i < hex.size(); i += 2) {
    int hi = hex_value(hex[i]), lo = hex_value(hex[i + 1]);
    if (hi < 0 || lo < 0)
      bad(origin, "malformed <privdata>");
    s.private_data += static_cast<char>(hi * 16 + lo);
  }
  const xml_node* dom = root.child("domain");
  if (!dom)
    bad(origin, "no <domain> in the status");
  s.live_xml = model::to_xml_string(*dom);
  return s;
}

} // namespace domus::runtime
