#include "paths.hpp"

#include <domus/protocol/errors.hpp>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

namespace domus::runtime {

using protocol::errc;
using protocol::error;

namespace {

std::string absolute(const std::string& p) {
  if (!p.empty() && p[0] == '/')
    return p;
  char cwd[PATH_MAX];
  if (!::getcwd(cwd, sizeof cwd))
    throw error(errc::config_error, std::string("getcwd: ") + std::strerror(errno));
  return std::string(cwd) + "/" + p;
}

std::string env_or(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::string(v) : fallback;
}

std::string strip_trailing_slashes(std::string p) {
  while (p.size() > 1 && p.back() == '/')
    p.pop_back();
  return p;
}

} // namespace

daemon_paths make_paths(const std::string& root) {
  if (!root.empty()) {
    std::string r = strip_trailing_slashes(absolute(root));
    if (r == "/")
      r.clear();
    return {r + "/etc/domus", r + "/var/lib/domus", r + "/run/domus",
            r + "/var/log/domus"};
  }
  if (::geteuid() == 0)
    return {"/etc/domus", "/var/lib/domus", "/run/domus", "/var/log/domus"};
  std::string home = env_or("HOME", "");
  if (home.empty())
    throw error(errc::config_error, "HOME is not set; give --root DIR");
  std::string runtime_dir = env_or("XDG_RUNTIME_DIR", "");
  if (runtime_dir.empty())
    throw error(errc::config_error,
                "XDG_RUNTIME_DIR is not set, so a session daemon has no place for its "
                "sockets; set it or give --root DIR");
  std::string data = env_or("XDG_DATA_HOME", home + "/.local/share") + "/domus";
  return {env_or("XDG_CONFIG_HOME", home + "/.config") + "/domus", data,
          runtime_dir + "/domus", data + "/log"};
}

void make_dirs(const std::string& path, unsigned mode) {
  std::string cur;
  size_t pos = 0;
  while (pos != std::string::npos) {
    pos = path.find('/', pos + 1);
    cur = path.substr(0, pos);
    if (cur.empty())
      continue;
    if (::mkdir(cur.c_str(), mode) != 0 && errno != EEXIST)
      throw error(errc::config_error,
                  "cannot create directory " + cur + ": " + std::strerror(errno));
  }
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    throw error(errc::config_error, path + " exists and is not a directory");
}

void create_directories(const daemon_paths& p) {
  for (auto* d : {&p.etc, &p.lib, &p.run, &p.log})
    make_dirs(*d, 0755);
}

void check_socket_paths(const daemon_paths& p) {
  constexpr size_t limit = sizeof(sockaddr_un{}.sun_path) - 1;
  for (auto& s : {p.rw_socket(), p.ro_socket(), p.events_socket()})
    if (s.size() > limit)
      throw error(errc::config_error,
                  "the socket path " + s + " is " + std::to_string(s.size()) +
                      " bytes long; unix "
                      "sockets allow at most " +
                      std::to_string(limit) + " (choose a shorter --root)");
}

} // namespace domus::runtime
