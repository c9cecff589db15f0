#include "test_files.hpp"

#include <algorithm>
#include <cstdlib>
#include <dirent.h>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <unistd.h>

namespace domus::testing {

namespace {

// The directories this program made, removed at its exit: a suite run used to leave
// about two hundred behind in /tmp. Fixtures stop their daemons and unmount their
// filesystems before static destruction, so nothing writes into them by then.
struct scratch_dirs {
  std::vector<std::string> made;
  ~scratch_dirs() {
    if (std::getenv("DOMUS_KEEP_TEST_DIRS"))
      return;
    for (auto& d : made) {
      std::error_code ec; // a directory a test left unremovable stays; exit goes on
      std::filesystem::remove_all(d, ec);
    }
  }
};

scratch_dirs& scratch() {
  static scratch_dirs dirs;
  return dirs;
}

} // namespace

std::string temp_dir(const std::string& tag) {
  std::string tmpl = "/tmp/domus-" + tag + "-XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back(0);
  if (!::mkdtemp(buf.data()))
    throw std::runtime_error("mkdtemp " + tmpl + " failed");
  scratch().made.push_back(buf.data());
  return buf.data();
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool file_exists(const std::string& path) {
  return std::ifstream(path).good();
}

std::vector<std::string> files_ending(const std::string& dir, const std::string& suffix) {
  std::vector<std::string> out;
  if (DIR* d = opendir(dir.c_str())) {
    while (dirent* e = readdir(d)) {
      std::string n = e->d_name;
      if (n.size() > suffix.size() &&
          n.compare(n.size() - suffix.size(), suffix.size(), suffix) == 0)
        out.push_back(n.substr(0, n.size() - suffix.size()));
    }
    closedir(d);
  }
  std::sort(out.begin(), out.end());
  return out;
}

void write_file(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::trunc) << text;
}

std::string billion_laughs_document() {
  std::string doc = "<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [\n <!ENTITY lol \"lol\">\n";
  for (int i = 1; i <= 9; ++i) {
    doc += " <!ENTITY lol" + std::to_string(i) + " \"";
    for (int k = 0; k < 10; ++k)
      doc += "&lol" + (i == 1 ? std::string() : std::to_string(i - 1)) + ";";
    doc += "\">\n";
  }
  return doc + "]>\n<domain type='test'><name>&lol9;</name></domain>\n";
}

bool regenerating() {
  return std::getenv("DOMUS_REGENERATE") != nullptr;
}

} // namespace domus::testing
