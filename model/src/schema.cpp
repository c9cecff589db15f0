#include "domus/model/schema.hpp"

#include "domus/model/cpuset.hpp"
#include "domus/model/units.hpp"
#include "domus/model/uuid.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <unordered_set>

namespace domus::model {

using domus::errc;
using domus::error;

namespace vt {
const value_type text{value_type::kind::text, {}};
const value_type uint{value_type::kind::uint, {}};
const value_type sint{value_type::kind::sint, {}};
const value_type hex_uint{value_type::kind::hex_uint, {}};
const value_type uuid{value_type::kind::uuid, {}};
const value_type cpuset{value_type::kind::cpuset, {}};
const value_type mac{value_type::kind::mac, {}};
const value_type yes_no{value_type::kind::choice, {"yes", "no"}};
const value_type on_off{value_type::kind::choice, {"on", "off"}};
} // namespace vt

namespace {

bool all_digits(std::string_view v) {
  return !v.empty() && std::all_of(v.begin(), v.end(), [](char c) {
    return std::isdigit(static_cast<unsigned char>(c));
  });
}

bool all_hex(std::string_view v) {
  return !v.empty() && std::all_of(v.begin(), v.end(), [](char c) {
    return std::isxdigit(static_cast<unsigned char>(c));
  });
}

// Fits in 64 bits as a decimal number.
bool fits_u64(std::string_view digits) {
  while (digits.size() > 1 && digits.front() == '0')
    digits.remove_prefix(1);
  return digits.size() < 20 || (digits.size() == 20 && digits <= "18446744073709551615");
}

std::string quoted(std::string_view v) {
  return "'" + std::string(v) + "'";
}

std::string_view trimmed(std::string_view s) {
  auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos)
    return {};
  auto e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

bool blank(std::string_view s) {
  return trimmed(s).empty();
}

} // namespace

std::optional<std::string> value_type::check(std::string_view v) const {
  switch (k) {
  case kind::text:
    return std::nullopt;
  case kind::uint:
    if (all_digits(v) && fits_u64(v))
      return std::nullopt;
    return quoted(v) + " is not a non-negative integer";
  case kind::sint: {
    auto digits = !v.empty() && v[0] == '-' ? v.substr(1) : v;
    if (all_digits(digits) && digits.size() < 19)
      return std::nullopt;
    return quoted(v) + " is not an integer";
  }
  case kind::hex_uint: {
    bool hex = v.size() > 2 && v[0] == '0' && (v[1] == 'x' || v[1] == 'X');
    if (hex ? all_hex(v.substr(2)) && v.size() <= 18 : all_digits(v) && fits_u64(v))
      return std::nullopt;
    return quoted(v) + " is not a number (decimal, or hexadecimal with 0x)";
  }
  case kind::choice: {
    if (std::find(choices.begin(), choices.end(), v) != choices.end())
      return std::nullopt;
    std::string out = "unknown value " + quoted(v) + " (expected one of ";
    for (size_t i = 0; i < choices.size(); ++i)
      out += (i ? ", " : "") + std::string(choices[i]);
    return out + ")";
  }
  case kind::uuid:
    if (parse_uuid(v))
      return std::nullopt;
    return "malformed UUID " + quoted(v) + " (expected 32 hex digits, dashes optional)";
  case kind::cpuset:
    if (parse_cpuset(v))
      return std::nullopt;
    return "malformed CPU list " + quoted(v) + " (expected numbers and ranges below " +
           std::to_string(cpuset_limit) + " such as '0-3,^2,8')";
  case kind::mac: {
    bool ok = v.size() == 17;
    for (size_t i = 0; ok && i < 17; ++i)
      ok = (i % 3 == 2) ? v[i] == ':'
                        : std::isxdigit(static_cast<unsigned char>(v[i])) != 0;
    if (ok)
      return std::nullopt;
    return "malformed MAC address " + quoted(v) +
           " (expected six hex pairs like 52:54:00:12:34:56)";
  }
  }
  return std::nullopt;
}

namespace {

// FNV-1a over the name: element names are short.
size_t name_hash(std::string_view n) {
  uint32_t h = 2166136261u;
  for (char c : n)
    h = (h ^ static_cast<unsigned char>(c)) * 16777619u;
  return h;
}

} // namespace

const child_rule* elem_rule::find_child(std::string_view n) const {
  if (!child_slots.empty()) {
    size_t mask = child_slots.size() - 1;
    for (size_t i = name_hash(n) & mask;; i = (i + 1) & mask) {
      uint32_t slot = child_slots[i];
      if (!slot)
        return nullptr;
      if (children[slot - 1].rule->name == n)
        return &children[slot - 1];
    }
  }
  for (auto& c : children)
    if (c.rule->name == n)
      return &c;
  return nullptr;
}

const elem_rule* index_rules(elem_rule* root) {
  // Below this many children a scan is as fast as a lookup.
  constexpr size_t wide = 5;
  std::vector<elem_rule*> todo{root};
  std::unordered_set<const elem_rule*> seen{root};
  while (!todo.empty()) {
    elem_rule* r = todo.back();
    todo.pop_back();
    if (r->children.size() >= wide) {
      size_t size = 4;
      while (size < 2 * r->children.size()) // at most half full: short probes
        size *= 2;
      r->child_slots.assign(size, 0);
      for (size_t c = 0; c < r->children.size(); ++c) {
        size_t i = name_hash(r->children[c].rule->name) & (size - 1);
        bool taken = false; // a name given twice resolves to its first rule, as a scan
        for (; r->child_slots[i]; i = (i + 1) & (size - 1))
          taken = taken || r->children[r->child_slots[i] - 1].rule->name ==
                               r->children[c].rule->name;
        if (!taken)
          r->child_slots[i] = static_cast<uint32_t>(c + 1);
      }
    }
    for (auto& c : r->children)
      if (seen.insert(c.rule).second)
        // Every rule is made non-const by schema_build's `new`; only the table's
        // pointers to it are const.
        todo.push_back(const_cast<elem_rule*>(c.rule));
  }
  return root;
}

const attr_rule* elem_rule::find_attr(std::string_view n) const {
  for (auto& a : attrs)
    if (a.name == n)
      return &a;
  return nullptr;
}

xml_node& place_child(xml_node& parent, const elem_rule& rule, std::string_view name) {
  if (auto* c = parent.child(name))
    return *c;
  const child_rule* want = rule.find_child(name);
  auto pos = std::find_if(parent.children.begin(), parent.children.end(), [&](auto& c) {
    if (c.is_text)
      return false;
    const child_rule* cr = rule.find_child(c.name);
    return !cr || cr > want;
  });
  return *parent.children.insert(pos, xml_node::element(std::string(name)));
}

void place_attr(xml_node& el, const elem_rule& rule, std::string_view name,
                std::string value) {
  for (auto& a : el.attrs)
    if (a.name == name) {
      a.value = std::move(value);
      return;
    }
  const attr_rule* want = rule.find_attr(name);
  auto pos = std::find_if(el.attrs.begin(), el.attrs.end(), [&](const xml_attr& a) {
    const attr_rule* ar = rule.find_attr(a.name);
    return !ar || ar > want;
  });
  el.attrs.insert(pos, xml_attr{std::string(name), std::move(value)});
}

bool strip_secrets(xml_node& el, const elem_rule& rule) {
  bool found = false;
  if (rule.mode == elem_rule::content::any)
    return false;
  for (auto& ar : rule.attrs) {
    if (!ar.secret)
      continue;
    auto it = std::find_if(el.attrs.begin(), el.attrs.end(),
                           [&](const xml_attr& a) { return a.name == ar.name; });
    if (it != el.attrs.end()) {
      el.attrs.erase(it);
      found = true;
    }
  }
  for (auto& c : el.children)
    if (!c.is_text)
      if (const child_rule* cr = rule.find_child(c.name))
        found = strip_secrets(c, *cr->rule) || found;
  return found;
}

bool has_secrets(const xml_node& el, const elem_rule& rule) {
  if (rule.mode == elem_rule::content::any)
    return false;
  for (auto& ar : rule.attrs)
    if (ar.secret && el.attr(ar.name))
      return true;
  for (auto& c : el.children)
    if (!c.is_text)
      if (const child_rule* cr = rule.find_child(c.name))
        if (has_secrets(c, *cr->rule))
          return true;
  return false;
}

void fail_at(std::string_view origin, const xml_node& at, std::string_view path,
             const std::string& message, errc code) {
  std::string out(origin);
  if (at.line > 0)
    out += ":" + std::to_string(at.line);
  out += ": ";
  out += path;
  out += ": " + message;
  throw error(code, out);
}

namespace {

// Where an element is, built into text only for an error or a report.
struct node_path {
  const node_path* parent;
  std::string_view name;
  std::string str() const {
    return parent ? parent->str() + "/" + std::string(name) : std::string(name);
  }
};

struct conformer {
  const conform_options& opts;
  conform_report& report;

  void unknown(const xml_node& at, const std::string& path, const std::string& what) {
    if (opts.strict)
      fail_at(opts.origin, at, path,
              what + " is not in Domus's schema (define without --validate keeps it)");
    report.unknown.push_back(std::to_string(at.line) + ": " + path);
  }

  // Whether values of this type are rewritten in a canonical form (canonical() below).
  static bool has_canonical_form(const value_type& t) {
    return t.k == value_type::kind::uuid || t.k == value_type::kind::mac ||
           t.k == value_type::kind::cpuset;
  }

  // The value written back: canonical forms of typed values.
  std::string canonical(const value_type& t, std::string_view v) {
    switch (t.k) {
    case value_type::kind::uuid:
      return format_uuid(*parse_uuid(v));
    case value_type::kind::cpuset:
      return format_cpuset(*parse_cpuset(v));
    case value_type::kind::mac: {
      std::string out(v);
      for (auto& c : out)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      return out;
    }
    default:
      return std::string(v);
    }
  }

  // Sorts a small vector stably by key, in place (attributes and children are few).
  template <typename T, typename Key> static void sort_by(std::vector<T>& v, Key key) {
    for (size_t i = 1; i < v.size(); ++i) {
      size_t k = key(v[i]);
      if (key(v[i - 1]) <= k)
        continue;
      T moving = std::move(v[i]);
      size_t j = i;
      while (j > 0 && key(v[j - 1]) > k) {
        v[j] = std::move(v[j - 1]);
        --j;
      }
      v[j] = std::move(moving);
    }
  }

  void attributes(xml_node& el, const elem_rule& rule, const node_path& path) {
    size_t unknown_key = rule.attrs.size();
    bool drop = false;
    bool in_order = true; // (as in children())
    size_t last_key = 0;
    for (auto& a : el.attrs) {
      const attr_rule* ar = rule.find_attr(a.name);
      size_t key = ar ? static_cast<size_t>(ar - rule.attrs.data()) : unknown_key;
      in_order = in_order && last_key <= key;
      last_key = key;
      if (!ar) {
        bool ns_decl = a.name == "xmlns" || a.name.rfind("xmlns:", 0) == 0;
        if (!ns_decl && rule.mode != elem_rule::content::any)
          unknown(el, path.str() + "/@" + a.name, "attribute '" + a.name + "'");
        continue;
      }
      if (auto why = ar->type->check(a.value))
        fail_at(opts.origin, el, path.str() + "/@" + a.name, *why);
      if (!ar->unset.empty() && a.value == ar->unset) {
        drop = true;
        a.name.clear(); // dropped below
        continue;
      }
      if (has_canonical_form(*ar->type))
        a.value = canonical(*ar->type, a.value);
    }
    if (drop)
      el.attrs.erase(std::remove_if(el.attrs.begin(), el.attrs.end(),
                                    [](const xml_attr& a) { return a.name.empty(); }),
                     el.attrs.end());
    // Known attributes in the rule's order, the others after them as they came.
    if (!in_order)
      sort_by(el.attrs, [&](const xml_attr& a) {
        const attr_rule* ar = rule.find_attr(a.name);
        return ar ? static_cast<size_t>(ar - rule.attrs.data()) : unknown_key;
      });
    for (auto& ar : rule.attrs)
      if (ar.required && !el.attr(ar.name))
        fail_at(opts.origin, el, path.str(),
                "missing the required attribute '" + std::string(ar.name) + "'");
  }

  // KiB (content::scaled, a memory size) or bytes (content::bytes, a storage size),
  // whose unit when none is given they are also.
  void scaled(xml_node& el, const elem_rule& rule, const node_path& path) {
    bool bytes = rule.mode == elem_rule::content::bytes;
    uint64_t scale = bytes ? 1 : 1024;
    if (auto* u = el.attr("unit")) {
      auto s = unit_scale(*u);
      if (!s)
        fail_at(opts.origin, el, path.str(),
                "unknown unit '" + *u + "' (expected one of " +
                    std::string(accepted_units()) + ")");
      scale = *s;
    }
    std::string t(trimmed(el.text_content()));
    if (auto why = vt::uint.check(t))
      fail_at(opts.origin, el, path.str(), *why);
    std::optional<uint64_t> value;
    errno = 0;
    uint64_t v = std::strtoull(t.c_str(), nullptr, 10);
    if (errno != ERANGE)
      value = v;
    if (value && bytes) {
      auto b = to_bytes(*value, scale);
      if (!b)
        fail_at(opts.origin, el, path.str(), "'" + t + "' is too large");
      el.set_text(std::to_string(*b));
      return place_attr(el, rule, "unit", "bytes");
    }
    auto kib = value ? to_kib(*value, scale) : std::nullopt;
    if (!kib || *kib > (uint64_t{1} << 53))
      fail_at(opts.origin, el, path.str(), "'" + t + "' is too large");
    el.set_text(std::to_string(*kib));
    // At its place among the attributes (a unit added last would move on the next read).
    place_attr(el, rule, "unit", "KiB");
  }

  void text(xml_node& el, const elem_rule& rule, const node_path& path) {
    if (rule.mode == elem_rule::content::scaled || rule.mode == elem_rule::content::bytes)
      return scaled(el, rule, path);
    if (!rule.text) {
      if (el.has_elements())
        return;
      bool all_blank = std::all_of(el.children.begin(), el.children.end(),
                                   [](const xml_node& c) { return blank(c.text); });
      // An element without text content written open and closed around whitespace
      // (<controller ...>\n</controller>) is empty: libvirt writes it <controller .../>.
      if (all_blank)
        el.children.clear();
      else if (rule.children.empty())
        unknown(el, path.str(), "text content");
      return;
    }
    if (rule.text->k == value_type::kind::text)
      return; // kept as written, as libvirt keeps descriptions
    std::string_view raw = el.children.size() == 1 && el.children[0].is_text
                               ? std::string_view(el.children[0].text)
                               : std::string_view();
    std::string joined;
    if (el.children.size() != 1) {
      joined = el.text_content();
      raw = joined;
    }
    std::string_view t = trimmed(raw);
    if (auto why = rule.text->check(t))
      fail_at(opts.origin, el, path.str(), *why);
    if (t.size() != raw.size() || el.children.size() != 1 ||
        has_canonical_form(*rule.text))
      el.set_text(canonical(*rule.text, t));
  }

  void children(xml_node& el, const elem_rule& rule, const node_path& path) {
    // Which children may come once, by rule index: the line of the first seen.
    std::vector<std::pair<size_t, int>> seen_once;
    bool elements = el.has_elements();
    const size_t unknown_key = rule.children.size() + 1;
    if (elements)
      el.children.erase(
          std::remove_if(el.children.begin(), el.children.end(),
                         [](const xml_node& c) { return c.is_text && blank(c.text); }),
          el.children.end());
    // Whether the children are in the rule's order already, as most documents have them:
    // then they are not sorted (which would look each one up again).
    bool in_order = true;
    size_t last_key = 0;
    auto keep_order = [&](size_t key) {
      in_order = in_order && last_key <= key;
      last_key = key;
    };
    for (auto& c : el.children) {
      if (c.is_text) {
        keep_order(0);
        continue;
      }
      node_path cpath{&path, c.name};
      const child_rule* cr = rule.find_child(c.name);
      if (!cr) {
        keep_order(unknown_key);
        unknown(c, cpath.str(), "element <" + c.name + ">");
        continue;
      }
      size_t index = static_cast<size_t>(cr - rule.children.data()) + 1;
      keep_order(index);
      if (!cr->many) {
        for (auto& [i, line] : seen_once)
          if (i == index)
            fail_at(opts.origin, c, cpath.str(),
                    "given twice (first on line " + std::to_string(line) + ")");
        seen_once.emplace_back(index, c.line);
      }
      visit(c, *cr->rule, cpath);
    }
    for (auto& cr : rule.children)
      if (cr.required && !el.child(cr.rule->name))
        fail_at(opts.origin, el, path.str() + "/" + std::string(cr.rule->name),
                "missing the required element <" + std::string(cr.rule->name) + ">");
    if (!in_order)
      sort_by(el.children, [&](const xml_node& c) -> size_t {
        if (c.is_text)
          return 0;
        const child_rule* cr = rule.find_child(c.name);
        return cr ? static_cast<size_t>(cr - rule.children.data()) + 1 : unknown_key;
      });
  }

  void visit(xml_node& el, const elem_rule& rule, const node_path& path) {
    attributes(el, rule, path);
    if (rule.mode == elem_rule::content::any)
      return;
    text(el, rule, path);
    if (rule.mode == elem_rule::content::normal)
      children(el, rule, path);
  }
};

} // namespace

void conform(xml_node& el, const elem_rule& rule, const std::string& path,
             const conform_options& opts, conform_report& report) {
  if (el.name != rule.name)
    fail_at(opts.origin, el, "/" + el.name,
            "expected a <" + std::string(rule.name) + "> root element");
  conformer{opts, report}.visit(el, rule, node_path{nullptr, path});
}

} // namespace domus::model
