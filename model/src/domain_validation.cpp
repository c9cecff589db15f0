// libvirt's validation of what a definition says, beyond its shape: the rules its
// per-device *Validate functions and its parser apply that the schema table cannot say
// (sources a character device needs, cache allocations that collide, a controller type
// libvirt 9.0 does not have, the inputs a paravirtualized Xen guest can have). What a
// rule finds is refused for a new definition and only reported for a stored one, so an
// upgrade that adds a rule never makes a domain vanish (domain_rules.hpp).
#include "domain_rules.hpp"

#include "domus/model/cpuset.hpp"
#include "domus/model/schema.hpp"

#include <domus/errors.hpp>

#include <algorithm>
#include <set>
#include <tuple>

namespace domus::model {

namespace {

std::vector<const xml_node*> named(const xml_node& parent, std::string_view name) {
  std::vector<const xml_node*> out;
  for (auto& c : parent.children)
    if (!c.is_text && c.name == name)
      out.push_back(&c);
  return out;
}

// An attribute's value, "" when absent (a view into the node: no copy).
std::string_view attr_of(const xml_node* n, std::string_view name) {
  const std::string* v = n ? n->attr(name) : nullptr;
  return v ? std::string_view(*v) : std::string_view();
}

struct validator {
  std::string_view origin;
  bool input;
  std::vector<std::string>& warnings;
  uint32_t vcpu_count = 1; // the guest's maximum

  // One finding: refused for input, a warning for a stored definition.
  void found(const xml_node& at, const std::string& path, const std::string& message) {
    if (input)
      fail_at(origin, at, path, message);
    std::string where(origin);
    if (at.line > 0)
      where += ":" + std::to_string(at.line);
    warnings.push_back(where + ": " + path + ": " + message);
  }

  // --- character devices -------------------------------------------------------------

  // The sources a character device of each type needs (libvirt's
  // virDomainChrSourceDefValidate): a TCP one a host and a service, a UDP one the
  // service it sends to, a unix one its path (but a virtio channel, whose path the
  // hypervisor makes), a file, pipe or device its path; one source, two for UDP; a
  // reconnect only when connecting, and with a timeout when enabled.
  void chardev(const xml_node& dev, std::string_view element, bool virtio_channel) {
    std::string_view type = attr_of(&dev, "type");
    if (type.empty() || type == "pty" || type == "null" || type == "vc" ||
        type == "stdio" || type == "spicevmc")
      return; // (no source to check: the common case costs nothing more)
    const std::string path = "/domain/devices/" + std::string(element);
    auto sources = named(dev, "source");
    size_t allowed = type == "udp" ? 2 : 1;
    if (sources.size() > allowed)
      found(*sources[allowed], path + "/source",
            allowed == 1
                ? "only one <source> is allowed for a character device of type '" +
                      std::string(type) + "'"
                : "only two <source> elements are allowed for a UDP character "
                  "device (its two ends)");
    const xml_node* connect = nullptr; // the source a UDP device sends to
    for (const xml_node* s : sources)
      if (attr_of(s, "mode") != "bind")
        connect = s;
    const xml_node* source = sources.empty() ? nullptr : sources.front();
    const xml_node& at = source ? *source : dev;
    auto missing = [&](const char* what) {
      found(at, path + "/source",
            "a character device of type '" + std::string(type) +
                "' needs its source's '" + what + "' attribute");
    };
    if (type == "tcp") {
      if (attr_of(source, "host").empty())
        missing("host");
      if (attr_of(source, "service").empty())
        missing("service");
    } else if (type == "udp") {
      if (attr_of(connect, "service").empty())
        missing("service");
    } else if (type == "unix") {
      if (attr_of(source, "path").empty() && !virtio_channel)
        missing("path");
    } else if (type == "file" || type == "pipe" || type == "dev") {
      if (attr_of(source, "path").empty())
        missing("path");
    }
    for (const xml_node* s : sources) {
      const xml_node* reconnect = s->child("reconnect");
      if (!reconnect)
        continue;
      std::string rpath = path + "/source/reconnect";
      if (attr_of(s, "mode") == "bind")
        found(*reconnect, rpath,
              "a reconnect is possible only for a source in connect mode");
      if (attr_of(reconnect, "enabled") == "yes" && !reconnect->attr("timeout"))
        found(*reconnect, rpath,
              "missing the required attribute 'timeout' of an enabled reconnect");
    }
  }

  void chardevs(const xml_node& devices) {
    for (auto& d : devices.children) {
      if (d.is_text)
        continue;
      if (std::string_view(d.name) == "serial" ||
          std::string_view(d.name) == "parallel" ||
          std::string_view(d.name) == "console" ||
          std::string_view(d.name) == "channel" ||
          std::string_view(d.name) == "redirdev" ||
          (std::string_view(d.name) == "smartcard" &&
           attr_of(&d, "mode") == "passthrough")) {
        bool virtio_channel = std::string_view(d.name) == "channel" &&
                              attr_of(d.child("target"), "type") == "virtio";
        chardev(d, d.name, virtio_channel);
      } else if (std::string_view(d.name) == "rng") {
        const xml_node* backend = d.child("backend");
        if (backend && attr_of(backend, "model") == "egd")
          chardev(*backend, "rng/backend", false);
      }
    }
  }

  // --- devices libvirt 9.0 does not have, or not on this guest ------------------------

  void devices(const xml_node& devices, std::string_view os_type) {
    for (auto& d : devices.children) {
      if (d.is_text)
        continue;
      if (std::string_view(d.name) == "controller" && attr_of(&d, "type") == "nvme")
        found(d, "/domain/devices/controller/@type",
              "controller type 'nvme' is not supported (libvirt 9.0 has none; an NVMe "
              "disk is a <disk type='nvme'>)");
      // A paravirtualized Xen guest has Xen's own input devices only.
      if (std::string_view(d.name) == "input" && os_type == "xen") {
        std::string bus(attr_of(&d, "bus"));
        if (!bus.empty() && bus != "xen")
          found(d, "/domain/devices/input/@bus",
                "input bus '" + bus +
                    "' is not supported by a paravirtualized Xen guest "
                    "(only 'xen')");
      }
      if (std::string_view(d.name) == "graphics")
        graphics(d);
    }
  }

  void graphics(const xml_node& g) {
    const char* path = "/domain/devices/graphics/listen";
    std::string socket(attr_of(&g, "socket"));
    auto listens = named(g, "listen");
    for (const xml_node* l : listens) {
      std::string_view type = attr_of(l, "type");
      if (type == "network" && attr_of(l, "network").empty())
        found(*l, path, "a listen of type 'network' needs its 'network' attribute");
    }
    if (!socket.empty() && !listens.empty() && attr_of(listens[0], "type") == "socket" &&
        attr_of(listens[0], "socket") != socket)
      found(*listens[0], path,
            "the graphics 'socket' attribute '" + socket +
                "' must match the 'socket' attribute of its first listen '" +
                std::string(attr_of(listens[0], "socket")) + "'");
  }

  // --- cache and memory bandwidth allocations ----------------------------------------

  std::optional<std::vector<uint32_t>> vcpus_of(const xml_node& el,
                                                const std::string& path) {
    const std::string* v = el.attr("vcpus");
    if (!v) {
      found(el, path, "missing the required attribute 'vcpus'");
      return std::nullopt;
    }
    auto ids = parse_cpuset(*v);
    if (!ids)
      found(el, path + "/@vcpus", "vcpus '" + *v + "' is empty or malformed");
    return ids;
  }

  static bool overlap(const std::vector<uint32_t>& a, const std::vector<uint32_t>& b) {
    for (size_t i = 0, j = 0; i < a.size() && j < b.size();) {
      if (a[i] == b[j])
        return true;
      a[i] < b[j] ? ++i : ++j;
    }
    return false;
  }

  void resctrl(const xml_node& cputune) {
    struct tune {
      const xml_node* el;
      bool cache;
      std::vector<uint32_t> vcpus;
    };
    std::vector<tune> tunes;
    for (auto& t : cputune.children) {
      if (t.is_text || (t.name != "cachetune" && t.name != "memorytune"))
        continue;
      const std::string path = "/domain/cputune/" + t.name;
      auto vcpus = vcpus_of(t, path);
      if (t.name == "cachetune") {
        // type both covers code and data: each collides with it.
        std::set<std::tuple<std::string, std::string, std::string>> seen;
        for (const xml_node* c : named(t, "cache")) {
          std::string level(attr_of(c, "level")), id(attr_of(c, "id")),
              type(attr_of(c, "type"));
          std::vector<std::string> collides = {type};
          if (type == "both")
            collides = {"both", "code", "data"};
          else
            collides.push_back("both");
          for (auto& other : collides)
            if (seen.count({level, id, other}))
              found(*c, path + "/cache",
                    "colliding cache allocations for cache level '" + level + "' id '" +
                        id + "', type '" + type + "'");
          seen.insert({level, id, type});
        }
      } else {
        std::set<std::string> nodes;
        for (const xml_node* n : named(t, "node"))
          if (!nodes.insert(std::string(attr_of(n, "id"))).second)
            found(*n, path + "/node",
                  "memory bandwidth is already given for node " +
                      std::string(attr_of(n, "id")));
      }
      for (const xml_node* m : named(t, "monitor")) {
        auto mine = vcpus_of(*m, path + "/monitor");
        if (mine && std::any_of(mine->begin(), mine->end(),
                                [&](uint32_t id) { return id >= vcpu_count; })) {
          found(*m, path + "/monitor/@vcpus",
                "vcpus '" + std::string(attr_of(m, "vcpus")) +
                    "' names no vCPU the guest has (" + std::to_string(vcpu_count) + ")");
          continue;
        }
        if (mine && vcpus &&
            !std::includes(vcpus->begin(), vcpus->end(), mine->begin(), mine->end()))
          found(*m, path + "/monitor/@vcpus",
                "a monitor's vcpus must be among its allocation's vcpus");
      }
      if (vcpus)
        tunes.push_back({&t, t.name == "cachetune", std::move(*vcpus)});
    }
    // Two allocations of one kind never share a vCPU; a cache and a memory allocation
    // either name the same vCPUs (one group) or none in common.
    for (size_t i = 0; i < tunes.size(); ++i)
      for (size_t j = 0; j < i; ++j) {
        const tune &a = tunes[j], &b = tunes[i];
        bool same_kind = a.cache == b.cache;
        if (same_kind && a.vcpus == b.vcpus)
          found(*b.el, "/domain/cputune/" + b.el->name + "/@vcpus",
                "identical vcpus in two <" + b.el->name + "> elements");
        else if (overlap(a.vcpus, b.vcpus) && (same_kind || a.vcpus != b.vcpus))
          found(*b.el, "/domain/cputune/" + b.el->name + "/@vcpus",
                "vcpus overlap those of an earlier <" + a.el->name + ">");
      }
  }

  // Firmware autoselection (<os firmware=...>) chooses the loader: a loader's path,
  // type, read-only flag or insecure boot, and an NVRAM template, are refused beside
  // it; without it, a loader needs its path.
  void firmware(const xml_node& os) {
    const xml_node* loader = os.child("loader");
    const xml_node* nvram = os.child("nvram");
    if (!os.attr("firmware")) {
      if (loader && loader->trimmed_text().empty())
        found(*loader, "/domain/os/loader",
              "no loader path is given and firmware autoselection is not enabled "
              "(<os firmware=...>)");
      return;
    }
    const std::string why = " cannot be given when firmware autoselection is enabled";
    if (loader) {
      if (!loader->trimmed_text().empty())
        found(*loader, "/domain/os/loader", "a loader path" + why);
      for (const char* a : {"type", "readonly"})
        if (loader->attr(a))
          found(*loader, std::string("/domain/os/loader/@") + a,
                std::string("loader attribute '") + a + "'" + why);
      if (attr_of(loader, "secure") == "no")
        found(*loader, "/domain/os/loader/@secure", "loader attribute 'secure'" + why);
    }
    if (nvram && nvram->attr("template"))
      found(*nvram, "/domain/os/nvram/@template", "nvram attribute 'template'" + why);
  }

  void run(const xml_node& root) {
    if (const xml_node* v = root.child("vcpu"))
      vcpu_count = static_cast<uint32_t>(std::stoul(v->text_content()));
    if (const xml_node* cputune = root.child("cputune"))
      resctrl(*cputune);
    const xml_node* os = root.child("os");
    if (os)
      firmware(*os);
    std::string os_type =
        os && os->child("type") ? os->child("type")->text_content() : "";
    if (const xml_node* d = root.child("devices")) {
      chardevs(*d);
      devices(*d, os_type);
    }
  }
};

} // namespace

void validate_domain(const xml_node& root, std::string_view origin, bool input,
                     std::vector<std::string>& warnings) {
  validator{origin, input, warnings}.run(root);
}

} // namespace domus::model
