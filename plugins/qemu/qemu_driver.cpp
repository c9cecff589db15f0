// The `qemu` driver: real guests under qemu:///system and qemu:///session, libvirt's
// QEMU driver as a plugin. This file holds its entry point, opening an instance (its
// settings and the default emulator's capabilities), host facts, and the helpers every
// other file uses. docs/qemu.md says what it applies.
#include "qemu_state.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

namespace domus::qemu_driver {

domus_result_v1 blank() {
  domus_result_v1 r{};
  r.struct_size = sizeof r;
  return r;
}

void fail(domus_complete_fn done, void* user, errc code, const std::string& message) {
  domus_result_v1 r = blank();
  r.status = static_cast<int32_t>(code);
  r.message = message.c_str();
  done(user, &r);
}

void guarded(domus_complete_fn done, void* user, const std::function<void()>& body) {
  try {
    body();
  } catch (const error& e) {
    fail(done, user, e.code(), e.what());
  } catch (const std::exception& e) {
    fail(done, user, errc::internal, std::string("QEMU driver: ") + e.what());
  }
}

void log(domus_instance* inst, int32_t level, const std::string& message) {
  inst->host->log(inst->host->ctx, level, message.c_str());
}

namespace {

void run_posted(void* arg) {
  std::unique_ptr<std::function<void()>> fn(static_cast<std::function<void()>*>(arg));
  // Nothing throws into the runtime's loop.
  try {
    (*fn)();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "QEMU driver: a task on the loop failed: %s\n", e.what());
  }
}

struct work_item {
  std::string what;
  std::function<void()> body;
  std::function<void(const work_outcome&)> after;
  work_outcome outcome;
};

void run_work(void* arg) {
  auto* w = static_cast<work_item*>(arg);
  try {
    w->body();
  } catch (const error& e) {
    w->outcome = {false, e.code(), e.what()};
  } catch (const std::exception& e) {
    w->outcome = {false, errc::internal, w->what + ": " + e.what()};
  }
}

void work_done(void* arg, int32_t status) {
  std::unique_ptr<work_item> w(static_cast<work_item*>(arg));
  if (status != 0)
    w->outcome = {false, errc::shutting_down, w->what + " was cancelled before it began"};
  try {
    w->after(w->outcome);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "QEMU driver: %s: %s\n", w->what.c_str(), e.what());
  }
}

} // namespace

void on_loop(domus_instance* inst, std::function<void()> fn) {
  auto* p = new std::function<void()>(std::move(fn));
  if (inst->host->post(inst->host->ctx, run_posted, p) != 0) {
    // The loop is gone (the daemon stops): run it here rather than never.
    run_posted(p);
  }
}

uint64_t on_worker(domus_instance* inst, const std::string& what,
                   std::function<void()> body,
                   std::function<void(const work_outcome&)> after) {
  auto* w = new work_item{what, std::move(body), std::move(after), {}};
  if (uint64_t handle = inst->host->queue_work(inst->host->ctx, run_work, work_done, w))
    return handle;
  w->outcome = {false, errc::limit_exceeded,
                what + " was refused: " + std::to_string(DOMUS_WORK_MAX_ITEMS) +
                    " blocking operations of " + inst->uri + " already wait or run"};
  on_loop(inst, [w] {
    std::unique_ptr<work_item> owned(w);
    owned->after(owned->outcome);
  });
  return 0;
}

void xml_from_worker(domus_instance* inst, const std::string& what,
                     domus_complete_fn done, void* user,
                     std::function<std::string()> make) {
  auto out = std::make_shared<std::string>();
  on_worker(
      inst, what, [out, make] { *out = make(); },
      [done, user, out](const work_outcome& o) {
        if (!o.ok)
          return fail(done, user, o.code, o.message);
        domus_result_v1 r = blank();
        r.xml = out->c_str();
        done(user, &r);
      });
}

// ---- capabilities, cached ------------------------------------------------------------

namespace {

std::string cache_file(domus_instance* inst, const std::string& path) {
  std::string name;
  for (char c : path.substr(1))
    name += std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' ? c : '_';
  return inst->cache_dir + "/capabilities/" + name + ".json";
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return "";
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// A whole new cache file or none: written aside, flushed, renamed over.
void write_cache(domus_instance* inst, const std::string& file, const std::string& text) {
  ::mkdir((inst->cache_dir + "/capabilities").c_str(), 0755);
  // A name of its own: two workers may probe one new binary at once.
  static std::atomic<uint64_t> serial{0};
  std::string tmp = file + ".tmp." + std::to_string(::getpid()) + "." +
                    std::to_string(serial.fetch_add(1));
  int fd =
      ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
  bool ok = fd >= 0 &&
            ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
            ::fsync(fd) == 0;
  if (fd >= 0)
    ::close(fd);
  if (!ok || ::rename(tmp.c_str(), file.c_str()) != 0) {
    ::unlink(tmp.c_str());
    log(inst, DOMUS_LOG_WARNING,
        "cannot cache capabilities in " + file + ": " + std::strerror(errno));
  }
}

} // namespace

std::shared_ptr<const qemu_caps> caps_for(domus_instance* inst, const std::string& path) {
  struct stat st {};
  if (path.empty() || path[0] != '/')
    throw error(errc::invalid_argument,
                "the emulator '" + path + "' is not an absolute path");
  if (::stat(path.c_str(), &st) != 0)
    throw error(
        errc::operation_failed,
        "the emulator " + path + ": " + std::strerror(errno) +
            (errno == ENOENT ? " (Debian's package qemu-system-x86 has it)" : ""));
  if (!S_ISREG(st.st_mode) || ::access(path.c_str(), X_OK) != 0)
    throw error(errc::operation_failed, "the emulator " + path + " is not executable");
  int64_t mtime =
      static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  auto fits = [&](const qemu_caps& c) {
    return c.path == path && c.size == static_cast<uint64_t>(st.st_size) &&
           c.mtime_ns == mtime;
  };
  {
    std::lock_guard<std::mutex> lock(inst->caps_mutex);
    auto it = inst->caps.find(path);
    if (it != inst->caps.end() && fits(*it->second))
      return it->second;
  }
  std::string file = cache_file(inst, path);
  auto cached = caps_from_json(read_text(file));
  std::shared_ptr<const qemu_caps> caps;
  if (cached && fits(*cached)) {
    caps = std::make_shared<qemu_caps>(std::move(*cached));
  } else {
    qemu_caps probed = probe_caps(inst->host, path, inst->qmp_timeout_ms);
    probed.size = static_cast<uint64_t>(st.st_size);
    probed.mtime_ns = mtime;
    write_cache(inst, file, caps_to_json(probed));
    caps = std::make_shared<qemu_caps>(std::move(probed));
  }
  std::lock_guard<std::mutex> lock(inst->caps_mutex);
  inst->caps[path] = caps;
  return caps;
}

namespace {

// ---- settings (etc/domus/qemu.conf) --------------------------------------------------

void apply_settings(domus_instance& inst, const domus_open_args_v1& a) {
  inst.emulator = "/usr/bin/qemu-system-x86_64";
  if (!DOMUS_REACHES(&a, domus_open_args_v1, n_settings))
    return;
  for (size_t i = 0; i < a.n_settings; ++i) {
    const domus_setting_v1& s = a.settings[i];
    std::string where =
        std::string(a.settings_file) + ":" + std::to_string(s.line) + ": " + s.key + ": ";
    std::string key = s.key, value = s.value;
    auto number = [&](uint32_t lo, uint32_t hi) {
      char* end = nullptr;
      unsigned long v = std::strtoul(value.c_str(), &end, 10);
      if (value.empty() || *end || v < lo || v > hi)
        throw error(errc::config_error, where + "'" + value + "' is not a number from " +
                                            std::to_string(lo) + " to " +
                                            std::to_string(hi));
      return static_cast<uint32_t>(v);
    };
    if (key == "emulator") {
      if (value.empty() || value[0] != '/')
        throw error(errc::config_error,
                    where + "'" + value + "' is not an absolute path");
      inst.emulator = value;
    } else if (key == "qmp_timeout_ms") {
      inst.qmp_timeout_ms = number(100, 600000);
    } else if (key == "destroy_grace_ms") {
      inst.destroy_grace_ms = number(0, 600000);
    } else {
      throw error(errc::config_error, where +
                                          "unknown setting (the QEMU driver knows "
                                          "emulator, qmp_timeout_ms, destroy_grace_ms)");
    }
  }
}

void qemu_open(const domus_open_args_v1* a, domus_complete_fn done, void* user) {
  guarded(done, user, [&] {
    if (!DOMUS_REACHES(a, domus_open_args_v1, n_settings) ||
        !DOMUS_REACHES(a->host, domus_host_v1, queue_work))
      throw error(errc::unsupported,
                  "the QEMU driver needs a runtime with plugin ABI 1.1");
    std::string path = a->path ? a->path : "";
    if (path != "/system" && path != "/session")
      throw error(errc::invalid_argument, "the QEMU driver serves qemu:///system and "
                                          "qemu:///session, not '" +
                                              std::string(a->uri) + "'");
    auto inst = std::make_unique<domus_instance>();
    inst->host = a->host;
    inst->uri = a->uri;
    inst->state_dir = a->state_dir;
    inst->run_dir = a->run_dir;
    inst->log_dir = a->log_dir;
    inst->cache_dir = a->cache_dir;
    apply_settings(*inst, *a);
    domus_instance* raw = inst.release();
    // The default emulator's capabilities, now (or from the cache), so that the first
    // define waits for nothing. A missing emulator does not stop the instance: its
    // domains are listed, and each start says what is missing.
    on_worker(
        raw, "probing " + raw->emulator, [raw] { caps_for(raw, raw->emulator); },
        [raw, done, user](const work_outcome& o) {
          if (!o.ok)
            log(raw, DOMUS_LOG_WARNING, o.message);
          domus_result_v1 r = blank();
          r.instance = raw;
          done(user, &r);
        });
  });
}

void qemu_close(domus_instance* inst) {
  std::lock_guard<std::mutex> lock(inst->doms_mutex);
  for (domus_dom* d : inst->doms) {
    // Guests run on; the next daemon takes them back.
    d->run.qmp.reset();
    if (d->run.kill_timer)
      inst->host->timer_stop(inst->host->ctx, d->run.kill_timer);
    if (d->run.watch)
      inst->host->unwatch_pid(inst->host->ctx, d->run.watch);
    delete d;
  }
  inst->doms.clear();
  delete inst;
}

// ---- host facts ----------------------------------------------------------------------

std::string cpuinfo_value(const std::string& key) {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(key, 0) == 0) {
      size_t colon = line.find(':');
      if (colon != std::string::npos)
        return line.substr(colon + 2);
    }
  return "";
}

void qemu_node_info(domus_instance*, domus_complete_fn done, void* user) {
  guarded(done, user, [&] {
    uint64_t mem_kib = host_memory_kib();
    utsname u{};
    ::uname(&u);
    static thread_local std::string model;
    model = u.machine;
    uint32_t cpus = static_cast<uint32_t>(::sysconf(_SC_NPROCESSORS_ONLN));
    std::string mhz = cpuinfo_value("cpu MHz");
    domus_node_info_v1 n{};
    n.struct_size = sizeof n;
    n.cpu_model = model.c_str();
    n.memory_kib = mem_kib;
    n.cpus = cpus;
    n.mhz = mhz.empty() ? 0 : static_cast<uint32_t>(std::stod(mhz));
    n.numa_nodes = 1;
    n.sockets_per_node = 1;
    n.cores_per_socket = cpus;
    n.threads_per_core = 1;
    domus_result_v1 r = blank();
    r.node = &n;
    done(user, &r);
  });
}

void qemu_version_info(domus_instance* inst, domus_complete_fn done, void* user) {
  std::shared_ptr<const qemu_caps> caps;
  {
    std::lock_guard<std::mutex> lock(inst->caps_mutex);
    auto it = inst->caps.find(inst->emulator);
    if (it != inst->caps.end())
      caps = it->second;
  }
  domus_version_v1 v{};
  v.struct_size = sizeof v;
  v.hypervisor_type = "QEMU";
  v.hypervisor_version = caps ? caps->version : 0;
  v.security_model = "none";
  v.security_doi = "0";
  domus_result_v1 r = blank();
  r.version = &v;
  done(user, &r);
}

// `virsh capabilities`: the default emulator's guests (probed at open, or now).
void qemu_capabilities(domus_instance* inst, domus_complete_fn done, void* user) {
  xml_from_worker(inst, "capabilities", done, user, [inst] {
    return capabilities_xml(*caps_for(inst, inst->emulator), kvm_unusable().empty());
  });
}

// `virsh domcapabilities`: for the queried emulator (the default one when none).
void qemu_domain_capabilities(domus_instance* inst, const domus_domcaps_query_v1* q,
                              domus_complete_fn done, void* user) {
  auto field = [&](const char* v) { return std::string(v ? v : ""); };
  std::string emulator = q && q->emulator ? q->emulator : inst->emulator;
  domcaps_query query{q ? field(q->arch) : "", q ? field(q->machine) : "",
                      q ? field(q->virttype) : ""};
  xml_from_worker(inst, "domain capabilities", done, user, [inst, emulator, query] {
    return domain_capabilities_xml(*caps_for(inst, emulator), query,
                                   kvm_unusable().empty());
  });
}

const char* const schemes[] = {"qemu", nullptr};

domus_driver_v1 make_driver() {
  domus_driver_v1 d{};
  d.abi_major = DOMUS_DRIVER_ABI_MAJOR;
  d.abi_minor = DOMUS_DRIVER_ABI_MINOR;
  d.struct_size = sizeof d;
  d.name = "qemu";
  d.version = DOMUS_VERSION;
  d.schemes = schemes;
  d.open = qemu_open;
  d.close = qemu_close;
  d.node_info = qemu_node_info;
  d.version_info = qemu_version_info;
  d.domain = &domain_ops();
  d.capabilities = qemu_capabilities;
  d.domain_capabilities = qemu_domain_capabilities;
  return d;
}

} // namespace
} // namespace domus::qemu_driver

DOMUS_DRIVER_EXPORT const domus_driver_v1* domus_driver_entry(uint32_t host_abi_major) {
  if (host_abi_major != DOMUS_DRIVER_ABI_MAJOR)
    return nullptr;
  static const domus_driver_v1 driver = domus::qemu_driver::make_driver();
  return &driver;
}
