// The layering rules of docs/architecture.md ("Rooms"), read off every source's #include
// lines. The compiler enforces the third-party part for each library
// (cmake/DomusBoundaries.cmake); this test also covers headers no library compiles on
// its own, the rooms of the runtime, and what the drivers may reach.
#define BOOST_TEST_MODULE layout
#include <boost/test/unit_test.hpp>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

namespace fs = std::filesystem;

namespace {

const std::vector<std::string> caf = {"caf/"};
const std::vector<std::string> libuv = {"uv.h", "uv/"};
const std::vector<std::string> zeromq = {"zmq.h", "zmq.hpp", "zmq_addon.hpp",
                                         "zmq_utils.h"};
const std::vector<std::string> caf_rooms = {"gateway/", "drivers/", "actors/"};
const std::vector<std::string> runtime_rooms = {"daemon/", "persist/", "gateway/",
                                                "drivers/", "actors/"};

/// One rule: sources under `scope` (minus `except`) never include what starts with one
/// of `forbidden`.
struct rule {
  std::string scope;
  std::vector<std::string> except;
  std::vector<std::vector<std::string>> forbidden;
  std::string why;
};

const std::vector<rule>& rules() {
  static const std::vector<rule> table = {
      {"errors",
       {},
       {caf, libuv, zeromq, runtime_rooms, {"domus/protocol/", "domus/model/"}},
       "the error catalogue is a leaf"},
      {"protocol", {}, {caf, libuv, runtime_rooms}, "protocol never reaches the runtime"},
      {"cli", {}, {caf, libuv, runtime_rooms}, "cli never reaches the runtime"},
      {"model",
       {},
       {caf, libuv, zeromq, runtime_rooms, {"domus/protocol/"}},
       "the model never reaches CAF, ZeroMQ or the protocol"},
      {"plugins",
       {},
       {caf, libuv, zeromq, runtime_rooms, {"domus/protocol/"}},
       "drivers reach only the ABI header and the model library"},
      {"tests/plugins",
       {},
       {caf, libuv, zeromq, runtime_rooms, {"domus/protocol/"}},
       "drivers reach only the ABI header and the model library"},
      {"runtime/daemon",
       {"runtime/daemon/main.cpp", "runtime/daemon/accept_guard.cpp"},
       {caf, libuv, zeromq, caf_rooms},
       "daemon plumbing never reaches CAF (main.cpp wires the rest)"},
      {"runtime/persist",
       {},
       {caf, libuv, zeromq, caf_rooms},
       "persistence never reaches CAF"},
  };
  return table;
}

std::string source_dir() {
  return DOMUS_SOURCE_DIR;
}

bool is_source(const fs::path& p) {
  auto e = p.extension();
  return e == ".cpp" || e == ".hpp" || e == ".c" || e == ".h";
}

/// The sources under `dir`, relative to the source tree.
std::vector<std::string> sources_under(const std::string& dir) {
  std::vector<std::string> out;
  for (auto& e : fs::recursive_directory_iterator(source_dir() + "/" + dir))
    if (e.is_regular_file() && is_source(e.path()))
      out.push_back(fs::relative(e.path(), source_dir()).string());
  std::sort(out.begin(), out.end());
  return out;
}

struct include_line {
  int line;
  std::string target; ///< what is between <> or ""
  bool quoted;
};

std::vector<include_line> includes_of(std::istream& in) {
  static const std::regex inc(R"(^\s*#\s*include\s*([<"])([^>"]+)[>"])");
  std::vector<include_line> out;
  std::string text;
  for (int n = 1; std::getline(in, text); ++n) {
    std::smatch m;
    if (std::regex_search(text, m, inc))
      out.push_back({n, m[2], m[1] == "\""});
  }
  return out;
}

bool starts_with(const std::string& s, const std::string& prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

/// The violations of `r` in one file's text: "FILE:LINE: <target>: why".
std::vector<std::string> violations(const rule& r, const std::string& file,
                                    std::istream& text) {
  std::vector<std::string> out;
  for (auto& inc : includes_of(text))
    for (auto& family : r.forbidden)
      for (auto& prefix : family)
        if (starts_with(inc.target, prefix))
          out.push_back(file + ":" + std::to_string(inc.line) + ": " + inc.target + ": " +
                        r.why);
  return out;
}

bool excepted(const rule& r, const std::string& file) {
  return std::find(r.except.begin(), r.except.end(), file) != r.except.end();
}

} // namespace

BOOST_AUTO_TEST_CASE(every_source_keeps_to_its_room) {
  for (auto& r : rules()) {
    auto files = sources_under(r.scope);
    // A rule over an empty or misspelled folder would pass for nothing.
    BOOST_TEST_REQUIRE(!files.empty(), "no sources under " << r.scope);
    for (auto& f : files) {
      if (excepted(r, f))
        continue;
      std::ifstream in(source_dir() + "/" + f);
      BOOST_TEST_REQUIRE(in.good(), f);
      for (auto& v : violations(r, f, in))
        BOOST_ERROR(v);
    }
  }
}

// "The runtime never names a driver": its own includes name their room, so no header
// of a driver (plugins/*/) can be reached by a bare name.
BOOST_AUTO_TEST_CASE(runtime_includes_name_their_room) {
  static const std::regex roomed(
      R"(^(daemon|persist|gateway|drivers|actors)/[a-z_]+\.hpp$)");
  size_t checked = 0;
  for (auto& f : sources_under("runtime")) {
    std::ifstream in(source_dir() + "/" + f);
    for (auto& inc : includes_of(in)) {
      if (!inc.quoted)
        continue;
      ++checked;
      BOOST_TEST(std::regex_match(inc.target, roomed),
                 f << ":" << inc.line << ": \"" << inc.target << "\" names no room");
    }
  }
  BOOST_TEST(checked > 50u);
}

// The checker itself finds what it should (a rule that can never fire proves nothing).
BOOST_AUTO_TEST_CASE(the_checker_finds_a_forbidden_include) {
  const rule& persist = rules().back();
  BOOST_TEST_REQUIRE(persist.scope == "runtime/persist");
  std::istringstream bad("#include \"persist/store.hpp\"\n  #  include <caf/actor.hpp>\n"
                         "#include \"actors/messages.hpp\"\n#include <string>\n");
  auto v = violations(persist, "x.cpp", bad);
  BOOST_TEST_REQUIRE(v.size() == 2u);
  BOOST_TEST(v[0] == "x.cpp:2: caf/actor.hpp: persistence never reaches CAF");
  BOOST_TEST(v[1] == "x.cpp:3: actors/messages.hpp: persistence never reaches CAF");
  std::istringstream good(
      "#include \"persist/store.hpp\"\n#include <domus/errors.hpp>\n");
  BOOST_TEST(violations(persist, "y.cpp", good).empty());
}
