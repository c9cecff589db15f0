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
  std::string
      cache; ///< what can be rebuilt, such as probed capabilities (/var/cache/domus)

  std::string config_file() const { return etc + "/domusd.conf"; }
  /// A driver's own settings (libvirt's qemu.conf): etc/domus/<driver>.conf.
  std::string driver_config_file(const std::string& driver) const {
    return etc + "/" + driver + ".conf";
  }
  std::string pid_file() const { return run + "/domusd.pid"; }
  std::string rw_socket() const { return run + "/domus-sock"; }
  std::string ro_socket() const { return run + "/domus-sock-ro"; }
  std::string events_socket() const { return run + "/domus-events"; }
};

/// The layout for --root DIR (DIR made absolute), or the system layout for root, or the
/// XDG layout otherwise. Throws protocol::error(config_error) when it cannot be formed.
daemon_paths make_paths(const std::string& root);

/// The modes of the tree's directories (docs/architecture.md, "Files and modes"): every
/// one is 0700, except the run directory, which holds the sockets: whoever a socket's
/// mode lets connect may also search it (0711 with the default modes).
unsigned run_dir_mode(unsigned rw_socket_mode, unsigned ro_socket_mode,
                      unsigned events_socket_mode);
inline constexpr unsigned private_dir_mode = 0700;

/// Creates the tree's directories: their parents as any directory (mkdir -p, 0755), then
/// etc, lib and log with private_dir_mode and run with `run_mode`, each checked as
/// make_tree_dir() checks. Throws protocol::error(config_error).
void create_directories(const daemon_paths& p, unsigned run_mode);

/// Creates one directory of the tree (its parent must exist) with `mode`, or takes an
/// existing one: it must be a directory, not a symbolic link, owned by this user and
/// writable by no one else; its mode is then set to `mode`. Throws
/// protocol::error(config_error) naming the path and what is wrong.
void make_tree_dir(const std::string& path, unsigned mode);

/// Throws protocol::error(config_error) naming the first socket path over the 107-byte
/// limit of a unix socket address.
void check_socket_paths(const daemon_paths& p);

/// mkdir -p with mode; throws protocol::error(config_error) naming the path.
void make_dirs(const std::string& path, unsigned mode);

} // namespace domus::runtime
