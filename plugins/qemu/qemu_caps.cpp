#include "qemu_caps.hpp"

#include <domus/errors.hpp>

#include <nlohmann/json.hpp>

#include <fcntl.h>
#include <linux/kvm.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstring>
#include <memory>
#include <mutex>

namespace domus::qemu_driver {

using nlohmann::json;

const machine_info* qemu_caps::find_machine(std::string_view name) const {
  for (const auto& m : machines)
    if (m.name == name || (!m.alias.empty() && m.alias == name))
      return &m;
  return nullptr;
}

const machine_info* qemu_caps::default_machine() const {
  for (const auto& m : machines)
    if (m.is_default)
      return &m;
  return nullptr;
}

bool qemu_caps::has_cpu_model(std::string_view model) const {
  return std::find(cpu_models.begin(), cpu_models.end(), model) != cpu_models.end();
}

namespace {
std::string joined(std::vector<std::string> names) {
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  std::string out;
  for (const auto& n : names)
    out += (out.empty() ? "" : ", ") + n;
  return out;
}
} // namespace

std::string qemu_caps::machine_names() const {
  std::vector<std::string> names;
  for (const auto& m : machines) {
    names.push_back(m.name);
    if (!m.alias.empty())
      names.push_back(m.alias);
  }
  return joined(std::move(names));
}

std::string qemu_caps::cpu_model_names() const {
  return joined(cpu_models);
}

// ---- the cache file ----------------------------------------------------------------

namespace {
// 2: machines carry their default CPU model.
constexpr int cache_format = 2;
} // namespace

std::string caps_to_json(const qemu_caps& c) {
  json machines = json::array();
  for (const auto& m : c.machines)
    machines.push_back({{"name", m.name},
                        {"alias", m.alias},
                        {"default", m.is_default},
                        {"max_cpus", m.max_cpus},
                        {"default_cpu", m.default_cpu}});
  json j = {
      {"format", cache_format}, {"path", c.path},       {"size", c.size},
      {"mtime_ns", c.mtime_ns}, {"arch", c.arch},       {"version", c.version},
      {"package", c.package},   {"machines", machines}, {"cpu_models", c.cpu_models}};
  return j.dump(1) + "\n";
}

std::optional<qemu_caps> caps_from_json(std::string_view text) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object() || j.value("format", 0) != cache_format)
    return std::nullopt;
  try {
    qemu_caps c;
    c.path = j.at("path").get<std::string>();
    c.size = j.at("size").get<uint64_t>();
    c.mtime_ns = j.at("mtime_ns").get<int64_t>();
    c.arch = j.at("arch").get<std::string>();
    c.version = j.at("version").get<uint64_t>();
    c.package = j.at("package").get<std::string>();
    for (const auto& m : j.at("machines"))
      c.machines.push_back({m.at("name").get<std::string>(),
                            m.at("alias").get<std::string>(), m.at("default").get<bool>(),
                            m.at("max_cpus").get<uint32_t>(),
                            m.at("default_cpu").get<std::string>()});
    c.cpu_models = j.at("cpu_models").get<std::vector<std::string>>();
    if (c.machines.empty())
      return std::nullopt;
    return c;
  } catch (const json::exception&) {
    return std::nullopt;
  }
}

// ---- the probe ---------------------------------------------------------------------

namespace {

struct child_state {
  std::mutex mutex;
  std::condition_variable changed;
  bool spawned = false, ended = false, failed = false;
  int64_t status = 0;
};

void on_child(void* arg, const domus_child_event_v1* e) {
  auto* holder = static_cast<std::shared_ptr<child_state>*>(arg);
  std::shared_ptr<child_state> s = *holder;
  {
    std::lock_guard<std::mutex> lock(s->mutex);
    if (e->kind == DOMUS_CHILD_SPAWNED) {
      s->spawned = true;
    } else {
      s->ended = true;
      s->failed = e->kind == DOMUS_CHILD_FAILED;
      s->status = e->status;
    }
  }
  s->changed.notify_all();
  if (e->kind != DOMUS_CHILD_SPAWNED)
    delete holder;
}

// A blocking QMP conversation with a deadline, for the probe only.
struct probe_monitor {
  int fd;
  std::chrono::steady_clock::time_point deadline;
  std::string buffer;
  const std::string& emulator;

  std::string fail_text(const std::string& what) const {
    return "probing " + emulator + ": " + what;
  }
  json read_message() {
    for (;;) {
      size_t nl = buffer.find('\n');
      if (nl != std::string::npos) {
        std::string line = buffer.substr(0, nl);
        buffer.erase(0, nl + 1);
        json j = json::parse(line, nullptr, false);
        if (j.is_discarded())
          throw error(errc::operation_failed, fail_text("its monitor sent no JSON"));
        return j;
      }
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0)
        throw error(errc::timeout, fail_text("no answer in time"));
      pollfd p{fd, POLLIN, 0};
      int r = ::poll(&p, 1, static_cast<int>(left.count()));
      if (r < 0 && errno == EINTR)
        continue;
      if (r <= 0)
        continue;
      char buf[65536];
      ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0)
        throw error(errc::operation_failed, fail_text("it closed its monitor"));
      buffer.append(buf, static_cast<size_t>(n));
      if (buffer.size() > (64u << 20))
        throw error(errc::operation_failed, fail_text("its monitor said too much"));
    }
  }
  json call(const std::string& command) {
    std::string line = json{{"execute", command}}.dump() + "\r\n";
    if (::send(fd, line.data(), line.size(), MSG_NOSIGNAL) !=
        static_cast<ssize_t>(line.size()))
      throw error(errc::operation_failed, fail_text("cannot write to its monitor"));
    for (;;) {
      json j = read_message();
      if (j.contains("event"))
        continue;
      if (j.contains("error"))
        throw error(errc::operation_failed,
                    fail_text(command + ": " + j["error"].value("desc", j.dump())));
      if (j.contains("return"))
        return j["return"];
    }
  }
};

void read_answers(probe_monitor& m, qemu_caps& c) {
  json greeting = m.read_message();
  if (!greeting.contains("QMP"))
    throw error(errc::operation_failed, m.fail_text("no QMP greeting"));
  m.call("qmp_capabilities");
  json v = m.call("query-version");
  const json& q = v.at("qemu");
  c.version = q.at("major").get<uint64_t>() * 1000000 +
              q.at("minor").get<uint64_t>() * 1000 + q.at("micro").get<uint64_t>();
  c.package = v.value("package", "");
  for (const json& m : m.call("query-machines")) {
    machine_info mi;
    mi.name = m.at("name").get<std::string>();
    mi.alias = m.value("alias", "");
    mi.is_default = m.value("is-default", false);
    mi.max_cpus = m.value("cpu-max", 0u);
    // "qemu64-x86_64-cpu" is the CPU model qemu64 of QEMU's x86_64 target.
    std::string cpu_type = m.value("default-cpu-type", "");
    std::string suffix = "-" + c.arch + "-cpu";
    if (cpu_type.size() > suffix.size() &&
        cpu_type.compare(cpu_type.size() - suffix.size(), suffix.size(), suffix) == 0)
      mi.default_cpu = cpu_type.substr(0, cpu_type.size() - suffix.size());
    if (mi.name != "none")
      c.machines.push_back(std::move(mi));
  }
  for (const json& cpu : m.call("query-cpu-definitions"))
    c.cpu_models.push_back(cpu.at("name").get<std::string>());
  std::sort(c.machines.begin(), c.machines.end(),
            [](const machine_info& a, const machine_info& b) { return a.name < b.name; });
  std::sort(c.cpu_models.begin(), c.cpu_models.end());
  if (c.machines.empty())
    throw error(errc::operation_failed, m.fail_text("it reports no machine types"));
}

} // namespace

qemu_caps probe_caps(const domus_host_v1* host, const std::string& emulator,
                     uint32_t timeout_ms) {
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
    throw error(errc::operation_failed,
                "probing " + emulator + ": socketpair: " + std::strerror(errno));
  std::string chardev = "socket,id=qmp,fd=" + std::to_string(sv[1]);
  std::vector<std::string> argv = {
      emulator,     "-S",       "-no-user-config",         "-nodefaults",
      "-nographic", "-machine", "none,accel=tcg",          "-chardev",
      chardev,      "-mon",     "chardev=qmp,mode=control"};
  std::vector<const char*> args;
  for (auto& a : argv)
    args.push_back(a.c_str());
  args.push_back(nullptr);
  static const char* const env[] = {"LC_ALL=C", "PATH=/usr/sbin:/usr/bin:/sbin:/bin",
                                    nullptr};
  int32_t pass[] = {sv[1]};
  domus_spawn_v1 spec{};
  spec.struct_size = sizeof spec;
  spec.file = emulator.c_str();
  spec.argv = args.data();
  spec.envp = env;
  spec.stdin_fd = -1;
  spec.stdout_fd = -1;
  spec.stderr_fd = -1;
  spec.pass_fds = pass;
  spec.n_pass_fds = 1;
  spec.uid = -1;
  spec.gid = -1;
  auto state = std::make_shared<child_state>();
  auto* holder = new std::shared_ptr<child_state>(state);
  uint64_t child = host->spawn(host->ctx, &spec, on_child, holder);
  ::close(sv[1]); // the host duplicated it
  if (!child) {
    delete holder;
    ::close(sv[0]);
    throw error(errc::operation_failed,
                "probing " + emulator + ": the host refused to spawn it");
  }
  qemu_caps c;
  c.path = emulator;
  probe_monitor m{sv[0],
                  std::chrono::steady_clock::now() +
                      std::chrono::milliseconds(timeout_ms),
                  {},
                  emulator};
  std::string failure;
  errc code = errc::operation_failed;
  try {
    read_answers(m, c);
    // Its answer before the socket closes: QEMU drops a command whose monitor went
    // away before it ran.
    m.call("quit");
  } catch (const error& e) {
    failure = e.what();
    code = e.code();
  }
  ::close(sv[0]);
  std::unique_lock<std::mutex> lock(state->mutex);
  if (!state->changed.wait_for(lock, std::chrono::seconds(5),
                               [&] { return state->ended; })) {
    host->kill(host->ctx, child, SIGKILL);
    state->changed.wait_for(lock, std::chrono::seconds(5), [&] { return state->ended; });
  }
  if (state->failed)
    throw error(errc::operation_failed,
                "cannot run the emulator " + emulator + ": " +
                    std::strerror(static_cast<int>(-state->status)));
  if (!failure.empty())
    throw error(code, failure);
  return c;
}

std::string kvm_unusable() {
  int fd = ::open("/dev/kvm", O_RDWR | O_CLOEXEC);
  if (fd < 0)
    return std::string("/dev/kvm: ") + std::strerror(errno);
  int vm = ::ioctl(fd, KVM_CREATE_VM, 0);
  int err = errno;
  ::close(fd);
  if (vm < 0)
    return std::string("/dev/kvm opens but KVM_CREATE_VM fails: ") + std::strerror(err);
  ::close(vm);
  return "";
}

} // namespace domus::qemu_driver
