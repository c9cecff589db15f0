#include "domus/protocol/uri.hpp"

#include "domus/protocol/errors.hpp"

#include <cctype>
#include <cstdlib>
#include <unistd.h>

namespace domus::protocol {
namespace {

[[noreturn]] void fail(std::string_view text, const std::string& why) {
  throw error(errc::invalid_argument, "invalid URI '" + std::string(text) + "': " + why);
}

int hex_value(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

std::string percent_decode(std::string_view text, std::string_view whole) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out += text[i];
      continue;
    }
    if (i + 2 >= text.size())
      fail(whole, "bad percent escape");
    int hi = hex_value(text[i + 1]);
    int lo = hex_value(text[i + 2]);
    if (hi < 0 || lo < 0)
      fail(whole, "bad percent escape");
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return out;
}

} // namespace

std::string uri::normalized() const {
  return scheme + "://" + path;
}

uri parse_uri(std::string_view text) {
  uri u;
  auto colon = text.find("://");
  if (colon == std::string_view::npos || colon == 0)
    fail(text, "expected driver[+transport]://[host]/path");
  auto head = text.substr(0, colon);
  auto plus = head.find('+');
  auto scheme = head.substr(0, plus);
  if (scheme.empty())
    fail(text, "the driver name is empty");
  for (char c : scheme)
    if (!std::islower(static_cast<unsigned char>(c)) &&
        !std::isdigit(static_cast<unsigned char>(c)) && c != '-' && c != '_')
      fail(text, "the driver name may only hold lower-case letters, digits, '-' and '_'");
  u.scheme = std::string(scheme);
  if (plus != std::string_view::npos) {
    u.transport = std::string(head.substr(plus + 1));
    if (u.transport != "unix")
      fail(text, "transport '" + u.transport + "' is not supported (only 'unix')");
  }
  auto rest = text.substr(colon + 3);
  auto qmark = rest.find('?');
  auto query =
      qmark == std::string_view::npos ? std::string_view{} : rest.substr(qmark + 1);
  rest = rest.substr(0, qmark);
  auto slash = rest.find('/');
  u.host = std::string(rest.substr(0, slash));
  if (!u.host.empty())
    fail(text, "remote hosts are not supported yet (use " + u.scheme + ":///...)");
  u.path =
      slash == std::string_view::npos ? "/" : percent_decode(rest.substr(slash), text);
  while (!query.empty()) {
    auto amp = query.find('&');
    auto pair = query.substr(0, amp);
    auto eq = pair.find('=');
    auto key = percent_decode(pair.substr(0, eq), text);
    auto value = eq == std::string_view::npos ? std::string{}
                                              : percent_decode(pair.substr(eq + 1), text);
    if (!key.empty())
      u.query[key] = value;
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
  }
  return u;
}

std::string default_uri() {
  const char* env = std::getenv("DOMUS_DEFAULT_URI");
  return env && *env ? std::string(env) : std::string("test:///default");
}

std::string socket_path_for(const uri& u) {
  if (auto it = u.query.find("socket"); it != u.query.end()) {
    if (it->second.empty() || it->second[0] != '/')
      throw error(errc::invalid_argument,
                  "the socket parameter must be an absolute path, got '" + it->second +
                      "'");
    return it->second;
  }
  bool session = u.path == "/session" || (u.path != "/system" && geteuid() != 0);
  if (!session)
    return "/run/domus/domus-sock";
  const char* xdg = std::getenv("XDG_RUNTIME_DIR");
  if (!xdg || !*xdg)
    throw error(errc::invalid_argument,
                "XDG_RUNTIME_DIR is not set, so the session daemon's socket cannot be "
                "found; set it or give ?socket=PATH in the URI");
  return std::string(xdg) + "/domus/domus-sock";
}

socket_files socket_files::beside(const std::string& rw_path) {
  auto slash = rw_path.rfind('/');
  std::string dir =
      slash == std::string::npos ? std::string(".") : rw_path.substr(0, slash);
  return {rw_path, dir + "/domus-sock-ro", dir + "/domus-events"};
}

} // namespace domus::protocol
