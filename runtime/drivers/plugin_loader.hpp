// Loads driver plugins: every *.so of a directory, through domus_driver_entry.
#pragma once

#include <domus/driver_v1.h>

#include <map>
#include <string>
#include <vector>

namespace domus::runtime {

/// A driver plugin that loaded.
struct loaded_driver {
  std::string file;              ///< the .so it came from
  const domus_driver_v1* driver; ///< valid until the process exits (never dlclose'd)
};

/// Drivers by the URI schemes they serve.
class driver_table {
public:
  /// Loads every *.so in dir, in name order. A plugin that fails (dlopen error, missing
  /// symbol, other ABI major, a struct too small, a scheme already taken, for its kind:
  /// two drivers may not both name one scheme, or both declare "*") is refused with
  /// one log line naming the file and the reason; the rest load. Returns how many loaded.
  size_t load_directory(const std::string& dir);

  /// Loads one file; false (and one log line) when refused.
  bool load_file(const std::string& path);

  /// The driver serving a scheme's domains, or nullptr.
  const loaded_driver* find(const std::string& scheme) const;
  /// The driver serving objects of `kind` (DOMUS_OBJECT_*) for a scheme: the one that
  /// names the scheme for that kind, else the one that declares "*" for it when some
  /// driver serves the scheme's domains (a host-wide storage or network driver), else
  /// nullptr. For domains, find(scheme).
  const loaded_driver* find(const std::string& scheme, int32_t kind) const;

  /// The schemes served, sorted.
  std::vector<std::string> schemes() const;

private:
  std::vector<loaded_driver> drivers_;
  std::map<std::string, size_t> by_scheme_;                   ///< domains
  std::map<std::pair<int32_t, std::string>, size_t> by_kind_; ///< pools, networks (1.1)
};

/// The directory of the bundled plugins: the build tree's when domusd runs from the build
/// tree, else the installed one, found relative to the executable (<prefix>/sbin/domusd
/// -> <prefix>/<libdir>/domus/plugins).
std::string bundled_plugin_dir();

} // namespace domus::runtime
