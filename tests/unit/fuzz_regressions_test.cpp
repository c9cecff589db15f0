#define BOOST_TEST_MODULE fuzz_regressions
#include <boost/test/unit_test.hpp>

#include "test_files.hpp"

#include <cstdint>
#include <functional>
#include <map>
#include <string>

// Every input the fuzzers found a crash with (tests/fuzz/regressions/TARGET/), and their
// seed corpora, through the same checks the fuzz targets make (tests/fuzz/fuzz_*.cpp,
// built here with gcc and without libFuzzer): a failed check aborts, and the test with
// it.

int fuzz_request(const uint8_t* data, size_t size);
int fuzz_uri(const uint8_t* data, size_t size);
int fuzz_domain_xml(const uint8_t* data, size_t size);
int fuzz_node_file(const uint8_t* data, size_t size);
int fuzz_storage_xml(const uint8_t* data, size_t size);
int fuzz_image_probe(const uint8_t* data, size_t size);

using namespace domus::testing;

namespace {

const std::map<std::string, std::function<int(const uint8_t*, size_t)>> targets = {
    {"request", fuzz_request},         {"uri", fuzz_uri},
    {"domain_xml", fuzz_domain_xml},   {"node_file", fuzz_node_file},
    {"storage_xml", fuzz_storage_xml}, {"image_probe", fuzz_image_probe},
};

size_t run_folder(const std::string& dir,
                  const std::function<int(const uint8_t*, size_t)>& fn) {
  size_t n = 0;
  for (auto& name : files_ending(dir, "")) {
    if (name[0] == '.')
      continue;
    BOOST_TEST_CONTEXT(dir << "/" << name) {
      std::string data = read_file(dir + "/" + name);
      fn(reinterpret_cast<const uint8_t*>(data.data()), data.size());
      ++n;
    }
  }
  return n;
}

} // namespace

BOOST_AUTO_TEST_CASE(every_crash_found_stays_fixed) {
  size_t n = 0;
  for (auto& [name, fn] : targets)
    n +=
        run_folder(std::string(DOMUS_SOURCE_DIR) + "/tests/fuzz/regressions/" + name, fn);
  BOOST_TEST(n >= 1u);
}

BOOST_AUTO_TEST_CASE(seed_corpora_pass_the_checks) {
  for (auto& [name, fn] : targets)
    BOOST_TEST(run_folder(std::string(DOMUS_SOURCE_DIR) + "/tests/fuzz/corpus/" + name,
                          fn) >= 1u,
               name);
}
