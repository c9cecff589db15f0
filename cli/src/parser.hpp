// Command lines as virsh reads them: shell-like words, commands separated by ';' or
// newlines, options bound to a command's table row.
#pragma once

#include "command_table.hpp"

#include <stdexcept>
#include <string>
#include <vector>

namespace domus::cli {

/// A command line that cannot be parsed; the message is virsh's wording.
class parse_error : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

/// Splits text into commands (';' or newline) of words (quotes and backslashes as in a
/// shell). Throws parse_error on an unterminated quote.
std::vector<std::vector<std::string>> split_commands(const std::string& text);

/// Binds the words of one command (name first) to its row. Throws parse_error.
parsed_command bind_command(const std::vector<std::string>& words);

/// Splits and binds a whole line; nothing runs when any command fails to parse.
std::vector<parsed_command> parse_line(const std::string& text);

} // namespace domus::cli
