// The `test` driver's ABI surface: domus_driver_entry and the operation tables. Every
// operation completes synchronously, before its call returns, as a mock can.
#include "completion.hpp"
#include "test_domain.hpp"
#include "test_pool.hpp"
#include "test_state.hpp"

#include <domus/errors.hpp>
#include <domus/model/domain_def.hpp>

#include <algorithm>
#include <cstdio>
#include <memory>

using namespace domus::test_driver;
using domus::error;

namespace {

const char* const schemes[] = {"test", nullptr};

// An injected fault (a node file's test:fault) takes the call: true, and the caller
// returns. A hung call completes only when the runtime cancels it (test_cancel).
bool injected(domus_instance* inst, const char* op, domus_dom* d, domus_complete_fn done,
              void* user) {
  if (inst->faults.entries.empty())
    return false;
  std::string name;
  {
    std::lock_guard<std::mutex> lock(d->mutex);
    name = d->def.name;
  }
  return injected_fault(*inst, op, "domain", name, done, user);
}

void complete(domus_complete_fn done, void* user, const outcome& o) {
  if (o.status != DOMUS_OK)
    return fail(done, user, o.status, o.message);
  domus_result_v1 r = blank();
  r.state = &o.state;
  r.events = o.events.data();
  r.n_events = o.events.size();
  r.private_data = {o.private_data.data(), o.private_data.size()};
  done(user, &r);
}

// Node files are a user's documents; what the runtime hands over is its own output.
domus::model::domain_def
parse(const char* xml, const std::string& origin,
      domus::model::parse_mode mode = domus::model::parse_mode::stored) {
  auto def = domus::model::parse_domain(xml, origin, mode);
  domus::model::normalize(def);
  domus::model::add_implied_devices(def);
  return def;
}

// libvirt's test driver has no settings file, and neither has this one: a line in
// etc/domus/test.conf is an error naming it (a typo must not pass unnoticed).
void check_settings(const domus_open_args_v1* args) {
  if (!DOMUS_REACHES(args, domus_open_args_v1, n_settings) || args->n_settings == 0)
    return;
  const domus_setting_v1& first = args->settings[0];
  throw error(domus::errc::config_error,
              std::string(args->settings_file) + ":" + std::to_string(first.line) + ": " +
                  first.key + ": unknown setting (the test driver has no settings)");
}

void test_open(const domus_open_args_v1* args, domus_complete_fn done, void* user) {
  guarded(done, user, [&] {
    check_settings(args);
    std::string path = args->path ? args->path : "";
    seed s;
    if (path == "/default")
      s = (args->flags & DOMUS_OPEN_FRESH) ? default_seed() : seed{};
    else if (path.size() > 1 && path[0] == '/')
      s = load_node_file(path);
    else
      throw error(
          domus::errc::invalid_argument,
          "the test driver needs test:///default or test:///ABSOLUTE/PATH.xml, got '" +
              std::string(args->uri) + "'");

    auto inst = std::make_unique<domus_instance>();
    inst->faults = std::move(s.faults);
    inst->host = args->host;
    inst->uri = args->uri;
    inst->node = s.node;

    // Build every object before handing any over, so that a bad file changes nothing.
    std::vector<std::unique_ptr<domus_dom>> doms;
    std::vector<std::unique_ptr<domus_pool>> pools;
    std::vector<std::string> xmls, blobs;
    for (auto& obj : s.objects) {
      if (obj.kind != DOMUS_OBJECT_DOMAIN) {
        doms.push_back(nullptr);
        pools.push_back(obj.kind == DOMUS_OBJECT_POOL ? seed_pool(obj) : nullptr);
        xmls.push_back(obj.xml);
        blobs.emplace_back();
        continue;
      }
      pools.push_back(nullptr);
      auto d = std::make_unique<domus_dom>();
      d->def = parse(obj.xml.c_str(), obj.origin, domus::model::parse_mode::input);
      apply_test_defaults(d->def);
      if (obj.state != DOMUS_STATE_SHUTOFF) {
        d->live = std::make_unique<domus::model::domain_def>(d->def);
        d->id = inst->next_id++;
        d->started = std::chrono::steady_clock::now();
      }
      d->def = domus::model::compacted(d->def);
      d->state = obj.state;
      d->reason = DOMUS_REASON_UNKNOWN;
      xmls.push_back(domus::model::format_domain(d->def, domus::model::secrets::keep));
      blobs.push_back(encode_status(*d));
      doms.push_back(std::move(d));
    }
    std::vector<domus_object_v1> objects;
    for (size_t i = 0; i < s.objects.size(); ++i) {
      domus_object_v1 o{};
      o.struct_size = sizeof o;
      o.kind = s.objects[i].kind;
      o.xml = xmls[i].c_str();
      o.persistent = s.objects[i].persistent ? 1 : 0;
      o.state = {s.objects[i].state, DOMUS_REASON_UNKNOWN, doms[i] ? doms[i]->id : -1};
      o.pool = pools[i].get();
      if (doms[i]) {
        o.dom = doms[i].get();
        o.private_data = {blobs[i].data(), blobs[i].size()};
      }
      objects.push_back(o);
    }
    domus_result_v1 r = blank();
    r.instance = inst.get();
    r.objects = objects.data();
    r.n_objects = objects.size();
    // From here on the runtime holds the handles it was given.
    for (auto& d : doms)
      if (d)
        inst->doms.insert(d.release());
    for (auto& p : pools)
      if (p)
        inst->pools.insert(p.release());
    inst.release();
    done(user, &r);
  });
}

void test_close(domus_instance* inst) {
  for (auto* d : inst->doms)
    delete d;
  for (auto* p : inst->pools)
    delete p;
  delete inst;
}

void test_node_info(domus_instance* inst, domus_complete_fn done, void* user) {
  const node_facts& n = inst->node;
  domus_node_info_v1 info{};
  info.struct_size = sizeof info;
  info.cpu_model = n.cpu_model.c_str();
  info.memory_kib = n.memory_kib;
  info.cpus = n.cpus();
  info.mhz = n.mhz;
  info.numa_nodes = n.nodes;
  info.sockets_per_node = n.sockets;
  info.cores_per_socket = n.cores;
  info.threads_per_core = n.threads;
  domus_result_v1 r = blank();
  r.node = &info;
  done(user, &r);
}

void test_version_info(domus_instance*, domus_complete_fn done, void* user) {
  domus_version_v1 v{};
  v.struct_size = sizeof v;
  v.hypervisor_type = "TEST";
  v.hypervisor_version = 2; // libvirt's mock reports 0.0.2
  v.security_model = "testSecurity";
  v.security_doi = "";
  domus_result_v1 r = blank();
  r.version = &v;
  done(user, &r);
}

void test_capabilities(domus_instance* inst, domus_complete_fn done, void* user) {
  std::string xml = capabilities_xml(inst->node);
  domus_result_v1 r = blank();
  r.xml = xml.c_str();
  done(user, &r);
}

void test_normalize(domus_instance*, const char* xml, domus_complete_fn done,
                    void* user) {
  guarded(done, user, [&] {
    auto def = parse(xml, "<request>");
    apply_test_defaults(def);
    std::string out = domus::model::format_domain(def, domus::model::secrets::keep);
    domus_result_v1 r = blank();
    r.xml = out.c_str();
    done(user, &r);
  });
}

void test_define(domus_instance* inst, domus_dom* existing, const char* xml,
                 domus_complete_fn done, void* user) {
  guarded(done, user, [&] {
    auto def = parse(xml, "<request>");
    domus_dom* d = existing;
    std::unique_ptr<domus_dom> fresh;
    if (!d) {
      fresh = std::make_unique<domus_dom>();
      d = fresh.get();
    }
    {
      std::lock_guard<std::mutex> lock(d->mutex);
      d->def = domus::model::compacted(def); // the live one, if any, stays as it runs
    }
    if (fresh) {
      std::lock_guard<std::mutex> lock(inst->doms_mutex);
      inst->doms.insert(fresh.release());
    }
    domus_result_v1 r = blank();
    r.dom = d;
    done(user, &r);
  });
}

// The flags libvirt's test driver accepts, per operation (what it does not, it refuses
// naming them, and so does this one): none for start and shutdown, every mode for
// reboot, graceful for destroy, all of undefine's but nvram. True when refused.
bool refused_flags(const char* op, domus_dom* d, uint32_t flags, uint32_t accepted,
                   domus_complete_fn done, void* user) {
  if (!(flags & ~accepted))
    return false;
  char hex[16];
  std::snprintf(hex, sizeof hex, "0x%x", flags & ~accepted);
  std::string name;
  {
    std::lock_guard<std::mutex> lock(d->mutex);
    name = d->def.name;
  }
  fail(done, user, DOMUS_E_UNSUPPORTED,
       std::string("the test driver does not support flags ") + hex + " of '" + op +
           "' (domain '" + name + "'; neither does libvirt's)");
  return true;
}

void test_undefine_flags(domus_instance* inst, domus_dom* d, uint32_t flags,
                         domus_complete_fn done, void* user) {
  const uint32_t accepted =
      DOMUS_UNDEFINE_MANAGED_SAVE | DOMUS_UNDEFINE_SNAPSHOTS_METADATA |
      DOMUS_UNDEFINE_KEEP_NVRAM | DOMUS_UNDEFINE_CHECKPOINTS_METADATA |
      DOMUS_UNDEFINE_TPM | DOMUS_UNDEFINE_KEEP_TPM;
  if (refused_flags("undefine", d, flags, accepted, done, user) ||
      injected(inst, "undefine", d, done, user))
    return;
  std::lock_guard<std::mutex> lock(d->mutex);
  if (d->state != DOMUS_STATE_SHUTOFF)
    return fail(done, user, DOMUS_E_INVALID_OPERATION,
                "domain '" + d->def.name + "' is active; stop it before undefining it");
  domus_result_v1 r = blank();
  done(user, &r);
}

void test_undefine(domus_instance* inst, domus_dom* d, domus_complete_fn done,
                   void* user) {
  test_undefine_flags(inst, d, 0, done, user);
}

void test_start(domus_instance* inst, domus_dom* d, uint32_t flags,
                domus_complete_fn done, void* user) {
  if (!refused_flags("start", d, flags, 0, done, user) &&
      !injected(inst, "start", d, done, user))
    complete(done, user, start_domain(*inst, *d));
}
void test_shutdown(domus_instance* inst, domus_dom* d, uint32_t flags,
                   domus_complete_fn done, void* user) {
  if (!refused_flags("shutdown", d, flags, 0, done, user) &&
      !injected(inst, "shutdown", d, done, user))
    complete(done, user, shutdown_domain(*d));
}
void test_reboot(domus_instance* inst, domus_dom* d, uint32_t flags,
                 domus_complete_fn done, void* user) {
  const uint32_t modes = DOMUS_SHUTDOWN_ACPI_POWER_BTN | DOMUS_SHUTDOWN_GUEST_AGENT |
                         DOMUS_SHUTDOWN_INITCTL | DOMUS_SHUTDOWN_SIGNAL |
                         DOMUS_SHUTDOWN_PARAVIRT;
  if (!refused_flags("reboot", d, flags, modes, done, user) &&
      !injected(inst, "reboot", d, done, user))
    complete(done, user, reboot_domain(*d));
}
void test_destroy(domus_instance* inst, domus_dom* d, uint32_t flags,
                  domus_complete_fn done, void* user) {
  if (!refused_flags("destroy", d, flags, DOMUS_DESTROY_GRACEFUL, done, user) &&
      !injected(inst, "destroy", d, done, user))
    complete(done, user, destroy_domain(*d));
}
void test_suspend(domus_instance* inst, domus_dom* d, domus_complete_fn done,
                  void* user) {
  if (!injected(inst, "suspend", d, done, user))
    complete(done, user, suspend_domain(*d));
}
void test_resume(domus_instance* inst, domus_dom* d, domus_complete_fn done, void* user) {
  if (!injected(inst, "resume", d, done, user))
    complete(done, user, resume_domain(*d));
}

void test_info(domus_instance*, domus_dom* d, domus_complete_fn done, void* user) {
  domus_dom_info_v1 info{};
  info.struct_size = sizeof info;
  {
    std::lock_guard<std::mutex> lock(d->mutex);
    bool active = d->state != DOMUS_STATE_SHUTOFF;
    const auto& def = active && d->live ? *d->live : d->def;
    info.state = {d->state, d->reason, d->id};
    info.max_memory_kib = def.memory_kib;
    info.memory_kib = def.current_memory_kib;
    info.vcpus = def.vcpus_now();
    if (active)
      info.cpu_time_ns =
          static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                    std::chrono::steady_clock::now() - d->started)
                                    .count());
    info.os_type = "linux"; // what libvirt's mock reports for every guest
    info.security_label = active ? "libvirt-test" : nullptr;
    info.security_enforcing = 1;
  }
  domus_result_v1 r = blank();
  r.info = &info;
  done(user, &r);
}

void test_reconnect(domus_instance* inst, const char* live_xml, domus_bytes_v1 priv,
                    domus_complete_fn done, void* user) {
  guarded(done, user, [&] {
    domus_dom_state_v1 st{};
    std::string data(priv.data ? static_cast<const char*>(priv.data) : "", priv.len);
    if (!decode_status(data, st) || st.state == DOMUS_STATE_SHUTOFF)
      throw error(domus::errc::operation_failed,
                  "the test driver's status data is missing or not its own");
    auto d = std::make_unique<domus_dom>();
    d->live = std::make_unique<domus::model::domain_def>(parse(live_xml, "<status>"));
    d->def = domus::model::compacted(*d->live);
    d->state = st.state;
    d->reason = st.reason;
    d->id = st.id;
    d->started = std::chrono::steady_clock::now();
    // Ids are never reused: the next one is above every guest taken back.
    int32_t next = inst->next_id.load();
    while (next <= st.id && !inst->next_id.compare_exchange_weak(next, st.id + 1)) {
    }
    domus_result_v1 r = blank();
    r.state = &st;
    r.dom = d.get();
    {
      std::lock_guard<std::mutex> lock(inst->doms_mutex);
      inst->doms.insert(d.release());
    }
    done(user, &r);
  });
}

void test_release(domus_instance* inst, domus_dom* d) {
  {
    std::lock_guard<std::mutex> lock(inst->doms_mutex);
    inst->doms.erase(d);
  }
  delete d;
}

// libvirt's mock dumps at once, and takes only the crash flag. A long-running job for
// the runtime all the same: it completes before its call returns.
void test_dump(domus_instance* inst, domus_dom* d, const char* path, const char*,
               uint32_t flags, domus_job*, domus_complete_fn done, void* user) {
  if (!refused_flags("dump", d, flags, DOMUS_DUMP_CRASH, done, user) &&
      !injected(inst, "dump", d, done, user))
    complete(done, user, dump_domain(*d, path, flags));
}

// A hung call's deadline passed: it completes now, with timeout, as a hypervisor that
// gives up would. Every other call completed before it returned: nothing to cancel.
void test_cancel(domus_instance* inst, domus_dom*, void* user) {
  domus_complete_fn done = nullptr;
  {
    std::lock_guard<std::mutex> lock(inst->hung.mutex);
    auto& calls = inst->hung.calls;
    auto it = std::find_if(calls.begin(), calls.end(),
                           [user](const auto& c) { return c.second == user; });
    if (it == calls.end())
      return;
    done = it->first;
    calls.erase(it);
  }
  fail(done, user, DOMUS_E_TIMEOUT,
       "the hung call (test:fault in the node file) was cancelled");
}

const domus_domain_ops_v1 domain_ops = {
    sizeof(domus_domain_ops_v1), test_normalize, test_define, test_undefine, test_start,
    test_shutdown, test_reboot, test_destroy, test_suspend, test_resume, test_info,
    test_reconnect, test_release, test_cancel,
    nullptr, // define_flags: no flags are defined for define
    test_undefine_flags,
    nullptr, // suspend_flags, resume_flags: none defined either
    nullptr,
    // Devices: libvirt's mock cannot attach, detach or update them either.
    nullptr, nullptr, nullptr,
    nullptr, // no console: the mock's guests have none
    test_dump,
    nullptr, // to_native: libvirt's mock has no native format either
};

const char* const pool_schemes[] = {"test", nullptr};
const domus_kind_schemes_v1 kinds[] = {{DOMUS_OBJECT_POOL, pool_schemes}};

const domus_driver_v1 driver = {
    DOMUS_DRIVER_ABI_MAJOR,
    DOMUS_DRIVER_ABI_MINOR,
    sizeof(domus_driver_v1),
    "test",
    "0.1.0",
    schemes,
    test_open,
    test_close,
    test_node_info,
    test_version_info,
    &domain_ops,
    test_capabilities,
    nullptr, // domain capabilities: libvirt's mock has none
    // Its pools, as libvirt's mock has them (default-pool, a node file's, those defined
    // since; test_pool.cpp); its networks come with the networks issue.
    kinds,
    1,
    &pool_ops(),
    &volume_ops(),
    nullptr,
};

} // namespace

extern "C" DOMUS_DRIVER_EXPORT const domus_driver_v1*
domus_driver_entry(uint32_t host_abi_major) {
  return host_abi_major == DOMUS_DRIVER_ABI_MAJOR ? &driver : nullptr;
}
