#include "actors/pool_rules.hpp"

#include <array>

namespace domus::runtime {

using protocol::proc;
using needs = pool_rule::needs;

namespace {

// Volumes live in an active pool: the mock's, as a directory's, are listed, made and
// removed only while their pool runs.
constexpr std::array<pool_rule, 20> rules{{
    {proc::pool_start, "start", "start", needs::inactive, false, "started"},
    {proc::pool_destroy, "destroy", "destroy", needs::active, false, "stopped"},
    {proc::pool_undefine, "undefine", "undefine", needs::inactive, true, "undefined"},
    {proc::pool_build, "build", "build", needs::inactive, false, "created"},
    {proc::pool_delete, "delete", "delete", needs::inactive, false, "deleted"},
    {proc::pool_refresh, "refresh", "refresh", needs::active, false, ""},
    {proc::pool_autostart, "set autostart of", "autostart", needs::any, true, ""},
    {proc::vol_list, "list the volumes of", "a volume list", needs::active, false, ""},
    {proc::vol_info, "find a volume in", "a volume lookup", needs::active, false, ""},
    {proc::vol_xml, "find a volume in", "a volume lookup", needs::active, false, ""},
    {proc::vol_create, "create a volume in", "a volume create", needs::active, false, ""},
    {proc::vol_create_from, "create a volume in", "a volume create", needs::active, false,
     ""},
    {proc::vol_clone, "create a volume in", "a volume create", needs::active, false, ""},
    {proc::vol_delete, "delete a volume of", "a volume delete", needs::active, false, ""},
    {proc::vol_resize, "resize a volume of", "a volume resize", needs::active, false, ""},
    {proc::vol_wipe, "wipe a volume of", "a volume wipe", needs::active, false, ""},
    {proc::vol_upload, "upload to a volume of", "a volume upload", needs::active, false,
     ""},
    {proc::vol_download, "download a volume of", "a volume download", needs::active,
     false, ""},
    {proc::vol_jobinfo, "find a volume in", "a volume's jobs", needs::active, false, ""},
    {proc::vol_jobabort, "abort a job in", "a volume's jobs", needs::active, false, ""},
}};

// The text of a child's attribute, "" when absent.
std::string attr_of(const model::xml_node* n, const char* attr) {
  if (!n)
    return "";
  const std::string* v = n->attr(attr);
  return v ? *v : "";
}

} // namespace

const pool_rule* find_pool_rule(proc op) {
  for (auto& r : rules)
    if (r.op == op)
      return &r;
  return nullptr;
}

std::optional<std::string> check_pool_op(proc op, const pool_facts& facts,
                                         const std::string& name) {
  const pool_rule* r = find_pool_rule(op);
  if (!r)
    return std::nullopt;
  std::string head = "cannot " + std::string(r->verb) + " storage pool '" + name + "': ";
  std::string what(r->what);
  if (r->state == needs::inactive && facts.active())
    return head + "it is active (" + what + " needs an inactive pool)";
  if (r->state == needs::active && !facts.active())
    return head + "it is not active (" + what + " needs an active pool)";
  if (r->persistent && !facts.persistent)
    return head + "it is transient (" + what + " needs a persistent pool)";
  return std::nullopt;
}

std::string storage_claim(const model::pool_def& def) {
  const model::xml_node* source = def.root.child("source");
  auto child = [&](const char* name) { return source ? source->child(name) : nullptr; };
  auto claim = [](const char* kind, const std::string& what) {
    return what.empty() ? std::string() : std::string(kind) + " " + what;
  };
  const std::string& t = def.type;
  if (t == "dir")
    return claim("dir", def.target_path);
  if (t == "fs" || t == "disk")
    return claim("device", attr_of(child("device"), "path"));
  if (t == "netfs") {
    std::string host = attr_of(child("host"), "name");
    return host.empty() ? "" : claim("netfs", host + ":" + attr_of(child("dir"), "path"));
  }
  if (t == "logical") {
    const model::xml_node* vg = child("name");
    return claim("logical", vg ? vg->trimmed_text() : "");
  }
  if (t == "iscsi" || t == "iscsi-direct") {
    std::string host = attr_of(child("host"), "name");
    return host.empty() ? ""
                        : claim("iscsi", host + " " + attr_of(child("device"), "path"));
  }
  return "";
}

} // namespace domus::runtime
