// edit: the domain's inactive XML in the user's editor, defined again when it changed;
// on an error the user is asked what to do, as virsh asks.
#include "command_table.hpp"
#include "shell.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
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

// What an edit works on: the document, how virsh names the object in its messages, and
// how a changed document is defined again.
struct edit_target {
  std::string original;
  std::string label; ///< "Domain 'test'", "Pool default-pool"
  std::function<void(const std::string& xml, const std::string& origin, bool validate)>
      define;
};

// The editing loop virsh runs: the editor, then a define when the document changed; on
// an error on a terminal, the question.
bool edit_loop(const edit_target& t) {
  temp_file file(t.original);
  bool validate = true;
  bool edit = true;
  while (true) {
    if (edit)
      run_editor(file.path());
    std::string edited = file.read();
    if (edited == t.original) {
      std::cout << t.label << " XML configuration not changed.\n";
      return true;
    }
    try {
      t.define(edited, file.path(), validate);
      std::cout << t.label << " XML configuration edited.\n";
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
  edit_target t;
  t.original = r.value("xml", "");
  t.label = "Domain '" + r.value("name", *pc.value("domain")) + "'";
  bool skip = pc.flag("skip-validate");
  t.define = [&](const std::string& xml, const std::string& origin, bool validate) {
    sh.call("domain.define",
            {{"xml", xml}, {"origin", origin}, {"validate", validate && !skip}});
  };
  return edit_loop(t);
}

bool cmd_pool_edit(shell& sh, const parsed_command& pc) {
  std::string pool = *pc.value("pool");
  json r = sh.call("pool.xml", {{"pool", pool}, {"inactive", true}});
  json info = sh.call("pool.info", {{"pool", pool}});
  edit_target t;
  t.original = r.value("xml", "");
  t.label = "Pool " + info.value("name", pool);
  t.define = [&](const std::string& xml, const std::string& origin, bool validate) {
    sh.call("pool.define", {{"xml", xml}, {"origin", origin}, {"validate", validate}});
  };
  return edit_loop(t);
}

} // namespace domus::cli
