#include "process.hpp"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <poll.h>
#include <sstream>
#include <stdexcept>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace domus::testing {

namespace {

using clock_type = std::chrono::steady_clock;

int spawn(const std::vector<std::string>& argv,
          const std::map<std::string, std::string>& env, int in_fd, int out_fd,
          int err_fd) {
  std::vector<std::string> envs;
  for (char** e = environ; *e; ++e) {
    std::string kv = *e;
    if (!env.count(kv.substr(0, kv.find('='))))
      envs.push_back(kv);
  }
  for (auto& [k, v] : env)
    envs.push_back(k + "=" + v);
  std::vector<char*> av, ev;
  for (auto& a : argv)
    av.push_back(const_cast<char*>(a.c_str()));
  av.push_back(nullptr);
  for (auto& e : envs)
    ev.push_back(const_cast<char*>(e.c_str()));
  ev.push_back(nullptr);
  pid_t pid = ::fork();
  if (pid < 0)
    throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
  if (pid == 0) {
    // Its own process group, as a shell's foreground job: a test may signal the group.
    ::setpgid(0, 0);
    ::dup2(in_fd, 0);
    ::dup2(out_fd, 1);
    ::dup2(err_fd, 2);
    ::execve(av[0], av.data(), ev.data());
    std::fprintf(stderr, "exec %s: %s\n", av[0], std::strerror(errno));
    ::_exit(127);
  }
  return pid;
}

int decode(int status) {
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

} // namespace

child::child(const std::vector<std::string>& argv,
             const std::map<std::string, std::string>& env,
             const std::string& stderr_file)
    : err_file_(stderr_file) {
  int out[2], err[2];
  if (::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0)
    throw std::runtime_error("pipe failed");
  int err_target = err[1];
  if (!err_file_.empty())
    err_target =
        ::open(err_file_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  int devnull = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  pid_ = spawn(argv, env, devnull, out[1], err_target);
  ::close(devnull);
  ::close(out[1]);
  ::close(err[1]);
  if (!err_file_.empty()) {
    ::close(err_target);
    ::close(err[0]);
    err[0] = -1;
  }
  out_fd_ = out[0];
  err_fd_ = err[0];
}

void child::poll_output(std::chrono::milliseconds timeout) {
  pump(timeout);
}

child::~child() {
  if (status_ < 0 && pid_ > 0) {
    ::kill(pid_, SIGKILL);
    int st;
    ::waitpid(pid_, &st, 0);
  }
  if (out_fd_ >= 0)
    ::close(out_fd_);
  if (err_fd_ >= 0)
    ::close(err_fd_);
}

void child::pump(std::chrono::milliseconds timeout) {
  if (!err_file_.empty())
    err_ = read_file(err_file_);
  pollfd fds[2] = {{out_fd_, POLLIN, 0}, {err_fd_, POLLIN, 0}};
  int n = ::poll(fds, 2, static_cast<int>(timeout.count()));
  if (!err_file_.empty())
    err_ = read_file(err_file_);
  if (n <= 0)
    return;
  char buf[65536];
  for (int i = 0; i < 2; ++i) {
    if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP)))
      continue;
    ssize_t r = ::read(fds[i].fd, buf, sizeof buf);
    if (r > 0)
      (i == 0 ? out_ : err_).append(buf, static_cast<size_t>(r));
    else if (r == 0) {
      ::close(fds[i].fd);
      (i == 0 ? out_fd_ : err_fd_) = -1;
    }
  }
}

void child::wait_for(int stream, const std::string& text,
                     std::chrono::milliseconds timeout) {
  auto deadline = clock_type::now() + timeout;
  for (;;) {
    const std::string& s = stream == 1 ? out_ : err_;
    if (s.find(text) != std::string::npos)
      return;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline -
                                                                      clock_type::now());
    if (left.count() <= 0 || (out_fd_ < 0 && err_fd_ < 0 && err_file_.empty()))
      throw std::runtime_error("'" + text + "' did not appear within " +
                               std::to_string(timeout.count()) + " ms; stdout: " + out_ +
                               "\nstderr: " + err_);
    pump(std::min(left, std::chrono::milliseconds(50)));
  }
}

void child::signal(int sig) {
  if (status_ < 0)
    ::kill(pid_, sig);
}

bool child::running() {
  if (status_ >= 0)
    return false;
  int st;
  if (::waitpid(pid_, &st, WNOHANG) == pid_) {
    status_ = decode(st);
    return false;
  }
  return true;
}

int child::wait(std::chrono::milliseconds timeout) {
  auto deadline = clock_type::now() + timeout;
  while (status_ < 0) {
    int st;
    if (::waitpid(pid_, &st, WNOHANG) == pid_) {
      status_ = decode(st);
      break;
    }
    if (clock_type::now() > deadline)
      throw std::runtime_error("process " + std::to_string(pid_) +
                               " did not exit within " + std::to_string(timeout.count()) +
                               " ms; stderr: " + err_);
    pump(std::chrono::milliseconds(20));
  }
  while (out_fd_ >= 0 || err_fd_ >= 0)
    pump(std::chrono::milliseconds(100));
  pump(std::chrono::milliseconds(0));
  return status_;
}

run_result run(const std::vector<std::string>& argv, const std::string& stdin_text,
               const std::map<std::string, std::string>& env,
               std::chrono::milliseconds timeout) {
  std::string dir = temp_dir("in");
  std::string in_path = dir + "/stdin";
  write_file(in_path, stdin_text);
  int in_fd = ::open(in_path.c_str(), O_RDONLY | O_CLOEXEC);
  int out[2], err[2];
  if (::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0)
    throw std::runtime_error("pipe failed");
  int pid = spawn(argv, env, in_fd, out[1], err[1]);
  ::close(in_fd);
  ::close(out[1]);
  ::close(err[1]);
  ::unlink(in_path.c_str());
  ::rmdir(dir.c_str());
  run_result r;
  int fds[2] = {out[0], err[0]};
  auto deadline = clock_type::now() + timeout;
  char buf[65536];
  while (fds[0] >= 0 || fds[1] >= 0) {
    if (clock_type::now() > deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0); // not left a zombie: PID 1 here may never reap it
      for (int fd : fds)
        if (fd >= 0)
          ::close(fd);
      throw std::runtime_error("'" + argv[0] + "' did not finish within " +
                               std::to_string(timeout.count()) + " ms");
    }
    pollfd p[2] = {{fds[0], POLLIN, 0}, {fds[1], POLLIN, 0}};
    if (::poll(p, 2, 100) <= 0)
      continue;
    for (int i = 0; i < 2; ++i) {
      if (fds[i] < 0 || !(p[i].revents & (POLLIN | POLLHUP)))
        continue;
      ssize_t n = ::read(fds[i], buf, sizeof buf);
      if (n > 0)
        (i == 0 ? r.out : r.err).append(buf, static_cast<size_t>(n));
      else {
        ::close(fds[i]);
        fds[i] = -1;
      }
    }
  }
  int st = 0;
  ::waitpid(pid, &st, 0);
  r.status = decode(st);
  return r;
}

} // namespace domus::testing
