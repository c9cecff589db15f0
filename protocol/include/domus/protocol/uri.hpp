// Connection URIs: driver[+transport]://[host]/path[?query], as libvirt spells them.
#pragma once

#include <map>
#include <string>
#include <string_view>

namespace domus::protocol {

/// A parsed connection URI.
struct uri {
  std::string scheme;                       ///< driver name, e.g. "test"
  std::string transport;                    ///< "" or "unix"
  std::string host;                         ///< "" for the local host
  std::string path;                         ///< percent-decoded, e.g. "/default"
  std::map<std::string, std::string> query; ///< percent-decoded parameters

  /// The daemon's key for a driver instance: scheme and path ("test:///default").
  std::string normalized() const;
};

/// Parses a URI; throws protocol::error(invalid_argument) naming what is wrong.
uri parse_uri(std::string_view text);

/// The default URI: $DOMUS_DEFAULT_URI when set and not empty, else "test:///default".
std::string default_uri();

/// Where the daemon's read-write socket is for a URI: the `socket` parameter, else by
/// path: "/system" -> /run/domus/domus-sock, "/session" ->
/// $XDG_RUNTIME_DIR/domus/domus-sock, anything else -> the system socket for root and
/// the session socket otherwise. Throws protocol::error(invalid_argument).
std::string socket_path_for(const uri& u);

/// The files beside a read-write socket path.
struct socket_files {
  std::string rw;     ///< domus-sock
  std::string ro;     ///< domus-sock-ro
  std::string events; ///< domus-events
  /// The three files in the directory of rw_path.
  static socket_files beside(const std::string& rw_path);
};

} // namespace domus::protocol
