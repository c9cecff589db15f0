// The QEMU driver's domain operations. Definitions are parsed where the call comes;
// everything about a running QEMU is done on the loop thread (qemu_process.cpp), and
// whatever may block (probing an emulator, opening disk files and the log) on a worker.
#include "qemu_command.hpp"
#include "qemu_defaults.hpp"
#include "qemu_process.hpp"
#include "qemu_state.hpp"
#include "volume_disks.hpp"

#include <nlohmann/json.hpp>

#include <cstdio>

namespace domus::qemu_driver {

namespace {

using nlohmann::json;

// A definition as the runtime hands it over (its own output, already complete).
model::domain_def parse(const std::string& xml, const std::string& origin) {
  auto def = model::parse_domain(xml, origin, model::parse_mode::stored);
  model::normalize(def);
  return def;
}

// The domain type and OS this driver runs, the emulator (the configured one when the
// XML names none) and its capabilities, then libvirt's QEMU defaults (qemu_defaults.cpp).
std::shared_ptr<const qemu_caps> complete_definition(domus_instance* inst,
                                                     model::domain_def& def) {
  if (def.type != "qemu" && def.type != "kvm")
    throw error(errc::unsupported,
                "the QEMU driver runs domains of type 'qemu' and 'kvm', "
                "not '" +
                    def.type + "'");
  if (def.os_type != "hvm")
    throw error(errc::unsupported,
                "the QEMU driver runs os type 'hvm', not '" + def.os_type + "'");
  model::xml_node& root = def.root();
  model::xml_node* devs = root.child("devices");
  if (!devs) {
    root.children.push_back(model::xml_node::element("devices"));
    devs = &root.children.back();
  }
  model::xml_node* emu = devs->child("emulator");
  if (!emu) {
    model::xml_node e = model::xml_node::element("emulator");
    e.set_text(inst->emulator);
    devs->children.insert(devs->children.begin(), std::move(e));
    emu = &devs->children.front();
  }
  auto caps = caps_for(inst, emu->trimmed_text());
  apply_qemu_defaults(def, *caps);
  return caps;
}

bool refused_flags(const char* op, domus_dom* d, uint32_t flags, uint32_t accepted,
                   domus_complete_fn done, void* user) {
  if (!(flags & ~accepted))
    return false;
  char hex[16];
  std::snprintf(hex, sizeof hex, "0x%x", flags & ~accepted);
  fail(done, user, errc::unsupported,
       std::string("the QEMU driver does not support flags ") + hex + " of '" + op +
           "' (domain '" + name_of(d) + "') yet");
  return true;
}

// ---- operations ----------------------------------------------------------------------

void qemu_normalize(domus_instance* inst, const char* xml, domus_complete_fn done,
                    void* user) {
  std::string text = xml;
  xml_from_worker(inst, "normalizing a definition", done, user, [inst, text] {
    auto def = parse(text, "<request>");
    complete_definition(inst, def);
    return model::format_domain(def, model::secrets::keep);
  });
}

// virsh domxml-to-native qemu-argv: the command line a start would run, the monitor
// as the socket path QEMU would listen on (a start passes it as a descriptor). Graphics
// passwords are never on it: a start sets them over QMP.
void qemu_to_native(domus_instance* inst, const char* format, const char* xml,
                    domus_complete_fn done, void* user) {
  std::string fmt = format ? format : "", text = xml ? xml : "";
  if (fmt != "qemu-argv")
    return fail(done, user, errc::invalid_argument,
                "unknown native format '" + fmt +
                    "' (the QEMU driver converts to: qemu-argv)");
  xml_from_worker(inst, "converting a definition", done, user, [inst, text] {
    auto def = parse(text, "<request>");
    auto caps = complete_definition(inst, def);
    std::string uuid = def.uuid_string();
    monitor_spec spec{-1,
                      inst->run_dir + "/qmp/" + uuid + ".sock",
                      inst->run_dir + "/channel/" + uuid,
                      {}};
    return shell_line(
        qemu_environment(),
        build_argv(has_volume_disks(def) ? with_volumes_resolved(*inst->host, def) : def,
                   *caps, spec, def.type == "kvm"));
  });
}

void qemu_define(domus_instance* inst, domus_dom* existing, const char* xml,
                 domus_complete_fn done, void* user) {
  guarded(done, user, [&] {
    auto def = parse(xml, "<request>");
    domus_dom* d = existing;
    std::unique_ptr<domus_dom> fresh;
    if (!d) {
      fresh = std::make_unique<domus_dom>();
      fresh->inst = inst;
      d = fresh.get();
    }
    {
      std::lock_guard<std::mutex> lock(d->mutex);
      d->name = def.name;
      d->def = model::compacted(def); // a running guest keeps its live definition
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

void qemu_undefine_flags(domus_instance*, domus_dom*, uint32_t, domus_complete_fn done,
                         void* user) {
  // Nothing of the driver's own outlives a definition yet (no NVRAM, TPM state or
  // managed save): every flag is satisfied by doing nothing.
  domus_result_v1 r = blank();
  done(user, &r);
}

void qemu_undefine(domus_instance* inst, domus_dom* d, domus_complete_fn done,
                   void* user) {
  qemu_undefine_flags(inst, d, 0, done, user);
}

void qemu_start(domus_instance* inst, domus_dom* d, uint32_t flags,
                domus_complete_fn done, void* user) {
  if (refused_flags("start", d, flags, DOMUS_START_PAUSED, done, user))
    return;
  on_loop(inst, [inst, d, flags, done, user] {
    qemu_run& run = d->run;
    if (run.phase != run_phase::idle)
      return fail(done, user, errc::invalid_operation,
                  "domain '" + name_of(d) + "' is already active");
    auto def = std::make_shared<model::domain_def>();
    {
      std::lock_guard<std::mutex> lock(d->mutex);
      *def = model::expanded(d->def);
    }
    run.phase = run_phase::preparing;
    run.start = call{done, user};
    run.start_paused = flags & DOMUS_START_PAUSED;
    uint64_t generation = ++d->generation;
    auto plan = std::make_shared<std::unique_ptr<launch_plan>>();
    run.work = on_worker(
        inst, "the start of domain '" + def->name + "'",
        [inst, def, plan] { *plan = prepare_launch(inst, *def); },
        [inst, d, plan, generation](const work_outcome& o) {
          // A start cancelled or overtaken by a destroy meanwhile: its plan is dropped
          // (the plan's socket and descriptors with it).
          if (d->generation != generation || d->run.phase != run_phase::preparing)
            return;
          d->run.work = 0;
          if (!o.ok)
            return drop_start(inst, d, o.code, o.message);
          launch(inst, d, std::move(*plan));
        });
  });
}

// Asks the guest to power off, or (reboot) to restart through a power-off, as libvirt's
// QEMU driver does for an ACPI guest.
void power_button(domus_instance* inst, domus_dom* d, bool reboot, domus_complete_fn done,
                  void* user) {
  on_loop(inst, [inst, d, reboot, done, user] {
    if (d->run.phase != run_phase::running)
      return fail(done, user, errc::invalid_operation,
                  "domain '" + name_of(d) + "' is not running");
    if (reboot)
      d->run.fake_reboot = true;
    run_command(inst, d, "system_powerdown",
                [d, reboot, done, user](bool ok, const std::string& error) {
                  if (!ok) {
                    if (reboot)
                      d->run.fake_reboot = false;
                    return fail(done, user, errc::operation_failed,
                                "system_powerdown of domain '" + name_of(d) +
                                    "': " + error);
                  }
                  domus_result_v1 r = blank();
                  done(user, &r);
                });
  });
}

void qemu_shutdown(domus_instance* inst, domus_dom* d, uint32_t flags,
                   domus_complete_fn done, void* user) {
  if (!refused_flags("shutdown", d, flags, DOMUS_SHUTDOWN_ACPI_POWER_BTN, done, user))
    power_button(inst, d, false, done, user);
}

void qemu_reboot(domus_instance* inst, domus_dom* d, uint32_t flags,
                 domus_complete_fn done, void* user) {
  if (!refused_flags("reboot", d, flags, DOMUS_SHUTDOWN_ACPI_POWER_BTN, done, user))
    power_button(inst, d, true, done, user);
}

void qemu_destroy(domus_instance* inst, domus_dom* d, uint32_t flags,
                  domus_complete_fn done, void* user) {
  if (refused_flags("destroy", d, flags, DOMUS_DESTROY_GRACEFUL, done, user))
    return;
  on_loop(inst, [inst, d, flags, done, user] {
    qemu_run& run = d->run;
    call c{done, user};
    if (run.phase == run_phase::idle || run.phase == run_phase::preparing) {
      // Nothing runs: a start still preparing is dropped (the runtime cancelled it
      // first, so it has completed already), and the domain is shut off.
      if (run.phase == run_phase::preparing)
        drop_start(inst, d, errc::operation_failed,
                   "the start of domain '" + name_of(d) + "' was overtaken by a destroy");
      return complete_destroy(c, false, false);
    }
    if (run.destroy)
      return fail(done, user, errc::busy,
                  "a destroy of domain '" + name_of(d) + "' is under way");
    run.destroy = c;
    run.destroy_graceful = flags & DOMUS_DESTROY_GRACEFUL;
    end_process(inst, d, run.destroy_graceful);
  });
}

// stop or cont, with the events of a user's suspend or resume.
void pause_or_continue(domus_instance* inst, domus_dom* d, bool pause,
                       domus_complete_fn done, void* user) {
  on_loop(inst, [inst, d, pause, done, user] {
    qemu_run& run = d->run;
    if (run.phase != run_phase::running)
      return fail(done, user, errc::invalid_operation,
                  "domain '" + name_of(d) + "' is not running");
    int& expected = pause ? run.expect_stop : run.expect_resume;
    expected++;
    const char* command = pause ? "stop" : "cont";
    run_command(inst, d, command,
                [d, pause, command, done, user](bool ok, const std::string& error) {
                  qemu_run& run = d->run;
                  if (!ok) {
                    int& expected = pause ? run.expect_stop : run.expect_resume;
                    if (expected > 0)
                      expected--;
                    return fail(done, user, errc::operation_failed,
                                std::string(command) + " of domain '" + name_of(d) +
                                    "': " + error);
                  }
                  run.state = pause ? DOMUS_STATE_PAUSED : DOMUS_STATE_RUNNING;
                  run.reason = pause ? DOMUS_REASON_USER : DOMUS_REASON_UNPAUSED;
                  complete_state(
                      call{done, user}, {run.state, run.reason, run.id},
                      {pause
                           ? domus_event_v1{DOMUS_EVENT_SUSPENDED, DOMUS_DETAIL_PAUSED}
                           : domus_event_v1{DOMUS_EVENT_RESUMED, DOMUS_DETAIL_UNPAUSED}});
                });
  });
}

void qemu_suspend(domus_instance* inst, domus_dom* d, domus_complete_fn done,
                  void* user) {
  pause_or_continue(inst, d, true, done, user);
}
void qemu_resume(domus_instance* inst, domus_dom* d, domus_complete_fn done, void* user) {
  pause_or_continue(inst, d, false, done, user);
}

void qemu_info(domus_instance* inst, domus_dom* d, domus_complete_fn done, void* user) {
  on_loop(inst, [d, done, user] {
    const qemu_run& run = d->run;
    auto info = std::make_shared<domus_dom_info_v1>();
    info->struct_size = sizeof *info;
    bool active = run.phase == run_phase::running || run.phase == run_phase::ending;
    info->state = active
                      ? domus_dom_state_v1{run.state, run.reason, run.id}
                      : domus_dom_state_v1{DOMUS_STATE_SHUTOFF, DOMUS_REASON_UNKNOWN, -1};
    bool balloon = false;
    {
      std::lock_guard<std::mutex> lock(d->mutex);
      const auto& def = active && d->live ? *d->live : d->def;
      info->max_memory_kib = def.memory_kib;
      info->memory_kib = def.current_memory_kib;
      info->vcpus = def.vcpus_now();
      balloon = active && d->live && has_balloon(*d->live);
    }
    info->cpu_time_ns = active ? cpu_time_ns(run.pid) : 0;
    info->os_type = "hvm";
    auto finish = [info, done, user] {
      domus_result_v1 r = blank();
      r.info = info.get();
      done(user, &r);
    };
    // The memory the guest has now, from its balloon when it has one (as libvirt).
    if (!balloon || !run.qmp || !run.qmp->open())
      return finish();
    run.qmp->execute("query-balloon", nullptr,
                     [info, finish](bool ok, const json& ret, const std::string&) {
                       if (ok && ret.is_object() && ret.contains("actual") &&
                           ret["actual"].is_number_unsigned())
                         info->memory_kib = ret["actual"].get<uint64_t>() / 1024;
                       finish();
                     });
  });
}

void qemu_reconnect(domus_instance* inst, const char* live_xml, domus_bytes_v1 priv,
                    domus_complete_fn done, void* user) {
  guarded(done, user, [&] {
    json st = json::parse(
        std::string(priv.data ? static_cast<const char*>(priv.data) : "", priv.len),
        nullptr, false);
    if (st.is_discarded() || !st.is_object() || !st.contains("pid") ||
        !st.contains("qmp"))
      throw error(errc::operation_failed, "the QEMU driver's status data is missing or "
                                          "not its own");
    auto d = std::make_unique<domus_dom>();
    d->inst = inst;
    auto live = parse(live_xml, "<status>");
    d->name = live.name;
    d->def = model::compacted(live);
    d->live = std::make_unique<model::domain_def>(std::move(live));
    d->run.qmp_path = st.value("qmp", "");
    d->run.log_path = st.value("log", "");
    d->run.id = st.value("id", -1);
    int64_t pid = st.value("pid", int64_t{0});
    uint64_t start_time = st.value("start_time", uint64_t{0});
    std::string emulator = st.value("emulator", "");
    auto holder = std::make_shared<std::unique_ptr<domus_dom>>(std::move(d));
    on_loop(inst, [inst, holder, pid, start_time, emulator, done, user] {
      take_back(inst, std::move(*holder), pid, start_time, emulator, call{done, user});
    });
  });
}

// On the loop, where every callback that may name the domain runs: after any cancel
// posted before it, and never while one of them runs.
void qemu_release(domus_instance* inst, domus_dom* d) {
  on_loop(inst, [inst, d] {
    detach(inst, d); // nothing to stop: the runtime releases shut off domains only
    {
      std::lock_guard<std::mutex> lock(inst->doms_mutex);
      inst->doms.erase(d);
    }
    delete d;
  });
}

// A call's deadline passed (or a destroy overtakes it): qemu_process.cpp's cancel_call.
// QMP commands time out on their own, sooner than any deadline.
void qemu_cancel(domus_instance* inst, domus_dom* d, void* user) {
  if (!d) {
    // A reconnect (no domain yet): find the domain it is taking back.
    on_loop(inst, [inst, user] {
      std::vector<domus_dom*> doms;
      {
        std::lock_guard<std::mutex> lock(inst->doms_mutex);
        doms.assign(inst->doms.begin(), inst->doms.end());
      }
      for (domus_dom* x : doms)
        if (x->run.reconnect && x->run.reconnect.user == user)
          return cancel_call(inst, x, user);
    });
    return;
  }
  on_loop(inst, [inst, d, user] { cancel_call(inst, d, user); });
}

const domus_domain_ops_v1 ops = [] {
  domus_domain_ops_v1 o{};
  o.struct_size = sizeof o;
  o.normalize = qemu_normalize;
  o.define = qemu_define;
  o.undefine = qemu_undefine;
  o.start = qemu_start;
  o.shutdown = qemu_shutdown;
  o.reboot = qemu_reboot;
  o.destroy = qemu_destroy;
  o.suspend = qemu_suspend;
  o.resume = qemu_resume;
  o.info = qemu_info;
  o.reconnect = qemu_reconnect;
  o.release = qemu_release;
  o.cancel = qemu_cancel;
  o.undefine_flags = qemu_undefine_flags;
  o.to_native = qemu_to_native;
  return o;
}();

} // namespace

const domus_domain_ops_v1& domain_ops() {
  return ops;
}

} // namespace domus::qemu_driver
