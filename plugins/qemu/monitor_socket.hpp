// The QMP monitor's Unix socket: made by the driver, listened on by QEMU (which inherits
// it), reachable again after a daemon restart. Paths are reached through a directory
// descriptor (/proc/self/fd/N/NAME), so the folder's length never meets the 108 bytes
// of a socket address.
#pragma once

#include <string>

namespace domus::qemu_driver {

/// A listening monitor socket and a connection to it, made before QEMU runs: the
/// connection waits in the backlog until QEMU accepts it and greets.
struct monitor_socket {
  int listen_fd = -1; ///< for QEMU (-chardev socket,fd=N,server=on)
  int client_fd = -1; ///< the driver's end
  std::string path;   ///< DIR/NAME.sock
};

/// Makes DIR (mode 0700) when missing and the socket DIR/NAME.sock in it, replacing a
/// stale one. Throws domus::error (operation_failed) naming the path and why.
monitor_socket make_monitor_socket(const std::string& dir, const std::string& name);

/// A listening socket DIR/NAME (DIR made 0700 when missing, a stale socket replaced),
/// for QEMU to inherit: a guest agent's channel. Throws domus::error naming the path.
int make_listening_socket(const std::string& dir, const std::string& name);

/// Connects to a monitor socket by its path: the descriptor, or -1 with errno set.
int connect_monitor(const std::string& path);

} // namespace domus::qemu_driver
