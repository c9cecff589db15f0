// Files for data-driven tests: read a case, list a folder's cases, scratch directories.
#pragma once

#include <string>
#include <vector>

namespace domus::testing {

/// The whole file; "" when it cannot be read.
std::string read_file(const std::string& path);

/// Whether the file can be opened for reading.
bool file_exists(const std::string& path);

/// The names in `dir` ending with `suffix`, without it, sorted.
std::vector<std::string> files_ending(const std::string& dir, const std::string& suffix);

/// Writes `text` to the file (golden files regenerated with DOMUS_REGENERATE=1).
void write_file(const std::string& path, const std::string& text);

/// A "billion laughs" document: nine levels of entities, each ten of the one below,
/// expanding to 10^9 copies of "lol" inside `<domain>`'s name.
std::string billion_laughs_document();

/// A fresh directory /tmp/domus-TAG-XXXXXX, short enough for socket paths. It is
/// removed, with all it holds, when the test program exits, unless DOMUS_KEEP_TEST_DIRS
/// is set (to look at a failed test's files and logs).
std::string temp_dir(const std::string& tag = "it");

/// Whether DOMUS_REGENERATE is set: rewrite expected files from what the code does.
bool regenerating();

} // namespace domus::testing
