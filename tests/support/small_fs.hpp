// A small tmpfs a test mounts (as root, as CI runs) to fill a disk on purpose.
#pragma once

#include <string>

namespace domus::testing {

/// A tmpfs of `size` ("64k", "4m") mounted on `dir` (made if absent), unmounted lazily
/// when it goes out of scope. Throws when it cannot be mounted.
struct small_fs {
  std::string dir;
  small_fs(std::string d, const std::string& size);
  ~small_fs();
  small_fs(const small_fs&) = delete;
  small_fs& operator=(const small_fs&) = delete;
  /// Fills it to the last byte with a file; returns its path.
  std::string fill();
  /// Remounts it read-only or read-write.
  void remount(bool read_only);
};

} // namespace domus::testing
