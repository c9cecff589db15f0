#include "volume_disks.hpp"

#include <domus/errors.hpp>
#include <domus/model/domain_schema.hpp>
#include <domus/model/schema.hpp>

#include <string>

namespace domus::qemu_driver {

namespace {

using model::xml_node;

std::string attr(const xml_node& n, const char* name) {
  const std::string* v = n.attr(name);
  return v ? *v : "";
}

struct found {
  bool ok = false;
  std::string path, format;
  int32_t type = DOMUS_VOL_FILE;
};

void take(void* arg, const domus_volume_v1* v) {
  auto* f = static_cast<found*>(arg);
  f->ok = true;
  f->path = v->path ? v->path : "";
  f->format = v->format ? v->format : "raw";
  f->type = v->type;
}

} // namespace

bool has_volume_disks(const model::domain_def& def) {
  const xml_node* devs = def.root().child("devices");
  if (!devs)
    return false;
  for (const auto& c : devs->children)
    if (!c.is_text && c.name == "disk" && attr(c, "type") == "volume")
      return true;
  return false;
}

model::domain_def with_volumes_resolved(const domus_host_v1& host,
                                        const model::domain_def& def) {
  model::domain_def out = def;
  xml_node* devs = out.root().child("devices");
  if (!devs)
    return out;
  for (auto& d : devs->children) {
    if (d.is_text || d.name != "disk" || attr(d, "type") != "volume")
      continue;
    const xml_node* target = d.child("target");
    std::string what = "disk '" + (target ? attr(*target, "dev") : std::string("?")) +
                       "' of domain '" + def.name + "'";
    xml_node* src = d.child("source");
    std::string pool = src ? attr(*src, "pool") : "",
                volume = src ? attr(*src, "volume") : "";
    if (pool.empty() || volume.empty())
      throw error(errc::invalid_argument,
                  what +
                      ": a <disk type='volume'> needs <source pool='...' volume='...'/>");
    if (!DOMUS_REACHES(&host, domus_host_v1, resolve_volume) || !host.resolve_volume)
      throw error(errc::unsupported,
                  what + ": this daemon does not resolve volumes (plugin ABI 1.3)");
    std::string where = what + ": volume '" + volume + "' of storage pool '" + pool + "'";
    found f;
    int32_t rc = host.resolve_volume(host.ctx, pool.c_str(), volume.c_str(), take, &f);
    if (rc == DOMUS_E_NO_POOL)
      throw error(errc::no_pool, what + ": no storage pool named '" + pool + "'");
    if (rc == DOMUS_E_INVALID_OPERATION)
      throw error(errc::invalid_operation,
                  where + ": the pool is not active (pool-start it first)");
    if (rc == DOMUS_E_NO_VOLUME)
      throw error(errc::no_volume, where + ": the pool has no such volume");
    if (rc != 0 || !f.ok)
      throw error(errc::internal,
                  where + ": cannot be resolved (" + std::to_string(rc) + ")");
    if (f.type != DOMUS_VOL_FILE && f.type != DOMUS_VOL_BLOCK)
      throw error(errc::unsupported,
                  where + ": only file and block volumes are given to QEMU");
    bool block = f.type == DOMUS_VOL_BLOCK;
    d.set_attr("type", block ? "block" : "file");
    src->attrs.clear();
    src->set_attr(block ? "dev" : "file", f.path);
    // The volume's format, unless the disk names one (libvirt's rule: a disk's own
    // <driver type> wins; without one, a volume's format is known, never probed).
    static const model::elem_rule& rule =
        *model::domain_schema().find_child("devices")->rule->find_child("disk")->rule;
    xml_node& drv = model::place_child(d, rule, "driver");
    if (attr(drv, "name").empty())
      drv.set_attr("name", "qemu");
    if (attr(drv, "type").empty())
      drv.set_attr("type", f.format);
  }
  return out;
}

} // namespace domus::qemu_driver
