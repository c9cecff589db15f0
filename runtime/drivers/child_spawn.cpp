#include "drivers/child_spawn.hpp"

#include <algorithm>
#include <cerrno>
#include <climits>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace domus::runtime {

namespace {

// The program's path: as given when it has a '/', else the first executable match in
// PATH (resolved before fork: the child may only make async-signal-safe calls).
std::string resolve(const std::string& file) {
  if (file.find('/') != std::string::npos)
    return file;
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/local/bin:/usr/bin:/bin";
  size_t at = 0;
  while (at <= dirs.size()) {
    size_t colon = std::min(dirs.find(':', at), dirs.size());
    std::string dir = dirs.substr(at, colon - at);
    at = colon + 1;
    std::string candidate = (dir.empty() ? "." : dir) + "/" + file;
    if (::access(candidate.c_str(), X_OK) == 0)
      return candidate;
  }
  return "";
}

// The groups a child runs with, `gid` first: with a uid, that user's account's
// supplementary groups too (a uid without an account gets its group alone); without
// one, the gid alone. The primary group defaults to the account's (else the uid).
std::vector<gid_t> groups_for(std::optional<uid_t> uid, std::optional<gid_t> gid) {
  if (!uid)
    return {*gid};
  struct passwd pw {
  }, *found = nullptr;
  std::vector<char> buf(16384);
  bool known = ::getpwuid_r(*uid, &pw, buf.data(), buf.size(), &found) == 0 && found;
  gid_t primary = gid.value_or(known ? pw.pw_gid : static_cast<gid_t>(*uid));
  if (!known)
    return {primary};
  int n = 64;
  std::vector<gid_t> out(n);
  while (::getgrouplist(pw.pw_name, primary, out.data(), &n) < 0)
    out.resize(n);
  out.resize(n);
  return out;
}

[[noreturn]] void child_fail(int err_fd, int err) {
  ssize_t w = ::write(err_fd, &err, sizeof err);
  (void)w;
  ::_exit(127);
}

int close_range_syscall(unsigned lo, unsigned hi) {
#ifdef SYS_close_range
  return static_cast<int>(::syscall(SYS_close_range, lo, hi, 0));
#else
  errno = ENOSYS;
  return -1;
#endif
}

// In the child: closes every descriptor from `from` up, but those in `keep` (sorted).
void close_all_but(int from, const std::vector<int>& keep) {
  unsigned lo = static_cast<unsigned>(from);
  for (int k : keep) {
    if (static_cast<unsigned>(k) > lo && close_range_syscall(lo, k - 1) != 0)
      for (int fd = static_cast<int>(lo); fd < k; ++fd)
        ::close(fd);
    lo = static_cast<unsigned>(k) + 1;
  }
  if (close_range_syscall(lo, UINT_MAX) != 0) {
    long max = ::sysconf(_SC_OPEN_MAX);
    for (long fd = lo; fd < max; ++fd)
      ::close(static_cast<int>(fd));
  }
}

} // namespace

int spawn_child(const spawn_request& r, spawned_child& out) {
  if (r.argv.empty() || r.pass_fds.size() > max_pass_fds)
    return -EINVAL;
  std::vector<int> keep; // the child's numbers that stay open past 0-2
  for (auto& p : r.pass_fds) {
    if (p.target < 3 || ::fcntl(p.source, F_GETFD) < 0)
      return -EBADF;
    if (std::count(keep.begin(), keep.end(), p.target))
      return -EINVAL;
    keep.push_back(p.target);
  }
  std::string path = resolve(r.file);
  if (path.empty())
    return -ENOENT;
  std::vector<gid_t> groups;
  if (r.uid || r.gid)
    groups = groups_for(r.uid, r.gid);
  // Everything the child uses is built here: it may not allocate after fork.
  std::vector<char*> argv, envp;
  for (auto& a : r.argv)
    argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  if (r.envp) {
    for (auto& e : *r.envp)
      envp.push_back(const_cast<char*>(e.c_str()));
    envp.push_back(nullptr);
  }
  char** env = r.envp ? envp.data() : environ;
  int devnull = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  if (devnull < 0)
    return -errno;
  int err_pipe[2];
  if (::pipe2(err_pipe, O_CLOEXEC) != 0) {
    int e = errno;
    ::close(devnull);
    return -e;
  }
  int source[3];
  for (int i = 0; i < 3; ++i)
    source[i] = r.stdio[i] >= 0 ? r.stdio[i] : devnull;
  // Above every number involved, sources and targets: where the child first moves each
  // source, so that placing one at its target never clobbers another still to be placed.
  keep.reserve(keep.size() + 1); // the child adds the error pipe without allocating
  int low = std::max({source[0], source[1], source[2], devnull, err_pipe[1], 2});
  for (auto& p : r.pass_fds)
    low = std::max({low, p.source, p.target});
  ++low;

  pid_t pid = ::fork();
  if (pid < 0) {
    int e = errno;
    ::close(devnull);
    ::close(err_pipe[0]);
    ::close(err_pipe[1]);
    return -e;
  }
  if (pid == 0) {
    // The error pipe, above every target, stays open until exec closes it.
    int err = ::fcntl(err_pipe[1], F_DUPFD_CLOEXEC, low);
    if (err < 0)
      child_fail(err_pipe[1], errno);
    if (::setsid() < 0)
      child_fail(err, errno);
    // Each source moved above every number in use first, then placed at its number
    // (dup2 clears close-on-exec there): no placement clobbers a source still waiting.
    // No allocation after fork: the moved numbers live on the stack.
    int moved[3];
    for (int i = 0; i < 3; ++i)
      if ((moved[i] = ::fcntl(source[i], F_DUPFD, low)) < 0)
        child_fail(err, errno);
    int moved_pass[max_pass_fds];
    size_t n_pass = r.pass_fds.size();
    for (size_t i = 0; i < n_pass; ++i)
      if ((moved_pass[i] = ::fcntl(r.pass_fds[i].source, F_DUPFD, low)) < 0)
        child_fail(err, errno);
    for (int i = 0; i < 3; ++i)
      if (::dup2(moved[i], i) < 0)
        child_fail(err, errno);
    for (size_t i = 0; i < n_pass; ++i)
      if (::dup2(moved_pass[i], r.pass_fds[i].target) < 0)
        child_fail(err, errno);
    keep.push_back(err);
    std::sort(keep.begin(), keep.end());
    close_all_but(3, keep);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    for (int s = 1; s < NSIG; ++s)
      if (s != SIGKILL && s != SIGSTOP)
        ::sigaction(s, &dfl, nullptr);
    if (!groups.empty()) {
      if (::setgroups(groups.size(), groups.data()) != 0 || ::setgid(groups[0]) != 0)
        child_fail(err, errno);
    }
    if (r.uid && ::setuid(*r.uid) != 0)
      child_fail(err, errno);
    if (!r.cwd.empty() && ::chdir(r.cwd.c_str()) != 0)
      child_fail(err, errno);
    ::execve(path.c_str(), argv.data(), env);
    child_fail(err, errno);
  }
  ::close(err_pipe[1]);
  ::close(devnull);
  // Our child, unreaped: its pid cannot be reused before we wait for it.
  int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  int pidfd_errno = pidfd < 0 ? errno : 0;
  int child_err = 0;
  ssize_t n;
  do
    n = ::read(err_pipe[0], &child_err, sizeof child_err);
  while (n < 0 && errno == EINTR);
  ::close(err_pipe[0]);
  if (n > 0 || pidfd < 0) {
    if (n <= 0)
      ::kill(pid, SIGKILL);
    int status;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (pidfd >= 0)
      ::close(pidfd);
    return -(n > 0 ? child_err : pidfd_errno);
  }
  ::fcntl(pidfd, F_SETFD, FD_CLOEXEC);
  out.pid = pid;
  out.pidfd = pidfd;
  return 0;
}

} // namespace domus::runtime
