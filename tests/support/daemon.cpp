#include "daemon.hpp"

#include <domus/protocol/client.hpp>

#include <csignal>
#include <regex>
#include <stdexcept>
#include <unistd.h>

namespace domus::testing {

std::string domusd_path() {
  return std::string(DOMUS_BIN_DIR) + "/domusd";
}
std::string domsh_path() {
  return std::string(DOMUS_BIN_DIR) + "/domsh";
}

std::string probe_plugin_dir(const std::vector<std::string>& more,
                             const std::vector<std::string>& bundled) {
  std::string dir = temp_dir("pl");
  for (auto& name : bundled)
    ::symlink((std::string(DOMUS_PLUGIN_DIR) + "/" + name).c_str(),
              (dir + "/" + name).c_str());
  ::symlink((std::string(DOMUS_PLUGIN_DIR) + "/test.so").c_str(),
            (dir + "/test.so").c_str());
  std::vector<std::string> names = {"probe.so", "probe10.so", "probe11.so", "probe12.so",
                                    "probe13.so"};
  names.insert(names.end(), more.begin(), more.end());
  for (auto& name : names) {
    std::string base = name.substr(name.rfind('/') + 1);
    ::symlink((std::string(DOMUS_TEST_PLUGIN_DIR) + "/" + name).c_str(),
              (dir + "/" + base).c_str());
  }
  return dir;
}

std::string probe_xml(const std::string& name) {
  return "<domain type='probe'><name>" + name +
         "</name><memory>1024</memory><os><type>hvm</type></os></domain>";
}

bool wait_until_answering(const std::string& socket, std::chrono::milliseconds timeout,
                          child* proc) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (proc && !proc->running())
      return false;
    try {
      protocol::connection c(socket, false);
      c.check_listening();
      auto r =
          c.call("", "events.ping", {{"token", "ready"}}, std::chrono::milliseconds(200));
      if (r.ok)
        return true;
    } catch (const protocol::error&) {
    }
    if (proc)
      proc->poll_output(std::chrono::milliseconds(20));
  }
  return false;
}

daemon_process::daemon_process(std::vector<std::string> extra, std::string root,
                               std::map<std::string, std::string> env)
    : root_(root.empty() ? temp_dir("d") : std::move(root)) {
  std::vector<std::string> argv = {domusd_path(), "--root", root_};
  argv.insert(argv.end(), extra.begin(), extra.end());
  proc_ = std::make_unique<child>(argv, env, root_ + "/domusd.log");
  try {
    proc_->wait_for(2, " ready; ", std::chrono::seconds(20));
  } catch (const std::exception& e) {
    throw std::runtime_error(std::string("domusd did not become ready: ") + e.what());
  }
  if (!wait_until_answering(socket(), std::chrono::seconds(10)))
    throw std::runtime_error("domusd did not answer on " + socket() + "\n" +
                             proc_->err());
}

daemon_process::~daemon_process() {
  if (!stopped_) {
    try {
      stop();
    } catch (...) {
    }
  }
}

std::string daemon_process::uri(const std::string& path,
                                const std::string& scheme) const {
  return scheme + "://" + path + "?socket=" + socket();
}

int daemon_process::stop() {
  stopped_ = true;
  proc_->signal(SIGTERM);
  return proc_->wait();
}

void daemon_process::kill9() {
  stopped_ = true;
  proc_->signal(SIGKILL);
  proc_->wait();
}

std::string daemon_process::log() {
  proc_->poll_output();
  return proc_->err();
}

run_result daemon_process::domsh(const std::vector<std::string>& args,
                                 const std::string& stdin_text, const std::string& path,
                                 const std::string& scheme) {
  std::vector<std::string> argv = {domsh_path(), "-c", uri(path, scheme)};
  argv.insert(argv.end(), args.begin(), args.end());
  return run(argv, stdin_text);
}

std::string mask_cpu_time(const std::string& text) {
  static const std::regex cpu(R"(CPU time:       [0-9.]+s\n)");
  return std::regex_replace(text, cpu, "");
}

} // namespace domus::testing
