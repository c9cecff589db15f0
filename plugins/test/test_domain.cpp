#include "test_domain.hpp"

#include <domus/errors.hpp>
#include <domus/model/domain_schema.hpp>
#include <domus/model/schema.hpp>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <random>
#include <set>
#include <sstream>
#include <unistd.h>

namespace domus::test_driver {
namespace {

// The text of a lifecycle action element (<on_poweroff>, <on_reboot>) of a definition
// with its tree, or "".
std::string action_in(const model::domain_def& def, std::string_view element) {
  const model::xml_node* c = def.root().child(element);
  return c ? c->text_content() : "";
}

// The same of a live definition, which may be compact (read from its text parsed again:
// a compact definition keeps no tree), or absent.
std::string action_of(const std::unique_ptr<model::domain_def>& def,
                      std::string_view element) {
  if (!def)
    return "";
  return def->compact() ? action_in(model::expanded(*def), element)
                        : action_in(*def, element);
}

outcome refuse(int32_t status, std::string message) {
  outcome o;
  o.status = status;
  o.message = std::move(message);
  return o;
}

bool active(const domus_dom& d) {
  return d.state != DOMUS_STATE_SHUTOFF;
}

// Sets the state and, for shut off, drops the live definition and the id.
outcome settle(domus_dom& d, int32_t state, int32_t reason,
               std::vector<domus_event_v1> events) {
  d.state = state;
  d.reason = reason;
  if (state == DOMUS_STATE_SHUTOFF) {
    d.id = -1;
    d.live.reset(); // a shut off guest has no live definition: one copy less to keep
  }
  outcome o;
  o.state = {d.state, d.reason, d.id};
  o.events = std::move(events);
  o.private_data = encode_status(d);
  return o;
}

std::string name_of(const domus_dom& d) {
  return "'" + d.def.name + "'";
}

} // namespace

outcome start_domain(domus_instance& inst, domus_dom& d) {
  std::lock_guard<std::mutex> lock(d.mutex);
  if (active(d))
    return refuse(DOMUS_E_INVALID_OPERATION,
                  "domain " + name_of(d) + " is already active");
  d.id = inst.next_id++;
  d.live = std::make_unique<model::domain_def>(d.def); // compact: its text is copied
  d.started = std::chrono::steady_clock::now();
  return settle(d, DOMUS_STATE_RUNNING, DOMUS_REASON_BOOTED,
                {{DOMUS_EVENT_STARTED, DOMUS_DETAIL_BOOTED}});
}

outcome shutdown_domain(domus_dom& d) {
  std::lock_guard<std::mutex> lock(d.mutex);
  if (!active(d))
    return refuse(DOMUS_E_INVALID_OPERATION, "domain " + name_of(d) + " is not running");
  // The mock guest powers off at once; on_poweroff decides what follows.
  std::string action = action_of(d.live, "on_poweroff");
  if (action == "restart" || action == "rename-restart")
    return settle(d, DOMUS_STATE_RUNNING, DOMUS_REASON_BOOTED, {});
  return settle(d, DOMUS_STATE_SHUTOFF, DOMUS_REASON_SHUTDOWN,
                {{DOMUS_EVENT_STOPPED, DOMUS_DETAIL_SHUTDOWN}});
}

outcome reboot_domain(domus_dom& d) {
  std::lock_guard<std::mutex> lock(d.mutex);
  if (!active(d))
    return refuse(DOMUS_E_INVALID_OPERATION, "domain " + name_of(d) + " is not running");
  if (action_of(d.live, "on_reboot") == "destroy")
    return settle(d, DOMUS_STATE_SHUTOFF, DOMUS_REASON_SHUTDOWN,
                  {{DOMUS_EVENT_STOPPED, DOMUS_DETAIL_SHUTDOWN}});
  // libvirt's mock reboots in place: same id, reason booted, no event.
  d.started = std::chrono::steady_clock::now();
  return settle(d, DOMUS_STATE_RUNNING, DOMUS_REASON_BOOTED, {});
}

outcome destroy_domain(domus_dom& d) {
  std::lock_guard<std::mutex> lock(d.mutex);
  // The runtime destroys a shut off domain only beside a start it cancelled (docs/
  // plugins.md, "Deadlines"): nothing of the mock guest runs, so nothing changes.
  if (!active(d))
    return settle(d, d.state, d.reason, {});
  return settle(d, DOMUS_STATE_SHUTOFF, DOMUS_REASON_DESTROYED,
                {{DOMUS_EVENT_STOPPED, DOMUS_DETAIL_DESTROYED}});
}

outcome suspend_domain(domus_dom& d) {
  std::lock_guard<std::mutex> lock(d.mutex);
  if (!active(d) || d.state == DOMUS_STATE_PAUSED)
    return refuse(DOMUS_E_INVALID_OPERATION, "domain " + name_of(d) + " is not running");
  return settle(d, DOMUS_STATE_PAUSED, DOMUS_REASON_USER,
                {{DOMUS_EVENT_SUSPENDED, DOMUS_DETAIL_PAUSED}});
}

outcome resume_domain(domus_dom& d) {
  std::lock_guard<std::mutex> lock(d.mutex);
  if (d.state != DOMUS_STATE_PAUSED)
    return refuse(DOMUS_E_INVALID_OPERATION, "domain " + name_of(d) + " is not paused");
  return settle(d, DOMUS_STATE_RUNNING, DOMUS_REASON_UNPAUSED,
                {{DOMUS_EVENT_RESUMED, DOMUS_DETAIL_UNPAUSED}});
}

outcome dump_domain(domus_dom& d, const std::string& path, uint32_t flags) {
  std::lock_guard<std::mutex> lock(d.mutex);
  if (!active(d))
    return refuse(DOMUS_E_INVALID_OPERATION, "domain " + name_of(d) + " is not running");
  // The mock's core is libvirt's mock's: its magic, NUL included, and nothing else.
  static const char magic[] = "TestGuestMagic";
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0)
    return refuse(DOMUS_E_OPERATION_FAILED, "domain " + name_of(d) +
                                                " coredump: failed to open " + path +
                                                ": " + std::strerror(errno));
  bool written = ::write(fd, magic, sizeof magic) == static_cast<ssize_t>(sizeof magic);
  int err = written ? 0 : errno;
  if (::close(fd) != 0 && written) {
    written = false;
    err = errno;
  }
  if (!written) {
    ::unlink(path.c_str());
    return refuse(DOMUS_E_OPERATION_FAILED,
                  "domain " + name_of(d) + " coredump: failed to write header to " +
                      path + ": " + std::strerror(err ? err : EIO));
  }
  if (flags & DOMUS_DUMP_CRASH)
    return settle(d, DOMUS_STATE_SHUTOFF, DOMUS_REASON_CRASHED,
                  {{DOMUS_EVENT_STOPPED, DOMUS_DETAIL_CRASHED}});
  return settle(d, d.state, d.reason, {});
}

std::string encode_status(const domus_dom& d) {
  return std::to_string(d.state) + " " + std::to_string(d.reason) + " " +
         std::to_string(d.id);
}

bool decode_status(const std::string& data, domus_dom_state_v1& out) {
  std::istringstream in(data);
  return static_cast<bool>(in >> out.state >> out.reason >> out.id) &&
         out.state >= DOMUS_STATE_RUNNING && out.state <= DOMUS_STATE_PMSUSPENDED;
}

namespace {

// libvirt's test driver names every interface that has no target `testnetN`, N the
// lowest that no interface of the domain has (its testDomainGenerateIfnames), at define,
// create and node-file load; at most 1024 of them, as libvirt's.
void name_interfaces(model::xml_node& devices) {
  static const model::elem_rule& rule =
      *model::domain_schema().find_child("devices")->rule->find_child("interface")->rule;
  std::set<std::string> taken;
  for (const auto& dev : devices.children)
    if (!dev.is_text && dev.name == "interface")
      if (const model::xml_node* t = dev.child("target"))
        if (const std::string* name = t->attr("dev"))
          taken.insert(*name);
  int next = 0;
  for (auto& dev : devices.children) {
    if (dev.is_text || dev.name != "interface")
      continue;
    const model::xml_node* t = dev.child("target");
    if (t && t->attr("dev"))
      continue;
    while (next < 1024 && taken.count("testnet" + std::to_string(next)))
      ++next;
    if (next >= 1024)
      throw error(errc::limit_exceeded, "Exceeded max iface limit 1024");
    std::string name = "testnet" + std::to_string(next);
    taken.insert(name);
    model::place_child(dev, rule, "target").set_attr("dev", name);
  }
}

} // namespace

void apply_test_defaults(model::domain_def& def) {
  // The mock host's arch, whatever the OS type (libvirt's mock gives it to exe too).
  if (def.os_arch.empty())
    def.os_arch = "i686";
  if (model::xml_node* devices = def.root().child("devices"))
    name_interfaces(*devices);
  thread_local std::mt19937 rng{std::random_device{}()};
  if (model::xml_node* devices = def.root().child("devices")) {
    for (auto& dev : devices->children) {
      if (dev.is_text || dev.name != "interface" || dev.child("mac"))
        continue;
      char mac[32];
      std::snprintf(mac, sizeof mac, "52:54:00:%02x:%02x:%02x", unsigned(rng() & 0xFF),
                    unsigned(rng() & 0xFF), unsigned(rng() & 0xFF));
      model::xml_node m = model::xml_node::element("mac");
      m.set_attr("address", mac);
      dev.children.insert(dev.children.begin(), std::move(m));
    }
  }
}

} // namespace domus::test_driver
