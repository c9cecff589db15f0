#include "parser.hpp"

namespace domus::cli {

std::vector<std::vector<std::string>> split_commands(const std::string& text) {
  std::vector<std::vector<std::string>> out(1);
  std::string word;
  bool in_word = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == ' ' || c == '\t' || c == '\r') {
      if (in_word)
        out.back().push_back(std::move(word));
      word.clear();
      in_word = false;
    } else if (c == ';' || c == '\n') {
      if (in_word)
        out.back().push_back(std::move(word));
      word.clear();
      in_word = false;
      out.emplace_back();
    } else if (c == '\'' || c == '"') {
      in_word = true;
      size_t end = text.find(c, i + 1);
      if (end == std::string::npos)
        throw parse_error("missing " + std::string(1, c));
      for (size_t j = i + 1; j < end; ++j) {
        if (c == '"' && text[j] == '\\' && j + 1 < end)
          ++j;
        word += text[j];
      }
      i = end;
    } else if (c == '\\') {
      in_word = true;
      if (i + 1 < text.size())
        word += text[++i];
    } else {
      in_word = true;
      word += c;
    }
  }
  if (in_word)
    out.back().push_back(std::move(word));
  std::vector<std::vector<std::string>> nonempty;
  for (auto& cmd : out)
    if (!cmd.empty())
      nonempty.push_back(std::move(cmd));
  return nonempty;
}

parsed_command bind_command(const std::vector<std::string>& words) {
  parsed_command pc;
  pc.spec = find_command(words.at(0));
  if (!pc.spec)
    throw parse_error("unknown command: '" + words[0] + "'");
  const auto& name = pc.spec->name;
  auto seen = [&](std::string_view opt) { return pc.has(opt); };
  auto find_opt = [&](std::string_view opt) -> const option_spec* {
    for (auto& o : pc.spec->options)
      if (o.name == opt)
        return &o;
    return nullptr;
  };
  for (size_t i = 1; i < words.size(); ++i) {
    const std::string& w = words[i];
    if (w.size() > 2 && w.compare(0, 2, "--") == 0) {
      std::string opt = w.substr(2);
      std::optional<std::string> inline_value;
      if (auto eq = opt.find('='); eq != std::string::npos) {
        inline_value = opt.substr(eq + 1);
        opt = opt.substr(0, eq);
      }
      const option_spec* o = find_opt(opt);
      if (!o)
        throw parse_error("command '" + std::string(name) +
                          "' doesn't support option --" + opt);
      if (seen(o->name))
        throw parse_error("option --" + opt + " already seen");
      if (o->kind == option_kind::flag) {
        if (inline_value)
          throw parse_error("option --" + opt + " does not take a value");
        pc.flags.insert(opt);
        continue;
      }
      std::string value;
      if (inline_value)
        value = *inline_value;
      else if (i + 1 < words.size())
        value = words[++i];
      else
        throw parse_error("expected syntax: --" + opt + " <" +
                          (o->kind == option_kind::number ? "number" : "string") + ">");
      if (o->kind == option_kind::number &&
          (value.empty() || value.find_first_not_of("0123456789") != std::string::npos))
        throw parse_error("numeric value '" + value + "' for <" + opt +
                          "> option is malformed "
                          "or out of range");
      pc.values[opt] = value;
      continue;
    }
    // A positional word fills the next positional option not given yet.
    const option_spec* target = nullptr;
    for (auto& o : pc.spec->options)
      if (o.positional && !seen(o.name)) {
        target = &o;
        break;
      }
    if (!target)
      throw parse_error("unexpected data '" + w + "'");
    pc.values[std::string(target->name)] = w;
  }
  for (auto& o : pc.spec->options)
    if (o.required && !seen(o.name))
      throw parse_error("command '" + std::string(name) + "' requires <" +
                        std::string(o.name) + "> option");
  return pc;
}

std::vector<parsed_command> parse_line(const std::string& text) {
  std::vector<parsed_command> out;
  for (auto& words : split_commands(text))
    out.push_back(bind_command(words));
  return out;
}

} // namespace domus::cli
