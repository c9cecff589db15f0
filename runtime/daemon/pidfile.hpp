// The pid file with a lock: one daemon per directory tree.
#pragma once

#include <string>

namespace domus::runtime {

/// Holds an exclusive lock on the pid file for the daemon's lifetime.
class pid_file {
public:
  /// Locks path and writes our pid into it. Throws protocol::error(config_error) naming
  /// the running daemon's pid when another daemon holds the lock.
  explicit pid_file(std::string path);
  /// Removes the file and releases the lock.
  ~pid_file();
  pid_file(const pid_file&) = delete;
  pid_file& operator=(const pid_file&) = delete;

private:
  std::string path_;
  int fd_ = -1;
};

} // namespace domus::runtime
