#include "drivers/open_arguments.hpp"

#include <domus/protocol/errors.hpp>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <sys/stat.h>

namespace domus::runtime {

void open_arguments::fill(uint32_t flags, const domus_host_v1* host) {
  abi_settings.clear();
  for (auto& c : settings)
    abi_settings.push_back(
        {c.key.c_str(), c.value.c_str(), static_cast<uint32_t>(c.line)});
  abi = domus_open_args_v1{};
  abi.struct_size = sizeof(domus_open_args_v1);
  abi.uri = uri.c_str();
  abi.scheme = scheme.c_str();
  abi.path = path.c_str();
  abi.state_dir = state_dir.c_str();
  abi.run_dir = run_dir.c_str();
  abi.flags = flags;
  abi.host = host;
  abi.log_dir = log_dir.c_str();
  abi.cache_dir = cache_dir.c_str();
  abi.settings_file = settings_file.c_str();
  abi.settings = abi_settings.empty() ? nullptr : abi_settings.data();
  abi.n_settings = abi_settings.size();
}

std::vector<conf_line> read_settings(const std::string& path) {
  using protocol::errc;
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT)
      return {};
    throw protocol::error(errc::config_error,
                          "cannot read " + path + ": " + std::strerror(errno));
  }
  if (!S_ISREG(st.st_mode))
    throw protocol::error(errc::config_error, path + " is not a regular file");
  if (static_cast<uint64_t>(st.st_size) > max_settings_file_bytes)
    throw protocol::error(errc::config_error,
                          path + " is " + std::to_string(st.st_size) +
                              " bytes, more than a settings file may be (" +
                              std::to_string(max_settings_file_bytes) + ")");
  std::ifstream in(path);
  if (!in)
    throw protocol::error(errc::config_error,
                          "cannot read " + path + ": " + std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  return parse_conf(text.str(), path);
}

} // namespace domus::runtime
