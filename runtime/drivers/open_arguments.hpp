// What a driver's `open` is handed (domus_open_args_v1), with the storage its pointers
// point into, kept alive until the open completes; and the driver's settings file read
// for it. No CAF here.
#pragma once

#include "daemon/conf_file.hpp"

#include <domus/driver_v1.h>

#include <string>
#include <vector>

namespace domus::runtime {

/// A driver's settings file larger than this is refused (it is a few lines of text).
inline constexpr size_t max_settings_file_bytes = 1 << 20;

struct open_arguments {
  /// What the driver is told, each a field of domus_open_args_v1 of the same name.
  std::string uri, scheme, path, state_dir, run_dir, log_dir, cache_dir, settings_file;
  std::vector<conf_line> settings;
  std::vector<domus_setting_v1> abi_settings;
  domus_open_args_v1 abi{};

  /// Points `abi` at the strings and settings above.
  void fill(uint32_t flags, const domus_host_v1* host);
};

/// The lines of a driver's settings file; none when it does not exist. Throws
/// protocol::error(config_error) naming the file when it cannot be read, is larger than
/// max_settings_file_bytes, or has a line that is not `key = value` (naming the line).
std::vector<conf_line> read_settings(const std::string& path);

} // namespace domus::runtime
