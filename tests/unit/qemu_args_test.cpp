// The QEMU driver's command lines against libvirt's: every NAME.args of
// ../shared/conformance/libvirt/domain (what libvirt's QEMU driver runs for NAME.in.xml)
// and Domus's command line for the same definition, each read as options (name, what
// identifies it: a device's id, a -global's property; its properties). Every option or
// property of libvirt's that Domus lacks or sets otherwise fails the test, unless
// tests/data/qemu/libvirt-args/ names it with the reason: NAME.differs for one case,
// all.differs for every case, one "DIFFERENCE-PREFIX | reason" per line. A line that no
// longer matches anything fails too (the difference is gone: remove it).
#define BOOST_TEST_MODULE qemu_args_unit
#include <boost/test/unit_test.hpp>

#include "qemu_fixture.hpp"
#include "test_files.hpp"

#include "qemu_command.hpp"
#include "qemu_defaults.hpp"

#include <domus/errors.hpp>

#include <nlohmann/json.hpp>

#include <map>
#include <set>

using namespace domus::qemu_driver;
using namespace domus::testing;
using nlohmann::json;

namespace {

const std::string corpus = std::string(DOMUS_CONFORMANCE_DIR) + "/domain/";
const std::string sidecars =
    std::string(DOMUS_SOURCE_DIR) + "/tests/data/qemu/libvirt-args/";

// The words of a shell command line: backslash-newline joins lines, single quotes
// group; libvirt writes nothing else.
std::vector<std::string> shell_words(const std::string& text) {
  std::vector<std::string> out;
  std::string word;
  bool in_word = false, quoted = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (quoted) {
      if (c == '\'')
        quoted = false;
      else
        word += c;
      continue;
    }
    if (c == '\\' && i + 1 < text.size() && text[i + 1] == '\n') {
      ++i;
      continue;
    }
    if (c == '\'') {
      quoted = in_word = true;
      continue;
    }
    if (c == ' ' || c == '\n' || c == '\t') {
      if (in_word)
        out.push_back(word);
      word.clear();
      in_word = false;
      continue;
    }
    word += c;
    in_word = true;
  }
  if (in_word)
    out.push_back(word);
  return out;
}

// One option of a command line.
struct option_item {
  std::string name;                         // "-device"
  std::string key;                          // "net0", a -global's property, ...
  std::map<std::string, std::string> props; // "" holds a list's first, bare element
};

// A QEMU option list "first,k=v,..." (",," a comma) as properties.
std::map<std::string, std::string> option_list(const std::string& value) {
  std::map<std::string, std::string> out;
  std::vector<std::string> parts(1);
  for (size_t i = 0; i < value.size(); ++i) {
    if (value[i] == ',' && i + 1 < value.size() && value[i + 1] == ',') {
      parts.back() += ',';
      ++i;
    } else if (value[i] == ',') {
      parts.emplace_back();
    } else {
      parts.back() += value[i];
    }
  }
  for (size_t i = 0; i < parts.size(); ++i) {
    auto eq = parts[i].find('=');
    if (eq == std::string::npos)
      out[i == 0 ? "" : parts[i]] = i == 0 ? parts[i] : "on";
    else
      out[parts[i].substr(0, eq)] = parts[i].substr(eq + 1);
  }
  return out;
}

// The options of a command line (the environment and the binary skipped); a machine
// alias becomes the machine the fixture's binary has for it, the one rewrite.
std::vector<option_item> options_of(const std::vector<std::string>& words) {
  static const std::set<std::string> flags = {
      "-S",         "-no-user-config", "-nodefaults", "-no-shutdown",
      "-no-reboot", "-no-hpet",        "-no-acpi",    "-enable-kvm"};
  std::vector<option_item> out;
  size_t i = 0;
  while (i < words.size() && words[i].find('=') != std::string::npos &&
         words[i][0] != '-')
    ++i; // the environment
  for (++i; i < words.size(); ++i) {
    option_item it;
    it.name = words[i];
    std::string value;
    if (!flags.count(it.name) && i + 1 < words.size())
      value = words[++i];
    if (!value.empty() && value[0] == '{') {
      json j = json::parse(value, nullptr, false);
      for (auto& [k, v] : j.items())
        it.props[k] = v.is_string() ? v.get<std::string>() : v.dump();
    } else if (!value.empty()) {
      it.props = option_list(value);
    }
    if (it.name == "-global") {
      auto eq = value.find('=');
      it.key = value.substr(0, eq);
      it.props = {{"", eq == std::string::npos ? "" : value.substr(eq + 1)}};
    } else if (it.props.count("id")) {
      it.key = it.props["id"];
    } else if (it.props.count("node-name")) {
      it.key = it.props["node-name"];
    }
    if (it.name == "-machine")
      for (const auto& m : debian_qemu_caps().machines)
        if (it.props[""] == m.alias)
          it.props[""] = m.name;
    out.push_back(std::move(it));
  }
  return out;
}

// Domus's command line for a case, as the driver builds it when it starts (the monitor
// a descriptor, as libvirt's test has it), or why it refuses.
std::vector<std::string> domus_argv(const std::string& name, std::string& refused) {
  try {
    auto def = domus::model::parse_domain(read_file(corpus + name + ".in.xml"), name);
    domus::model::normalize(def);
    apply_qemu_defaults(def, debian_qemu_caps());
    return build_argv(
        def, debian_qemu_caps(),
        monitor_spec{1729, "", "/run/domus/channel/" + def.uuid_string(), {}},
        def.type == "kvm");
  } catch (const domus::error& e) {
    refused = e.what();
    return {};
  }
}

// What libvirt's command line has that Domus's lacks or sets otherwise.
std::vector<std::string> differences(const std::vector<option_item>& theirs,
                                     const std::vector<option_item>& ours) {
  std::vector<std::string> out;
  for (const auto& t : theirs) {
    std::string what = t.name + (t.key.empty() ? "" : " " + t.key);
    auto o = std::find_if(ours.begin(), ours.end(), [&](const option_item& x) {
      return x.name == t.name && x.key == t.key;
    });
    if (o == ours.end()) {
      out.push_back(what + ": missing");
      continue;
    }
    for (const auto& [k, v] : t.props) {
      auto p = o->props.find(k);
      std::string prop = k.empty() ? "value" : k;
      if (p == o->props.end())
        out.push_back(what + ": " + prop + " missing (libvirt: " + v + ")");
      else if (p->second != v)
        out.push_back(what + ": " + prop + " '" + p->second + "' (libvirt: " + v + ")");
    }
  }
  return out;
}

// "PREFIX | reason" lines of a sidecar.
std::vector<std::string> named(const std::string& path) {
  std::vector<std::string> out;
  std::string text = read_file(path);
  for (size_t at = 0; at < text.size();) {
    size_t end = text.find('\n', at);
    std::string line = text.substr(at, end == std::string::npos ? end : end - at);
    at = end == std::string::npos ? text.size() : end + 1;
    auto bar = line.find(" | ");
    if (!line.empty() && line[0] != '#' && bar != std::string::npos)
      out.push_back(line.substr(0, bar));
  }
  return out;
}

} // namespace

BOOST_AUTO_TEST_CASE(libvirt_command_lines_are_matched_or_their_differences_named) {
  auto cases = files_ending(corpus, ".args");
  BOOST_TEST_REQUIRE(cases.size() >= 20u, "libvirt's corpus not found at " << corpus);
  auto everywhere = named(sidecars + "all.differs");
  std::set<std::string> used_everywhere;
  for (const auto& name : cases) {
    BOOST_TEST_CONTEXT("case " << name) {
      std::string refused;
      auto ours = options_of(domus_argv(name, refused));
      auto theirs = options_of(shell_words(read_file(corpus + name + ".args")));
      BOOST_TEST_REQUIRE(!theirs.empty());
      std::vector<std::string> found;
      if (!refused.empty())
        found.push_back("refused: " + refused);
      else
        found = differences(theirs, ours);
      auto mine = named(sidecars + name + ".differs");
      std::set<std::string> used;
      for (const auto& d : found) {
        bool known = false;
        for (const auto& p : mine)
          if (d.rfind(p, 0) == 0)
            known = true, used.insert(p);
        for (const auto& p : everywhere)
          if (d.rfind(p, 0) == 0)
            known = true, used_everywhere.insert(p);
        BOOST_TEST(known, "not named in " << name << ".differs or all.differs: " << d);
      }
      for (const auto& p : mine)
        BOOST_TEST(used.count(p), name << ".differs names what no longer differs: " << p);
    }
  }
  for (const auto& p : everywhere)
    BOOST_TEST(used_everywhere.count(p), "all.differs names what no case has: " << p);
}

// The reader itself: quoting, continuation lines, the environment, option lists.
BOOST_AUTO_TEST_CASE(command_lines_are_read_as_libvirt_writes_them) {
  auto words = shell_words("LC_ALL=C \\\n/usr/bin/qemu-system-x86_64 \\\n-name "
                           "guest=a,,b,debug-threads=on \\\n-S \\\n-device "
                           "'{\"driver\":\"e1000\",\"id\":\"net0\",\"bootindex\":2}'\n");
  BOOST_TEST(words.size() == 7u);
  auto opts = options_of(words);
  BOOST_TEST_REQUIRE(opts.size() == 3u);
  BOOST_TEST(opts[0].name == "-name");
  BOOST_TEST(opts[0].props["guest"] == "a,b");
  BOOST_TEST(opts[0].props["debug-threads"] == "on");
  BOOST_TEST(opts[1].name == "-S");
  BOOST_TEST(opts[2].key == "net0");
  BOOST_TEST(opts[2].props["bootindex"] == "2");
}
