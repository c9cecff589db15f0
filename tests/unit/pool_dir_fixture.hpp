// A fresh dir pool directory for the dir backend's tests, open, with a directory beside
// it ("outside") for what must never be reached through the pool.
#pragma once

#include "test_files.hpp"

#include <boost/test/unit_test.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

struct pool_fixture {
  std::string root = domus::testing::temp_dir("pooldir");
  std::string pool = root + "/pool", outside = root + "/outside";
  int fd = -1;
  pool_fixture() {
    ::mkdir(pool.c_str(), 0755);
    ::mkdir(outside.c_str(), 0755);
    fd = ::open(pool.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    BOOST_REQUIRE(fd >= 0);
  }
  ~pool_fixture() { ::close(fd); }
  pool_fixture(const pool_fixture&) = delete;
  pool_fixture& operator=(const pool_fixture&) = delete;
  /// A symbolic link `name` in the pool to `target`.
  void link(const std::string& target, const std::string& name) const {
    BOOST_REQUIRE(::symlink(target.c_str(), (pool + "/" + name).c_str()) == 0);
  }
  /// lstat of `name` in the pool.
  struct stat stat_of(const std::string& name) const {
    struct stat st {};
    BOOST_REQUIRE(::lstat((pool + "/" + name).c_str(), &st) == 0);
    return st;
  }
};

/// The message of the exception of type E that fn throws ("" when it throws none).
template <class E, class F> std::string message_of(F&& fn) {
  try {
    fn();
    return "";
  } catch (const E& e) {
    return e.what();
  }
}
