#include "actors/messages.hpp"

#include "daemon/deadlines.hpp"
#include "drivers/abi_fields.hpp"

#include <cstddef>

namespace domus::runtime {

namespace {

std::string str(const char* s) {
  return s ? std::string(s) : std::string();
}

} // namespace

driver_result driver_result::copy(const domus_result_v1* r) {
  driver_result out;
  if (!r) {
    out.status = DOMUS_E_INTERNAL;
    out.message = "the driver completed without a result";
    return out;
  }
  out.status = r->status;
  out.message = str(r->message);
  if (!DOMUS_HAS_FIELD(r, domus_result_v1, n_objects)) {
    // Every 1.0 field must be there; a shorter struct is a broken driver.
    out.status = DOMUS_E_INTERNAL;
    out.message = "the driver's result struct is too small (" +
                  std::to_string(r->struct_size) + " bytes)";
    return out;
  }
  out.dom = r->dom;
  if (r->state)
    out.state = *r->state;
  if (r->events && r->n_events)
    out.events.assign(r->events, r->events + r->n_events);
  if (r->xml)
    out.xml = std::string(r->xml);
  if (DOMUS_HAS_FIELD(r, domus_result_v1, config_xml) && r->config_xml)
    out.config_xml = std::string(r->config_xml);
  if (DOMUS_HAS_FIELD(r, domus_result_v1, pool_info)) {
    out.pool = r->pool;
    if (DOMUS_HAS_FIELD(r->pool_info, domus_pool_info_v1, available))
      out.pool_info = *r->pool_info;
  }
  if (DOMUS_HAS_FIELD(r, domus_result_v1, n_volumes) && r->volumes && r->n_volumes) {
    // The stride is the driver's struct size, as for objects.
    size_t stride = r->volumes[0].struct_size;
    if (stride >= DOMUS_FIELD_END(domus_volume_v1, xml))
      for (size_t i = 0; i < r->n_volumes; ++i) {
        auto* v = reinterpret_cast<const domus_volume_v1*>(
            reinterpret_cast<const char*>(r->volumes) + i * stride);
        driver_volume c;
        c.handle = v->vol;
        c.name = str(v->name);
        c.key = str(v->key);
        c.path = str(v->path);
        c.type = v->type;
        c.format = v->format ? v->format : "raw";
        c.capacity = v->capacity;
        c.allocation = v->allocation;
        c.backing_path = str(v->backing_path);
        c.backing_format = str(v->backing_format);
        c.xml = str(v->xml);
        out.volumes.push_back(std::move(c));
      }
  }
  if (r->private_data.data)
    out.private_data =
        std::string(static_cast<const char*>(r->private_data.data), r->private_data.len);
  if (DOMUS_HAS_FIELD(r->info, domus_dom_info_v1, security_enforcing)) {
    out.info = *r->info;
    out.info_os_type = str(r->info->os_type);
    out.has_security_label = r->info->security_label != nullptr;
    out.info_security_label = str(r->info->security_label);
    out.info->os_type = nullptr;
    out.info->security_label = nullptr;
  }
  if (DOMUS_HAS_FIELD(r->node, domus_node_info_v1, threads_per_core)) {
    out.node = *r->node;
    out.node_cpu_model = str(r->node->cpu_model);
    out.node->cpu_model = nullptr;
  }
  if (DOMUS_HAS_FIELD(r->version, domus_version_v1, security_doi)) {
    out.version = *r->version;
    out.version_type = str(r->version->hypervisor_type);
    out.version_security_model = str(r->version->security_model);
    out.version_security_doi = str(r->version->security_doi);
    out.version->hypervisor_type = out.version->security_model =
        out.version->security_doi = nullptr;
  }
  out.instance = r->instance;
  // The array's stride is the driver's struct size, not ours: a 1.0 driver's objects
  // are shorter than 1.1's (`pool` was appended).
  size_t stride = r->objects && r->n_objects ? r->objects[0].struct_size : 0;
  for (size_t i = 0; stride && i < r->n_objects; ++i) {
    const auto& o = *reinterpret_cast<const domus_object_v1*>(
        reinterpret_cast<const char*>(r->objects) + i * stride);
    if (o.struct_size != stride || !DOMUS_HAS_FIELD(&o, domus_object_v1, private_data))
      continue;
    object c;
    c.kind = o.kind;
    c.dom = o.dom;
    if (DOMUS_HAS_FIELD(&o, domus_object_v1, pool))
      c.pool = o.pool;
    c.xml = str(o.xml);
    c.persistent = o.persistent != 0;
    c.autostart = o.autostart != 0;
    c.state = o.state;
    if (o.private_data.data)
      c.private_data.assign(static_cast<const char*>(o.private_data.data),
                            o.private_data.len);
    out.objects.push_back(std::move(c));
  }
  return out;
}

driver_result timeout_result(std::string_view op, const std::string& object,
                             const std::string& driver, uint32_t deadline_ms,
                             bool cancelled) {
  driver_result r;
  r.status = DOMUS_E_TIMEOUT;
  r.message =
      "the " + driver + " driver's '" + std::string(op) + "'" +
      (object.empty() ? std::string() : " of " + object) +
      // a long-running job's deadline counts from its last progress
      (op == "dump" ? " reported no progress for " : " did not complete within ") +
      seconds_text(deadline_ms) + " (deadline_" + std::string(op) +
      "_ms in domusd.conf); " +
      (cancelled ? "the driver was asked to cancel it"
                 : "the driver cannot cancel it (plugin ABI 1.0)");
  return r;
}

} // namespace domus::runtime
