// Where the daemon keeps its configuration, state and sockets: libvirt's layout, under
// /, under --root DIR, or in the XDG directories of a non-root user.
#pragma once

#include <string>

namespace domus::runtime {

/// The directory tree of one daemon.
struct daemon_paths {
  std::string etc; ///< configuration and definitions (/etc/domus)
  std::string lib; ///< state (/var/lib/domus)
  std::string run; ///< sockets, pid file, status of active objects (/run/domus)
  std::string log; ///< logs (/var/log/domus)

  std::string config_file() const { return etc + "/domusd.conf"; }
  std::string pid_file() const { return run + "/domusd.pid"; }
  std::string rw_socket() const { return run + "/domus-sock"; }
  std::string ro_socket() const { return run + "/domus-sock-ro"; }
  std::string events_socket() const { return run + "/domus-events"; }
};

/// The layout for --root DIR (DIR made absolute), or the system layout for root, or the
/// XDG layout otherwise. Throws protocol::error(config_error) when it cannot be formed.
daemon_paths make_paths(const std::string& root);

/// Creates the directories (mode 0755). Throws protocol::error(config_error).
void create_directories(const daemon_paths& p);

/// Throws protocol::error(config_error) naming the first socket path over the 107-byte
/// limit of a unix socket address.
void check_socket_paths(const daemon_paths& p);

/// mkdir -p with mode; throws protocol::error(config_error) naming the path.
void make_dirs(const std::string& path, unsigned mode);

} // namespace domus::runtime
