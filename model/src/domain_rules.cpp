#include "domain_rules.hpp"

#include "domus/model/cpuset.hpp"
#include "domus/model/domain_schema.hpp"
#include "domus/model/names.hpp"
#include "domus/model/schema.hpp"
#include "domus/model/uuid.hpp"

#include <domus/errors.hpp>

#include <algorithm>
#include <climits>
#include <cstdio>
#include <map>
#include <set>

namespace domus::model {

using domus::errc;
using domus::error;

namespace {

std::string line_of(const xml_node& n) {
  return std::to_string(n.line);
}

// The highest controller index a drive address may name.
constexpr unsigned long long max_drive_controller = 255;

std::vector<xml_node*> children_named(xml_node& parent, std::string_view name) {
  std::vector<xml_node*> out;
  for (auto& c : parent.children)
    if (!c.is_text && c.name == name)
      out.push_back(&c);
  return out;
}

struct rules {
  std::string_view origin;
  xml_node& root;
  bool input;

  [[noreturn]] void fail(const xml_node& at, std::string_view path,
                         const std::string& msg, errc code = errc::xml_error) {
    fail_at(origin, at, path, msg, code);
  }

  void name() {
    const xml_node& n = *root.child("name");
    try {
      check_name(n.text_content());
    } catch (const error& e) {
      fail(n, "/domain/name", e.what(), errc::invalid_name);
    }
  }

  void memory() {
    const xml_node* m = root.child("memory");
    if (!m)
      fail(root, "/domain", "memory size must be given with <memory>");
    if (m->text_content() == "0")
      fail(*m, "/domain/memory", "memory size must be greater than 0");
  }

  void vcpu() {
    const xml_node* v = root.child("vcpu");
    if (!v)
      return;
    uint64_t max = std::stoull(v->text_content());
    if (max == 0 || max > 16384)
      fail(*v, "/domain/vcpu",
           "vcpu count '" + v->text_content() +
               "' is not a whole number from 1 to 16384");
    if (auto* c = v->attr("current")) {
      uint64_t cur = std::stoull(*c);
      if (cur == 0)
        fail(*v, "/domain/vcpu/@current", "current vcpu count must be at least 1");
      if (cur > max)
        fail(*v, "/domain/vcpu",
             "current vcpu count " + *c + " is greater than the maximum " +
                 v->text_content());
    }
  }

  void os_type() {
    const xml_node& t = *root.child("os")->child("type");
    if (t.text_content().empty())
      fail(t, "/domain/os/type", "an os <type> must be given (e.g. <type>hvm</type>)");
  }

  // libvirt writes one <vcpusched> per vCPU ("2-3" becomes 2 and 3), sorted by vCPU, and
  // likewise <iothreadsched>; an id named twice is an error.
  void split_sched(std::string_view element, std::string_view ids_attr, uint64_t limit,
                   std::string_view what) {
    xml_node* tune = root.child("cputune");
    if (!tune)
      return;
    std::string path = "/domain/cputune/" + std::string(element);
    std::map<uint32_t, xml_node> by_id;
    std::map<uint32_t, int> line;
    std::vector<xml_node> kept;
    size_t first = SIZE_MAX; // where the first of them was
    for (auto& c : tune->children) {
      if (c.is_text || c.name != element) {
        kept.push_back(std::move(c));
        continue;
      }
      first = std::min(first, kept.size());
      auto ids = parse_cpuset(*c.attr(ids_attr)); // checked by conform()
      for (uint32_t id : *ids) {
        if (limit && id >= limit)
          fail(c, path,
               std::string(what) + " " + std::to_string(id) + " does not exist (" +
                   std::to_string(limit) + " configured)");
        if (by_id.count(id))
          fail(c, path,
               std::string(what) + " " + std::to_string(id) +
                   " is already scheduled on line " + std::to_string(line[id]));
        xml_node one = c;
        for (auto& a : one.attrs)
          if (a.name == ids_attr)
            a.value = std::to_string(id);
        by_id.emplace(id, std::move(one));
        line[id] = c.line;
      }
    }
    if (by_id.empty()) {
      tune->children = std::move(kept);
      return;
    }
    // conform() grouped them in the table's order: the split ones go where they were.
    auto pos = kept.begin() + static_cast<std::ptrdiff_t>(first);
    std::vector<xml_node> split;
    for (auto& [id, n] : by_id)
      split.push_back(std::move(n));
    kept.insert(pos, std::make_move_iterator(split.begin()),
                std::make_move_iterator(split.end()));
    tune->children = std::move(kept);
  }

  void cputune() {
    const xml_node* v = root.child("vcpu");
    uint64_t vcpus = v ? std::stoull(v->text_content()) : 1;
    split_sched("vcpusched", "vcpus", vcpus, "vCPU");
    // iothread ids start at 1: allow up to the configured count, inclusive.
    const xml_node* io = root.child("iothreads");
    uint64_t iothreads = io ? std::stoull(io->text_content()) + 1 : 0;
    split_sched("iothreadsched", "iothreads", iothreads, "iothread");
  }

  void controllers(xml_node& devices) {
    for (xml_node* c : children_named(devices, "controller")) {
      const std::string* model = c->attr("model");
      const std::string* index = c->attr("index");
      if (model && (*model == "pci-root" || *model == "pcie-root") && index &&
          *index != "0")
        fail(*c, "/domain/devices/controller",
             "a " + *model + " controller must have index 0, not " + *index);
    }
  }

  void videos(xml_node& devices) {
    auto all = children_named(devices, "video");
    for (xml_node* v : all) {
      const xml_node* model = v->child("model");
      if (model && *model->attr("type") == "none" && all.size() > 1)
        fail(*v, "/domain/devices/video",
             "a video device of type 'none' must be the only video device (" +
                 std::to_string(all.size()) + " given)");
    }
    // The primary video comes first, wherever it was written.
    auto& k = devices.children;
    auto is_video = [](const xml_node& n) { return !n.is_text && n.name == "video"; };
    auto primary = std::find_if(k.begin(), k.end(), [&](const xml_node& n) {
      const xml_node* m = is_video(n) ? n.child("model") : nullptr;
      const std::string* p = m ? m->attr("primary") : nullptr;
      return p && *p == "yes";
    });
    auto first = std::find_if(k.begin(), k.end(), is_video);
    if (primary != k.end() && primary != first)
      std::rotate(first, primary, primary + 1);
  }

  void disks(xml_node& devices) {
    std::map<std::string, const xml_node*> targets;
    for (xml_node* d : children_named(devices, "disk")) {
      xml_node& target = *d->child("target");
      const std::string dev = *target.attr("dev");
      std::string path = "/domain/devices/disk/target";
      if (!d->child("address") && disk_name_index(dev) < 0)
        fail(target, path + "/@dev",
             "unknown disk name '" + dev +
                 "' (expected hd, sd, vd, xvd, fd or ubd followed by letters, or an "
                 "<address>)");
      auto [it, fresh] = targets.emplace(dev, &target);
      if (!fresh)
        fail(target, path + "/@dev",
             "target '" + dev + "' is already used by the disk on line " +
                 line_of(*it->second));
      if (!target.attr("bus")) {
        std::string bus;
        const std::string* device = d->attr("device");
        if (device && *device == "floppy")
          bus = "fdc";
        else if (dev.rfind("hd", 0) == 0)
          bus = "ide";
        else if (dev.rfind("sd", 0) == 0)
          bus = "scsi";
        else if (dev.rfind("vd", 0) == 0)
          bus = "virtio";
        else if (dev.rfind("xvd", 0) == 0)
          bus = "xen";
        else if (dev.rfind("ubd", 0) == 0)
          bus = "uml";
        else if (dev.rfind("fd", 0) == 0)
          bus = "fdc";
        else
          fail(target, path,
               "cannot tell the bus of disk '" + dev + "' from its name: give bus=");
        place_attr(target, rule_of({"devices", "disk", "target"}), "bus", bus);
      }
      // The drive address a name implies (implied_devices.cpp) stays within the bound
      // on the controllers it implies.
      auto at = drive_address_of(*target.attr("bus"), disk_name_index(dev));
      if (!d->child("address") && at &&
          static_cast<unsigned long long>(at->controller) > max_drive_controller)
        fail(target, path + "/@dev",
             "disk '" + dev + "' would sit on drive controller " +
                 std::to_string(at->controller) + " (at most " +
                 std::to_string(max_drive_controller) + ")");
    }
  }

  // The child `what` of a device the schema models, or null. An element the schema
  // does not know is kept as written and never validated: a <boot> or <address> inside
  // it is not the model's, and the rules below must not read it (a fuzzer found a
  // <boot> without order there dereferenced, and an unchecked address number thrown).
  xml_node* modelled_child(xml_node& dev, std::string_view what) {
    if (dev.is_text)
      return nullptr;
    const child_rule* known = rule_of({"devices"}).find_child(dev.name);
    if (!known || !known->rule->find_child(what))
      return nullptr;
    return dev.child(what);
  }

  // Per-device <boot order> and <os><boot dev> exclude each other; orders are unique.
  void boot_order(xml_node& devices) {
    const xml_node* os_boot = root.child("os")->child("boot");
    std::map<std::string, const xml_node*> orders;
    for (auto& dev : devices.children) {
      const xml_node* boot = modelled_child(dev, "boot");
      if (!boot)
        continue;
      std::string path = "/domain/devices/" + dev.name + "/boot";
      if (os_boot)
        fail(
            *boot, path,
            "per-device <boot order> cannot be used together with <os><boot dev> (line " +
                line_of(*os_boot) + ")");
      const std::string order = *boot->attr("order");
      if (order == "0")
        fail(*boot, path, "boot order must be 1 or more");
      auto [it, fresh] = orders.emplace(order, boot);
      if (!fresh)
        fail(*boot, path,
             "boot order " + order + " is already used on line " + line_of(*it->second));
    }
  }

  // libvirt's rule for an inactive definition: an interface's target name that a
  // hypervisor makes up (vnetN, macvtapN, macvlanN) is not the user's, and goes; the
  // driver names the device again when it starts.
  void generated_ifnames(xml_node& devices) {
    for (auto& dev : devices.children) {
      if (dev.is_text || std::string_view(dev.name) != "interface")
        continue;
      for (auto t = dev.children.begin(); t != dev.children.end(); ++t) {
        if (t->is_text || t->name != "target")
          continue;
        const std::string* name = t->attr("dev");
        if (!name || (name->rfind("vnet", 0) != 0 && name->rfind("macvtap", 0) != 0 &&
                      name->rfind("macvlan", 0) != 0))
          break;
        auto& a = t->attrs;
        a.erase(std::remove_if(a.begin(), a.end(),
                               [](const xml_attr& x) { return x.name == "dev"; }),
                a.end());
        if (a.empty() && !t->has_elements())
          dev.children.erase(t);
        break;
      }
    }
  }

  void macs(xml_node& devices) {
    for (xml_node* n : children_named(devices, "interface")) {
      const xml_node* mac = n->child("mac");
      if (!mac)
        continue;
      const std::string& a = *mac->attr("address");
      int first = std::stoi(a.substr(0, 2), nullptr, 16);
      if (first & 1)
        fail(*mac, "/domain/devices/interface/mac/@address",
             "expected a unicast MAC address, not the multicast '" + a + "'");
    }
  }

  // A listen address given as an attribute is also written as a <listen> element, and
  // the first <listen type='address'> also as the attribute, as libvirt does.
  void graphics(xml_node& devices) {
    const elem_rule& rule = rule_of({"devices", "graphics"});
    for (xml_node* g : children_named(devices, "graphics")) {
      // libvirt gives a VNC display without a port or socket an automatic port, written
      // as -1 (SPICE's it leaves unwritten), and writes a socket as a listen of its own.
      const std::string* gtype = g->attr("type");
      const std::string* autoport = g->attr("autoport");
      // A VNC display whose first listen is a socket listens there: its path is the
      // display's socket attribute (none when the path is chosen at start), no port.
      const xml_node* first_listen = g->child("listen");
      const std::string* listen_type =
          first_listen ? first_listen->attr("type") : nullptr;
      bool socket_listen =
          gtype && *gtype == "vnc" && listen_type && *listen_type == "socket";
      if (socket_listen && !g->attr("socket"))
        if (const std::string* path = first_listen->attr("socket")) {
          std::string p = *path;
          place_attr(*g, rule, "socket", p);
        }
      if (gtype && *gtype == "vnc" && !g->attr("port") && !g->attr("socket") &&
          !socket_listen && (!autoport || *autoport == "yes")) {
        place_attr(*g, rule, "port", "-1");
        if (!autoport)
          place_attr(*g, rule, "autoport", "yes");
      }
      if (const std::string* socket = g->attr("socket"))
        if (gtype && *gtype == "vnc" && !g->child("listen")) {
          std::string path = *socket;
          xml_node& l = place_child(*g, rule, "listen");
          l.set_attr("type", "socket");
          l.set_attr("socket", path);
        }
      const std::string* attr = g->attr("listen");
      xml_node* first = g->child("listen");
      if (attr && !first) {
        std::string address = *attr;
        xml_node& l = place_child(*g, rule, "listen");
        l.set_attr("type", "address");
        l.set_attr("address", address);
      } else if (first && *first->attr("type") == "address" && first->attr("address")) {
        if (attr && *attr != *first->attr("address"))
          fail(*g, "/domain/devices/graphics/@listen",
               "listen '" + *attr + "' differs from the first <listen> address '" +
                   *first->attr("address") + "'");
        if (!attr)
          place_attr(*g, rule, "listen", *first->attr("address"));
      }
    }
  }

  // Device addresses as libvirt writes them: PCI in hex of fixed width, the others in
  // decimal.
  void addresses(xml_node& devices) {
    for (auto& dev : devices.children) {
      xml_node* a = modelled_child(dev, "address");
      if (!a)
        continue;
      const std::string* type = a->attr("type");
      bool pci = type && *type == "pci";
      // libvirt writes every number of these addresses, 0 where none was given (a PCI
      // address only once it names a slot: without, a driver assigns one).
      static const std::map<std::string_view, std::vector<std::string_view>> numbers = {
          {"drive", {"controller", "bus", "target", "unit"}},
          {"virtio-serial", {"controller", "bus", "port"}},
          {"ccid", {"controller", "slot"}},
          {"pci", {"domain", "bus", "slot", "function"}}};
      if (auto it = type ? numbers.find(*type) : numbers.end();
          it != numbers.end() && (!pci || a->attr("slot")))
        for (std::string_view n : it->second)
          if (!a->attr(n))
            place_attr(*a, rule_of({"devices", dev.name, "address"}), n, "0");
      // Every controller up to a drive address's is implied (implied_devices.cpp): a
      // bound keeps a client from asking for billions.
      const std::string* ctl = a->attr("controller");
      if (type && *type == "drive" && ctl && !ctl->empty() && (*ctl)[0] >= '0' &&
          (*ctl)[0] <= '9' && std::stoull(*ctl, nullptr, 0) > max_drive_controller)
        fail(*a, "/domain/devices/" + dev.name + "/address/@controller",
             "drive controller " + *ctl + " is out of range (at most " +
                 std::to_string(max_drive_controller) + ")");
      for (auto& attr : a->attrs) {
        static const std::map<std::string_view, int> pci_width = {
            {"domain", 4}, {"bus", 2}, {"slot", 2}, {"function", 1}};
        static const char* const decimal[] = {"controller", "bus", "target", "unit",
                                              "slot"};
        unsigned long long v;
        if (attr.value.empty() || (attr.value[0] < '0' || attr.value[0] > '9'))
          continue;
        if (pci && pci_width.count(attr.name)) {
          v = std::stoull(attr.value, nullptr, 0);
          char buf[32];
          std::snprintf(buf, sizeof buf, "0x%0*llx", pci_width.at(attr.name), v);
          attr.value = buf;
        } else if (!pci && std::find(std::begin(decimal), std::end(decimal), attr.name) !=
                               std::end(decimal)) {
          attr.value = std::to_string(std::stoull(attr.value, nullptr, 0));
        }
      }
    }
  }

  // A unix character device without a path has its path chosen when it starts: libvirt
  // writes no <source> for it.
  // What only a running domain's definition holds is not read from input, as libvirt's
  // parser does not read it without its status flag: a disk's block job (<mirror>) and
  // the index of each backing layer.
  void live_only(xml_node& devices) {
    for (xml_node* d : children_named(devices, "disk")) {
      auto& k = d->children;
      k.erase(std::remove_if(
                  k.begin(), k.end(),
                  [](const xml_node& n) { return !n.is_text && n.name == "mirror"; }),
              k.end());
      for (xml_node* b = d->child("backingStore"); b; b = b->child("backingStore"))
        b->remove_attr("index");
    }
  }

  // A console of a type other than a serial port's is numbered by its place among the
  // consoles as written, whatever port it names: libvirt's parser does so (and, as it,
  // only for input: the serial port's console it adds in front shifts the places).
  void console_ports(xml_node& devices) {
    long place = 0;
    for (auto& d : devices.children) {
      if (d.is_text || std::string_view(d.name) != "console")
        continue;
      xml_node* t = d.child("target");
      const std::string* type = t ? t->attr("type") : nullptr;
      if (type && *type != "serial")
        place_attr(*t, rule_of({"devices", "console", "target"}), "port",
                   std::to_string(place));
      ++place;
    }
  }

  void chardev_sources(xml_node& devices) {
    for (auto& dev : devices.children) {
      if (dev.is_text || (std::string_view(dev.name) != "channel" &&
                          std::string_view(dev.name) != "serial" &&
                          std::string_view(dev.name) != "console" &&
                          std::string_view(dev.name) != "parallel"))
        continue;
      const std::string* type = dev.attr("type");
      if (!type || *type != "unix")
        continue;
      auto& c = dev.children;
      c.erase(std::remove_if(c.begin(), c.end(),
                             [](const xml_node& n) {
                               return !n.is_text && n.name == "source" &&
                                      !n.attr("path") && !n.has_elements();
                             }),
              c.end());
    }
  }

  // SMBIOS wants a BIOS date as mm/dd/yy or mm/dd/yyyy.
  void sysinfo() {
    xml_node* si = root.child("sysinfo");
    xml_node* bios = si ? si->child("bios") : nullptr;
    if (!bios)
      return;
    for (xml_node* e : children_named(*bios, "entry")) {
      if (*e->attr("name") != "date")
        continue;
      std::string d = e->text_content();
      auto digits = [&](size_t from, size_t n) {
        return std::all_of(d.begin() + from, d.begin() + from + n,
                           [](char c) { return c >= '0' && c <= '9'; });
      };
      bool ok = (d.size() == 8 || d.size() == 10) && digits(0, 2) && d[2] == '/' &&
                digits(3, 2) && d[5] == '/' && digits(6, d.size() - 6);
      if (ok) {
        int month = std::stoi(d.substr(0, 2)), day = std::stoi(d.substr(3, 2));
        ok = month >= 1 && month <= 12 && day >= 1 && day <= 31;
      }
      if (!ok)
        fail(*e, "/domain/sysinfo/bios/entry",
             "invalid BIOS date '" + d + "' (expected mm/dd/yy or mm/dd/yyyy)");
    }
  }

  const elem_rule& schema = domain_schema();
  const elem_rule& rule_of(std::initializer_list<std::string_view> path) {
    const elem_rule* r = &schema;
    for (auto n : path)
      r = r->find_child(n)->rule;
    return *r;
  }

  // libvirt inserts each disk after the last one on the same bus (as written, before
  // any bus is inferred) and before the first of them with a greater index. Inserted
  // that way, the disks of a bus stay together and in index order (equal indexes as
  // written), and the buses keep the order of their first disk: so that order is made
  // here by grouping and a stable sort, not by inserting one disk at a time (which is
  // quadratic: 12,000 disks took 15 s).
  void disk_order(xml_node& devices) {
    struct keyed {
      size_t group;
      long index;
      xml_node node;
    };
    std::vector<keyed> disks;
    std::vector<xml_node> others;
    std::map<std::string, size_t> groups; // bus -> order of its first disk
    size_t first = SIZE_MAX;
    for (auto& c : devices.children) {
      if (c.is_text || std::string_view(c.name) != "disk") {
        others.push_back(std::move(c));
        continue;
      }
      first = std::min(first, others.size());
      const xml_node* target = c.child("target");
      const std::string* bus = target ? target->attr("bus") : nullptr;
      const std::string* dev = target ? target->attr("dev") : nullptr;
      size_t group =
          groups.emplace(bus ? *bus : std::string(), groups.size()).first->second;
      long index = dev ? disk_name_index(*dev) : -1;
      disks.push_back({group, index, std::move(c)});
    }
    std::stable_sort(disks.begin(), disks.end(), [](const keyed& a, const keyed& b) {
      return a.group != b.group ? a.group < b.group : a.index < b.index;
    });
    if (first != SIZE_MAX) {
      std::vector<xml_node> sorted;
      sorted.reserve(disks.size());
      for (auto& d : disks)
        sorted.push_back(std::move(d.node));
      others.insert(others.begin() + static_cast<std::ptrdiff_t>(first),
                    std::make_move_iterator(sorted.begin()),
                    std::make_move_iterator(sorted.end()));
    }
    devices.children = std::move(others);
  }

  // The defaults libvirt fills in for every driver.
  void defaults() {
    xml_node& os = *root.child("os");
    const elem_rule& os_rule = rule_of({"os"});
    if (xml_node* loader = os.child("loader"))
      if (!loader->text_content().empty() && !loader->attr("type"))
        place_attr(*loader, rule_of({"os", "loader"}), "type", "rom");
    xml_node* devices = root.child("devices");
    bool device_boot = false;
    if (devices)
      for (auto& d : devices->children)
        device_boot = device_boot || modelled_child(d, "boot");
    if (os.child("type")->text_content() == "hvm" && !os.child("boot") && !device_boot)
      place_child(os, os_rule, "boot").set_attr("dev", "hd");
    unlimited_memtune();
    if (xml_node* cpu = root.child("cpu")) {
      // An empty model under a host CPU mode says nothing: libvirt does not write it.
      if (const std::string* mode = cpu->attr("mode"))
        if (*mode == "host-model" || *mode == "host-passthrough") {
          auto& k = cpu->children;
          k.erase(std::remove_if(k.begin(), k.end(),
                                 [](const xml_node& n) {
                                   const std::string* fallback = n.attr("fallback");
                                   bool says_nothing = n.attrs.empty() ||
                                                       (n.attrs.size() == 1 && fallback &&
                                                        *fallback == "allow");
                                   return !n.is_text && n.name == "model" &&
                                          says_nothing && n.trimmed_text().empty();
                                 }),
                  k.end());
        }
      // libvirt 9.0 writes the dies it counts, 1 unless given.
      if (xml_node* topology = cpu->child("topology"))
        if (!topology->attr("dies"))
          place_attr(*topology, rule_of({"cpu", "topology"}), "dies", "1");
      xml_node* model = cpu->child("model");
      const std::string* mode = cpu->attr("mode");
      if (model && (!mode || *mode == "custom")) {
        if (!cpu->attr("match"))
          place_attr(*cpu, rule_of({"cpu"}), "match", "exact");
        if (!model->attr("fallback"))
          place_attr(*model, rule_of({"cpu", "model"}), "fallback", "allow");
      }
    }
    features_defaults();
    cpu_defaults();
    resctrl_vcpus();
    if (xml_node* d = root.child("description"); d && d->text_content().empty())
      root.children.erase(root.children.begin() + (d - root.children.data()));
    if (!root.child("clock"))
      place_child(root, schema, "clock").set_attr("offset", "utc");
    for (auto [element, action] : {std::pair{"on_poweroff", "destroy"},
                                   {"on_reboot", "restart"},
                                   {"on_crash", "destroy"}}) {
      if (!root.child(element))
        place_child(root, schema, element).set_text(action);
    }
    // libvirt writes <devices> always, empty as an opening and a closing tag.
    if (xml_node* d = root.child("devices"); !d)
      place_child(root, schema, "devices").set_text("\n  ");
    else if (d->children.empty())
      d->set_text("\n  ");
    // The insertions above may have moved <domain>'s children: look again.
    bool hvm = root.child("os")->child("type")->text_content() == "hvm";
    if ((devices = root.child("devices"))) {
      controller_indexes(*devices);
      device_defaults(*devices, hvm);
    }
  }

  // Features libvirt writes with their state: on unless given; Hyper-V's mode custom.
  void features_defaults() {
    xml_node* f = root.child("features");
    if (!f)
      return;
    const elem_rule& rule = rule_of({"features"});
    for (auto& c : f->children) {
      if (c.is_text)
        continue;
      if (std::string_view(c.name) == "hyperv" && !c.attr("mode"))
        c.attrs.insert(c.attrs.begin(), xml_attr{"mode", "custom"});
      static const std::set<std::string_view> stated = {
          "hap", "pvspinlock", "pmu", "vmport", "smm", "vmcoreinfo"};
      if (stated.count(c.name) && !c.attr("state"))
        place_attr(c, *rule.find_child(c.name)->rule, "state", "on");
    }
  }

  // A guest CPU as libvirt writes it: mode custom where a model names it; a NUMA cell's
  // id, its place, unless given.
  void cpu_defaults() {
    xml_node* cpu = root.child("cpu");
    if (!cpu)
      return;
    const elem_rule& rule = rule_of({"cpu"});
    const xml_node* model = cpu->child("model");
    if (!cpu->attr("mode") && model && !model->trimmed_text().empty())
      place_attr(*cpu, rule, "mode", "custom");
    if (xml_node* numa = cpu->child("numa")) {
      long place = 0;
      for (xml_node* cell : children_named(*numa, "cell")) {
        const elem_rule& cell_rule = rule_of({"cpu", "numa", "cell"});
        if (!cell->attr("id"))
          place_attr(*cell, cell_rule, "id", std::to_string(place));
        if (!cell->attr("unit"))
          place_attr(*cell, cell_rule, "unit", "KiB");
        ++place;
      }
    }
  }

  // Cache and memory bandwidth allocations name only vCPUs the guest has: the others
  // are dropped from their lists, and an allocation left with none is dropped, as
  // libvirt does.
  void resctrl_vcpus() {
    xml_node* cputune = root.child("cputune");
    const xml_node* vcpu = root.child("vcpu");
    if (!cputune || !vcpu)
      return;
    uint32_t count = static_cast<uint32_t>(std::stoul(vcpu->text_content()));
    auto& k = cputune->children;
    for (size_t i = 0; i < k.size();) {
      xml_node& t = k[i];
      const std::string* v = t.is_text ? nullptr : t.attr("vcpus");
      if (!v || (t.name != "cachetune" && t.name != "memorytune")) {
        ++i;
        continue;
      }
      auto ids = parse_cpuset(*v);
      if (!ids) { // malformed: validation names it
        ++i;
        continue;
      }
      ids->erase(std::remove_if(ids->begin(), ids->end(),
                                [&](uint32_t id) { return id >= count; }),
                 ids->end());
      if (ids->empty()) {
        k.erase(k.begin() + static_cast<std::ptrdiff_t>(i));
        continue;
      }
      t.set_attr("vcpus", format_cpuset(*ids));
      // Its monitors likewise; one left with none is refused by validation.
      for (xml_node* m : children_named(t, "monitor")) {
        const std::string* mv = m->attr("vcpus");
        auto mine = mv ? parse_cpuset(*mv) : std::nullopt;
        if (!mine)
          continue;
        mine->erase(std::remove_if(mine->begin(), mine->end(),
                                   [&](uint32_t id) { return id >= count; }),
                    mine->end());
        if (!mine->empty())
          m->set_attr("vcpus", format_cpuset(*mine));
      }
      ++i;
    }
  }

  // A memtune limit of 9007199254740991 KiB or more is libvirt's "unlimited", which it
  // does not write; nor an empty <memtune>.
  void unlimited_memtune() {
    xml_node* memtune = root.child("memtune");
    if (!memtune)
      return;
    auto& k = memtune->children;
    k.erase(std::remove_if(k.begin(), k.end(),
                           [](const xml_node& n) {
                             if (n.is_text || n.name == "min_guarantee")
                               return false;
                             std::string t = n.trimmed_text();
                             return t.size() >= 16 &&
                                    t.find_first_not_of("0123456789") ==
                                        std::string::npos &&
                                    (t.size() > 16 || t >= "9007199254740991");
                           }),
            k.end());
    if (!memtune->has_elements()) {
      auto& top = root.children;
      top.erase(std::remove_if(top.begin(), top.end(),
                               [](const xml_node& n) {
                                 return !n.is_text && n.name == "memtune" &&
                                        !n.has_elements() && n.attrs.empty();
                               }),
                top.end());
    }
  }

  // Defaults libvirt writes out for every driver: a disk's type (file), a drive
  // address's target (0), a filesystem's access mode, a TCP character device's mode
  // (connect) and protocol (raw), a UDP one's two ends in libvirt's order (bind first).
  void written_defaults(xml_node& devices) {
    for (auto& dev : devices.children) {
      if (dev.is_text)
        continue;
      if (xml_node* address = dev.child("address")) {
        const std::string* type = address->attr("type");
        if (type && *type == "drive" && !address->attr("target"))
          if (auto* d = rule_of({"devices"}).find_child(dev.name))
            if (auto* a = d->rule->find_child("address"))
              place_attr(*address, *a->rule, "target", "0");
      }
      if (std::string_view(dev.name) == "disk" && !dev.attr("type"))
        place_attr(dev, rule_of({"devices", "disk"}), "type", "file");
      if (std::string_view(dev.name) == "filesystem" && !dev.attr("type"))
        dev.attrs.insert(dev.attrs.begin(), xml_attr{"type", "mount"});
      if (std::string_view(dev.name) == "shmem" && !dev.child("model")) {
        xml_node model = xml_node::element("model");
        model.set_attr("type", "ivshmem");
        dev.children.insert(dev.children.begin(), std::move(model));
      }
      if (std::string_view(dev.name) == "disk")
        if (xml_node* source = dev.child("source")) {
          // An iSCSI target without a LUN is LUN 0.
          const std::string* protocol = source->attr("protocol");
          const std::string* name = source->attr("name");
          if (protocol && *protocol == "iscsi" && name &&
              name->find('/') == std::string::npos)
            source->set_attr("name", *name + "/0");
          // A host reached over TCP without a port: the protocol's own.
          static const std::map<std::string, std::string> ports = {
              {"nbd", "10809"},     {"iscsi", "3260"}, {"gluster", "24007"},
              {"http", "80"},       {"https", "443"},  {"ftp", "21"},
              {"ftps", "990"},      {"tftp", "69"},    {"ssh", "22"},
              {"sheepdog", "7000"}, {"vxhs", "9999"}};
          auto port = protocol ? ports.find(*protocol) : ports.end();
          if (port != ports.end())
            for (xml_node* host : children_named(*source, "host")) {
              const std::string* transport = host->attr("transport");
              if (!host->attr("port") && host->attr("name") &&
                  (!transport || *transport == "tcp"))
                place_attr(*host, rule_of({"devices", "disk", "source", "host"}), "port",
                           port->second);
            }
        }
      if (std::string_view(dev.name) == "filesystem" && !dev.attr("accessmode")) {
        // (kept as written, not modelled: after its type, where libvirt writes it)
        auto at = std::find_if(dev.attrs.begin(), dev.attrs.end(),
                               [](const xml_attr& a) { return a.name == "type"; });
        dev.attrs.insert(at == dev.attrs.end() ? dev.attrs.begin() : at + 1,
                         xml_attr{"accessmode", "passthrough"});
        continue;
      }
      // An 802.1Qbg port profile's instance is generated when not given, as libvirt does.
      if (std::string_view(dev.name) == "interface")
        if (xml_node* vp = dev.child("virtualport")) {
          const std::string* type = vp->attr("type");
          xml_node* params = vp->child("parameters");
          if (type && *type == "802.1Qbg" && params && !params->attr("instanceid"))
            params->set_attr("instanceid", format_uuid(generate_uuid()));
        }
      if (std::string_view(dev.name) == "interface")
        for (xml_node* ip : children_named(dev, "ip"))
          if (const std::string* address = ip->attr("address");
              address && !ip->attr("family"))
            place_attr(*ip, rule_of({"devices", "interface", "ip"}), "family",
                       address->find(':') == std::string::npos ? "ipv4" : "ipv6");
      bool chardev = std::string_view(dev.name) == "serial" ||
                     std::string_view(dev.name) == "console" ||
                     std::string_view(dev.name) == "channel" ||
                     std::string_view(dev.name) == "parallel" ||
                     std::string_view(dev.name) == "smartcard" ||
                     std::string_view(dev.name) == "redirdev";
      if (chardev)
        chardev_source_defaults(dev);
      if (std::string_view(dev.name) == "rng")
        if (xml_node* backend = dev.child("backend"))
          chardev_source_defaults(*backend);
    }
  }

  // A character device's sources as libvirt writes them, wherever one is held (ports,
  // consoles, channels, smartcards, redirected USB, an RNG's backend): a unix, TCP or UDP
  // source's mode first, 'connect' unless given; a UDP device's two ends bind first; a
  // TCP one's protocol raw unless given. Some holders keep their sources unmodelled, so
  // the attributes are placed here by hand.
  void chardev_source_defaults(xml_node& dev) {
    const std::string* type = dev.attr("type");
    if (!type || (*type != "unix" && *type != "tcp" && *type != "udp"))
      return;
    auto& k = dev.children;
    if (*type == "udp") {
      // bind before connect: a stable partition of the two <source> elements.
      auto mode_of = [](const xml_node& n) {
        const std::string* m = n.attr("mode");
        return m ? *m : std::string("connect");
      };
      std::vector<size_t> at;
      for (size_t i = 0; i < k.size(); ++i)
        if (!k[i].is_text && k[i].name == "source")
          at.push_back(i);
      if (at.size() == 2 && mode_of(k[at[0]]) == "connect" && mode_of(k[at[1]]) == "bind")
        std::swap(k[at[0]], k[at[1]]);
    }
    size_t after_sources = 0;
    for (size_t i = 0; i < k.size(); ++i) {
      xml_node& source = k[i];
      if (source.is_text || source.name != "source")
        continue;
      after_sources = i + 1;
      auto mode = std::find_if(source.attrs.begin(), source.attrs.end(),
                               [](const xml_attr& a) { return a.name == "mode"; });
      if (mode == source.attrs.end())
        source.attrs.insert(source.attrs.begin(), xml_attr{"mode", "connect"});
      else
        std::rotate(source.attrs.begin(), mode, mode + 1);
    }
    if (*type == "tcp" && !dev.child("protocol") && after_sources) {
      xml_node protocol = xml_node::element("protocol");
      protocol.set_attr("type", "raw");
      k.insert(k.begin() + static_cast<std::ptrdiff_t>(after_sources),
               std::move(protocol));
    }
  }

  void device_defaults(xml_node& devices, bool hvm) {
    written_defaults(devices);
    const elem_rule& devices_rule = rule_of({"devices"});
    bool has_serial = devices.child("serial") != nullptr;
    bool first_console = true;
    std::vector<xml_node> serials;
    for (auto& d : devices.children) {
      if (d.is_text)
        continue;
      if (std::string_view(d.name) == "disk" && !d.attr("device"))
        place_attr(d, *devices_rule.find_child("disk")->rule, "device", "disk");
      if (std::string_view(d.name) == "graphics")
        graphics_defaults(d, *devices_rule.find_child("graphics")->rule);
      if (std::string_view(d.name) == "console") {
        const elem_rule& console = *devices_rule.find_child("console")->rule;
        if (!d.attr("type"))
          place_attr(d, console, "type", "pty");
        // The pty a running console got is live state, not configuration.
        d.remove_attr("tty");
        if (!d.child("target")) {
          xml_node& t = place_child(d, console, "target");
          t.set_attr("type", "serial");
          t.set_attr("port", "0");
        } else if (hvm && !d.child("target")->attr("type") && first_console) {
          // The first console of a full virtual machine is its first serial port's.
          place_attr(*d.child("target"), *console.find_child("target")->rule, "type",
                     "serial");
        }
        first_console = false;
        // A serial console with no serial device is the first serial port, as libvirt
        // writes it.
        const xml_node* t = d.child("target");
        const std::string* tt = t ? t->attr("type") : nullptr;
        if (hvm && !has_serial && serials.empty() && tt && *tt == "serial") {
          xml_node s = d;
          s.name = "serial";
          xml_node* st = s.child("target");
          st->attrs = {{"port", "0"}};
          serials.push_back(std::move(s));
        }
      }
    }
    for (auto& s : serials) {
      auto pos = std::find_if(
          devices.children.begin(), devices.children.end(), [&](const xml_node& c) {
            const child_rule* cr = devices_rule.find_child(c.name);
            return !c.is_text && (!cr || cr > devices_rule.find_child("serial"));
          });
      devices.children.insert(pos, std::move(s));
    }
  }

  // VNC and SPICE: autoport follows the port (-1 asks for one), and a display with no
  // listen address gets an empty <listen type='address'/>.
  // RDP as libvirt writes it: a port of 0 or none is automatic (port='0' autoport='yes',
  // whatever autoport said), a port given is kept without autoport; an address listen.
  void rdp_defaults(xml_node& g, const elem_rule& rule) {
    const std::string* port = g.attr("port");
    const std::string* autoport = g.attr("autoport");
    if (!port || *port == "0" || (autoport && *autoport == "yes")) {
      place_attr(g, rule, "port", "0");
      place_attr(g, rule, "autoport", "yes");
    } else {
      g.remove_attr("autoport");
    }
    if (!g.child("listen"))
      place_child(g, rule, "listen").set_attr("type", "address");
  }

  void graphics_defaults(xml_node& g, const elem_rule& rule) {
    const std::string type = *g.attr("type");
    if (type == "rdp")
      rdp_defaults(g, rule);
    if (type != "vnc" && type != "spice")
      return;
    const std::string* port = g.attr("port");
    if (!g.attr("autoport") && port)
      place_attr(g, rule, "autoport", *port == "-1" ? "yes" : "no");
    // An automatic VNC port is chosen at start: a port given beside it in a definition
    // is not kept (a running domain's definition, not input, says the port it got).
    const std::string* autoport = g.attr("autoport");
    if (input && type == "vnc" && autoport && *autoport == "yes" && port && *port != "-1")
      place_attr(g, rule, "port", "-1");
    // A VNC socket is where it listens: a listen address given beside it is not kept.
    if (const std::string* socket = g.attr("socket"); socket && type == "vnc") {
      std::string path = *socket;
      g.remove_attr("listen");
      xml_node* first = g.child("listen");
      const std::string* listen_type = first ? first->attr("type") : nullptr;
      if (listen_type && *listen_type == "address")
        first->attrs = {{"type", "socket"}, {"socket", path}};
    }
    if (!g.child("listen") && !g.attr("socket")) {
      xml_node& l = place_child(g, rule, "listen");
      l.set_attr("type", "address");
    }
  }

  void run() {
    name();
    memory();
    vcpu();
    os_type();
    cputune();
    sysinfo();
    if (xml_node* devices = root.child("devices")) {
      controllers(*devices);
      videos(*devices);
      if (input) {
        disk_order(*devices);
        order_controllers(*devices);
        generated_ifnames(*devices);
        console_ports(*devices);
        live_only(*devices);
      }
      disks(*devices);
      boot_order(*devices);
      macs(*devices);
      graphics(*devices);
      addresses(*devices);
      chardev_sources(*devices);
    }
    defaults();
  }
};

} // namespace

long disk_name_index(std::string_view name) {
  std::string_view rest;
  for (std::string_view prefix : {"xvd", "ubd", "hd", "sd", "vd", "fd"})
    if (name.substr(0, prefix.size()) == prefix) {
      rest = name.substr(prefix.size());
      break;
    }
  if (rest.empty())
    return -1;
  long index = -1;
  size_t i = 0;
  for (; i < rest.size() && rest[i] >= 'a' && rest[i] <= 'z'; ++i) {
    if (index > (INT_MAX / 26) - 26)
      return -1; // overflows, as 'hdaxxxxxxxxxx' does
    index = (index + 1) * 26 + (rest[i] - 'a');
  }
  if (i == 0)
    return -1;
  for (; i < rest.size(); ++i)
    if (rest[i] < '0' || rest[i] > '9')
      return -1;
  return index;
}

void check_domain(xml_node& root, std::string_view origin, bool input,
                  std::vector<std::string>& warnings) {
  rules{origin, root, input}.run();
  validate_domain(root, origin, input, warnings);
}

} // namespace domus::model
