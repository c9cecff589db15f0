// Child processes for integration tests: run to completion with captured output, or run
// in the background and read their output as it comes, always with a bound.
#pragma once

#include "test_files.hpp"

#include <chrono>
#include <map>
#include <string>
#include <vector>

namespace domus::testing {

/// What a finished process printed and how it ended.
struct run_result {
  std::string out;
  std::string err;
  int status = -1; ///< exit status, or 128 + signal
};

/// Runs argv with stdin_text on its stdin; extra environment entries added. Fails the
/// test (throws) if it has not finished within timeout.
run_result run(const std::vector<std::string>& argv, const std::string& stdin_text = "",
               const std::map<std::string, std::string>& env = {},
               std::chrono::milliseconds timeout = std::chrono::seconds(30));

/// A process running in the background with its stdout and stderr captured.
class child {
public:
  /// With stderr_file set, stderr goes to that file (a daemon's log never fills a pipe).
  child(const std::vector<std::string>& argv,
        const std::map<std::string, std::string>& env = {},
        const std::string& stderr_file = "");
  ~child();
  child(const child&) = delete;
  child& operator=(const child&) = delete;

  int pid() const { return pid_; }
  /// Reads what is available until `text` appears in the stream (1 stdout, 2 stderr), or
  /// throws after timeout naming what was seen.
  void wait_for(int stream, const std::string& text, std::chrono::milliseconds timeout);
  /// Collects output that is available now, waiting at most timeout for some.
  void poll_output(std::chrono::milliseconds timeout = std::chrono::milliseconds(0));
  /// Sends a signal.
  void signal(int sig);
  /// Waits for the exit (throws after timeout); returns the status (128 + signal when
  /// killed) and collects the rest of the output.
  int wait(std::chrono::milliseconds timeout = std::chrono::seconds(20));
  bool running();
  const std::string& out() const { return out_; }
  const std::string& err() const { return err_; }

private:
  void pump(std::chrono::milliseconds timeout);
  int pid_ = -1;
  int out_fd_ = -1, err_fd_ = -1;
  std::string err_file_;
  std::string out_, err_;
  int status_ = -1;
};

} // namespace domus::testing
