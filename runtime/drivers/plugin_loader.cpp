#include "drivers/plugin_loader.hpp"

#include "daemon/log.hpp"
#include "drivers/abi_fields.hpp"

#include <algorithm>
#include <cstddef>
#include <dirent.h>
#include <dlfcn.h>
#include <limits.h>
#include <stdlib.h>
#include <unistd.h>

namespace domus::runtime {

namespace {

// The smallest domus_driver_v1 this host accepts: ABI 1.0's.
constexpr size_t min_driver_size = DOMUS_FIELD_END(domus_driver_v1, domain);

const char* kind_name(int32_t kind) {
  return kind == DOMUS_OBJECT_POOL      ? "pool"
         : kind == DOMUS_OBJECT_NETWORK ? "network"
                                        : "domain";
}

void refuse(const std::string& path, const std::string& why) {
  log_error("plugin " + path + " refused: " + why);
}

} // namespace

bool driver_table::load_file(const std::string& path) {
  // RTLD_LOCAL keeps each plugin's symbols to itself; plugins are never unloaded.
  void* handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char* e = ::dlerror();
    refuse(path, e ? e : "dlopen failed");
    return false;
  }
  using entry_fn = const domus_driver_v1* (*)(uint32_t);
  auto entry = reinterpret_cast<entry_fn>(::dlsym(handle, DOMUS_DRIVER_ENTRY_SYMBOL));
  if (!entry) {
    refuse(path, "it does not export " DOMUS_DRIVER_ENTRY_SYMBOL);
    return false;
  }
  const domus_driver_v1* d = entry(DOMUS_DRIVER_ABI_MAJOR);
  if (!d) {
    refuse(path, "it cannot serve ABI major " + std::to_string(DOMUS_DRIVER_ABI_MAJOR));
    return false;
  }
  if (d->abi_major != DOMUS_DRIVER_ABI_MAJOR) {
    refuse(path, "it was built for ABI major " + std::to_string(d->abi_major) +
                     ", this daemon speaks " + std::to_string(DOMUS_DRIVER_ABI_MAJOR));
    return false;
  }
  if (!reaches(d, min_driver_size)) {
    refuse(path, "its driver struct is " + std::to_string(d->struct_size) +
                     " bytes, smaller than ABI 1.0's " + std::to_string(min_driver_size));
    return false;
  }
  // What else it serves, by kind (1.1): pools and networks, for schemes or "*".
  std::vector<std::pair<int32_t, std::string>> claims;
  if (DOMUS_HAS_FIELD(d, domus_driver_v1, n_kinds) && d->kinds)
    for (size_t i = 0; i < d->n_kinds; ++i) {
      const domus_kind_schemes_v1& k = d->kinds[i];
      if (k.kind != DOMUS_OBJECT_POOL && k.kind != DOMUS_OBJECT_NETWORK) {
        refuse(path, "it declares kind " + std::to_string(k.kind) +
                         ", which is not one a driver declares (pool 3, network 2)");
        return false;
      }
      for (auto s = k.schemes; s && *s; ++s)
        claims.emplace_back(k.kind, *s);
    }
  if (!d->name || !*d->name || !d->schemes || (!d->schemes[0] && claims.empty()) ||
      !d->open) {
    refuse(path, "it has no name, no URI scheme or no open function");
    return false;
  }
  for (auto s = d->schemes; *s; ++s)
    if (by_scheme_.count(*s)) {
      refuse(path, std::string("URI scheme '") + *s + "' is already served by " +
                       drivers_[by_scheme_[*s]].file);
      return false;
    }
  for (auto& c : claims)
    if (by_kind_.count(c)) {
      refuse(path, std::string(kind_name(c.first)) + "s of URI scheme '" + c.second +
                       "' are already served by " + drivers_[by_kind_[c]].file);
      return false;
    }
  drivers_.push_back({path, d});
  std::string list;
  for (auto s = d->schemes; *s; ++s) {
    by_scheme_[*s] = drivers_.size() - 1;
    list += (list.empty() ? "" : ", ") + std::string(*s);
  }
  for (auto& c : claims) {
    by_kind_[c] = drivers_.size() - 1;
    list +=
        (list.empty() ? "" : ", ") + std::string(kind_name(c.first)) + "s of " + c.second;
  }
  log_info("plugin " + path + ": driver '" + d->name + "' " +
           (d->version ? d->version : "") + " (ABI " + std::to_string(d->abi_major) +
           "." + std::to_string(d->abi_minor) + ") serves " + list);
  return true;
}

size_t driver_table::load_directory(const std::string& dir) {
  DIR* dh = ::opendir(dir.c_str());
  if (!dh) {
    log_error("plugin directory " + dir + " cannot be read; no driver is loaded");
    return 0;
  }
  std::vector<std::string> files;
  while (dirent* e = ::readdir(dh)) {
    std::string n = e->d_name;
    if (n.size() > 3 && n.compare(n.size() - 3, 3, ".so") == 0)
      files.push_back(dir + "/" + n);
  }
  ::closedir(dh);
  std::sort(files.begin(), files.end());
  size_t loaded = 0;
  for (auto& f : files)
    loaded += load_file(f) ? 1 : 0;
  return loaded;
}

const loaded_driver* driver_table::find(const std::string& scheme) const {
  auto it = by_scheme_.find(scheme);
  return it == by_scheme_.end() ? nullptr : &drivers_[it->second];
}

const loaded_driver* driver_table::find(const std::string& scheme, int32_t kind) const {
  if (kind == DOMUS_OBJECT_DOMAIN)
    return find(scheme);
  auto it = by_kind_.find({kind, scheme});
  if (it != by_kind_.end())
    return &drivers_[it->second];
  // "*": every scheme a driver serves domains for, and no other.
  if (!by_scheme_.count(scheme))
    return nullptr;
  it = by_kind_.find({kind, "*"});
  return it == by_kind_.end() ? nullptr : &drivers_[it->second];
}

std::vector<std::string> driver_table::schemes() const {
  std::vector<std::string> out;
  for (auto& [s, _] : by_scheme_)
    out.push_back(s);
  return out;
}

std::string bundled_plugin_dir() {
  char exe[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n <= 0)
    return DOMUS_BUILD_PLUGIN_DIR;
  exe[n] = 0;
  std::string dir(exe);
  dir = dir.substr(0, dir.rfind('/'));
  char build[PATH_MAX];
  if (::realpath(DOMUS_BUILD_BIN_DIR, build) && dir == build)
    return DOMUS_BUILD_PLUGIN_DIR;
  // Installed: <prefix>/sbin/domusd and <prefix>/<libdir>/domus/plugins.
  return dir + "/" + DOMUS_PLUGIN_DIR_FROM_SBIN;
}

} // namespace domus::runtime
