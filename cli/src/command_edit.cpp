// edit: the domain's inactive XML in the user's editor, defined again when it changed;
// on an error the user is asked what to do, as virsh asks.
#include "command_table.hpp"
#include "shell.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <sys/wait.h>
#include <unistd.h>

namespace domus::cli {

using protocol::json;

namespace {

// A temporary copy of the XML, removed when done.
class temp_file {
public:
  explicit temp_file(const std::string& text) {
    const char* dir = std::getenv("TMPDIR");
    path_ = std::string(dir && *dir ? dir : "/tmp") + "/domshXXXXXX.xml";
    int fd = mkstemps(path_.data(), 4);
    if (fd < 0)
      throw std::runtime_error("cannot create a temporary file in " + path_ + ": " +
                               std::strerror(errno));
    bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
    ::close(fd);
    if (!ok)
      throw std::runtime_error("cannot write " + path_ + ": " + std::strerror(errno));
  }
  ~temp_file() { ::unlink(path_.c_str()); }
  temp_file(const temp_file&) = delete;
  temp_file& operator=(const temp_file&) = delete;

  const std::string& path() const { return path_; }
  std::string read() const {
    std::ifstream in(path_, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

private:
  std::string path_;
};

// $VISUAL, else $EDITOR, else vi, run by the shell with the file as its last word (so
// that EDITOR may carry options, as with virsh).
void run_editor(const std::string& file) {
  const char* editor = std::getenv("VISUAL");
  if (!editor || !*editor)
    editor = std::getenv("EDITOR");
  if (!editor || !*editor)
    editor = "vi";
  std::string command = std::string(editor) + " '" + file + "'";
  pid_t pid = ::fork();
  if (pid < 0)
    throw std::runtime_error(std::string("cannot start the editor: ") +
                             std::strerror(errno));
  if (pid == 0) {
    ::execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    throw std::runtime_error(
        "the editor '" + std::string(editor) + "' failed (status " +
        std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status)) +
        "); the definition is unchanged");
}

// What to do after a failed define: y, n, i or f. Only asked on a terminal.
char ask_again() {
  while (true) {
    std::cout << "Failed. Try again? [y,n,i,f,?]: " << std::flush;
    std::string answer;
    if (!std::getline(std::cin, answer))
      return 'n';
    char c = answer.empty() ? '?' : answer[0];
    if (c == 'y' || c == 'n' || c == 'i' || c == 'f')
      return c;
    std::cout << "y - yes, start editor again\n"
                 "n - no, throw away my changes\n"
                 "i - turn off validation and try to redefine again\n"
                 "f - force, try to redefine again\n"
                 "? - print this help\n";
  }
}

} // namespace

bool cmd_edit(shell& sh, const parsed_command& pc) {
  // The definition is read with its secrets, so that defining it again keeps them (a
  // graphics password): that needs the read-write socket.
  if (sh.read_only())
    throw std::runtime_error(
        "edit needs the read-write socket: it reads the definition with its secrets "
        "(as dumpxml --security-info), which the read-only socket refuses, so that "
        "defining it again keeps them");
  json r =
      sh.call("domain.xml",
              {{"domain", *pc.value("domain")}, {"inactive", true}, {"secure", true}});
  const std::string original = r.value("xml", "");
  temp_file file(original);
  bool validate = !pc.flag("skip-validate");
  bool edit = true;
  while (true) {
    if (edit)
      run_editor(file.path());
    std::string edited = file.read();
    if (edited == original) {
      std::cout << "Domain '" << r.value("name", *pc.value("domain"))
                << "' XML configuration not changed.\n";
      return true;
    }
    try {
      json d =
          sh.call("domain.define",
                  {{"xml", edited}, {"origin", file.path()}, {"validate", validate}});
      std::cout << "Domain '" << d.value("name", "") << "' XML configuration edited.\n";
      return true;
    } catch (const protocol::error& e) {
      if (e.code() == protocol::errc::no_daemon || !::isatty(STDIN_FILENO))
        throw;
      shell::error(e.what());
    }
    char answer = ask_again();
    if (answer == 'n')
      throw std::runtime_error("edit abandoned; the definition is unchanged");
    edit = answer == 'y';
    if (answer == 'i')
      validate = false;
  }
}

} // namespace domus::cli
