#include "daemon/paths.hpp"

#include <domus/protocol/errors.hpp>

#include <cerrno>
#include <climits>
#include <cstdio>
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
            r + "/var/log/domus", r + "/var/cache/domus"};
  }
  if (::geteuid() == 0)
    return {"/etc/domus", "/var/lib/domus", "/run/domus", "/var/log/domus",
            "/var/cache/domus"};
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
          runtime_dir + "/domus", data + "/log",
          env_or("XDG_CACHE_HOME", home + "/.cache") + "/domus"};
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

unsigned run_dir_mode(unsigned rw_socket_mode, unsigned ro_socket_mode,
                      unsigned events_socket_mode) {
  unsigned any = rw_socket_mode | ro_socket_mode | events_socket_mode;
  unsigned mode = private_dir_mode;
  if (any & 0070)
    mode |= 0010;
  if (any & 0007)
    mode |= 0001;
  return mode;
}

void make_tree_dir(const std::string& path, unsigned mode) {
  if (::mkdir(path.c_str(), mode) != 0 && errno != EEXIST)
    throw error(errc::config_error,
                "cannot create directory " + path + ": " + std::strerror(errno));
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0)
    throw error(errc::config_error, "cannot read " + path + ": " + std::strerror(errno));
  if (S_ISLNK(st.st_mode))
    throw error(errc::config_error,
                path + " is a symbolic link; the daemon's directories must be real "
                       "directories (remove the link)");
  if (!S_ISDIR(st.st_mode))
    throw error(errc::config_error, path + " exists and is not a directory");
  if (st.st_uid != ::geteuid())
    throw error(errc::config_error, path + " is owned by uid " +
                                        std::to_string(st.st_uid) +
                                        ", not by the daemon's user (uid " +
                                        std::to_string(::geteuid()) + ")");
  if (st.st_mode & (S_IWGRP | S_IWOTH))
    throw error(
        errc::config_error, path + " is writable by other users (mode " + [&] {
          char buf[8];
          std::snprintf(buf, sizeof buf, "%04o", st.st_mode & 07777);
          return std::string(buf);
        }() + "); the daemon's directories must be writable by its user alone");
  if ((st.st_mode & 07777) != mode && ::chmod(path.c_str(), mode) != 0)
    throw error(errc::config_error,
                "cannot set the mode of " + path + ": " + std::strerror(errno));
}

void create_directories(const daemon_paths& p, unsigned run_mode) {
  for (auto* d : {&p.etc, &p.lib, &p.run, &p.log, &p.cache}) {
    auto slash = d->rfind('/');
    if (slash != std::string::npos && slash > 0)
      make_dirs(d->substr(0, slash), 0755);
    make_tree_dir(*d, d == &p.run ? run_mode : private_dir_mode);
  }
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
