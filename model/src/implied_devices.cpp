// libvirt's generic device defaults, what every driver gets (libvirt's test driver shows
// them): controller indexes, drive addresses, the controllers that disks, virtio
// consoles and channels and smartcards imply, serial ports, the console of the first
// serial port, and the video model's sizes. Driver-specific ones (PCI addresses, model
// names) are the driver's.
#include "domain_rules.hpp"

#include "domus/model/device_def.hpp"
#include "domus/model/domain_def.hpp"
#include "domus/model/domain_schema.hpp"
#include "domus/model/schema.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <map>
#include <set>

namespace domus::model {

namespace {

const elem_rule& devices_rule() {
  return *domain_schema().find_child("devices")->rule;
}

const elem_rule& device_rule(std::string_view name) {
  return *devices_rule().find_child(name)->rule;
}

bool is(const xml_node& n, std::string_view name) {
  return !n.is_text && n.name == name;
}

std::string attr_or(const xml_node* n, std::string_view name, std::string fallback = {}) {
  const std::string* v = n ? n->attr(name) : nullptr;
  return v ? *v : fallback;
}

// The controllers a definition implies, each (type, index) once, appended after the
// last controller as libvirt appends them (its parser alone orders controllers by
// index, order_controllers): gathered first and inserted at once, so that
// a thousand of them cost one pass, not one each (a fuzzer's input took 13 s).
struct implied_set {
  std::set<std::pair<std::string, long>> present;
  std::vector<xml_node> pending;

  explicit implied_set(const xml_node& devices) {
    for (auto& c : devices.children)
      if (is(c, "controller"))
        present.insert({attr_or(&c, "type"), attr_number(&c, "index")});
  }
  void want(std::string_view type, long index) {
    if (!present.insert({std::string(type), index}).second)
      return;
    xml_node c = xml_node::element("controller");
    c.set_attr("type", std::string(type));
    c.set_attr("index", std::to_string(index));
    pending.push_back(std::move(c));
  }
  // Controllers 0 to `max` of a type (the disks' buses imply them all).
  void want_up_to(std::string_view type, long max) {
    for (long i = 0; i <= max; ++i)
      want(type, i);
  }
  void insert_into(xml_node& devices) {
    if (pending.empty())
      return;
    insert_device(devices, std::move(pending.front()));
    auto& c = devices.children;
    auto last = std::find_if(c.rbegin(), c.rend(),
                             [](const xml_node& n) { return is(n, "controller"); });
    c.insert(last.base(), std::make_move_iterator(pending.begin() + 1),
             std::make_move_iterator(pending.end()));
    pending.clear();
  }
};

} // namespace

long attr_number(const xml_node* n, std::string_view name) {
  const std::string* v = n ? n->attr(name) : nullptr;
  if (!v || v->empty() || (*v)[0] < '0' || (*v)[0] > '9')
    return -1;
  errno = 0;
  unsigned long long x = std::strtoull(v->c_str(), nullptr, 0);
  return errno || x > 0x7fffffffULL ? -1 : static_cast<long>(x);
}

std::optional<drive_address> drive_address_of(std::string_view bus, long index) {
  // How many units a bus has and how many buses a controller has (ide: 2 buses of 2
  // units; scsi 7 units; fdc 2; sata 6).
  struct geometry {
    std::string_view bus;
    long buses, units;
  };
  static const geometry per_bus[] = {
      {"ide", 2, 2}, {"scsi", 1, 7}, {"fdc", 1, 2}, {"sata", 1, 6}};
  for (const auto& g : per_bus)
    if (g.bus == bus && index >= 0) {
      long per_controller = g.buses * g.units;
      return drive_address{index / per_controller, (index % per_controller) / g.units,
                           index % g.units};
    }
  return std::nullopt;
}

namespace {

// An ICH9 UHCI companion's number (1 to 3), 0 for another model.
int companion_number(const std::string& model) {
  static const std::string prefix = "ich9-uhci";
  if (model.size() == prefix.size() + 1 && model.compare(0, prefix.size(), prefix) == 0 &&
      model.back() >= '1' && model.back() <= '3')
    return model.back() - '0';
  return 0;
}

bool in_ehci_group(const std::string& model) {
  return model == "ich9-ehci1" || companion_number(model) > 0;
}

} // namespace

void controller_indexes(xml_node& devices) {
  std::map<std::string, std::set<long>> used;
  std::map<std::string, long> lowest_free;
  // The models at each USB index: an EHCI controller and its companions share one.
  std::map<long, std::set<std::string>> usb_models;
  for (auto& c : devices.children)
    if (is(c, "controller") && c.attr("index")) {
      used[attr_or(&c, "type")].insert(attr_number(&c, "index"));
      if (attr_or(&c, "type") == "usb")
        usb_models[attr_number(&c, "index")].insert(attr_or(&c, "model"));
    }
  const xml_node* previous = nullptr; // the controller before, in document order
  for (auto& c : devices.children) {
    if (!is(c, "controller"))
      continue;
    std::string model = attr_or(&c, "model");
    std::string type = attr_or(&c, "type");
    if (!c.attr("index")) {
      auto& taken = used[type];
      long& next = lowest_free[type]; // a cursor: never rescanned from 0
      long index = 0;
      bool joined = false;
      // An EHCI controller or a companion right after one of its group joins that
      // group's index, unless the group has its model already (libvirt's auto-index).
      if (type == "usb" && in_ehci_group(model) && previous &&
          attr_or(previous, "type") == "usb" &&
          in_ehci_group(attr_or(previous, "model"))) {
        long theirs = attr_number(previous, "index");
        if (!usb_models[theirs].count(model)) {
          index = theirs;
          joined = true;
        }
      }
      if (!joined && model != "pci-root" && model != "pcie-root") {
        while (taken.count(next))
          ++next;
        index = next;
      }
      taken.insert(index);
      if (type == "usb")
        usb_models[index].insert(model);
      place_attr(c, device_rule("controller"), "index", std::to_string(index));
    }
    // A companion's first port: two per companion, in order.
    if (type == "usb" && companion_number(model) && !c.child("master"))
      place_child(c, device_rule("controller"), "master")
          .set_attr("startport", std::to_string(2 * (companion_number(model) - 1)));
    previous = &c;
  }
}

namespace {

// Every disk on a drive bus gets the address its name implies.
void drive_addresses(xml_node& devices) {
  for (auto& d : devices.children) {
    if (is(d, "disk")) {
      // A CD-ROM is read-only whatever the XML says.
      if (attr_or(&d, "device") == "cdrom" && !d.child("readonly"))
        place_child(d, device_rule("disk"), "readonly");
      // A <driver> whose every attribute meant "the default" (cache='default') is not
      // written.
      auto& c = d.children;
      c.erase(std::remove_if(c.begin(), c.end(),
                             [](const xml_node& n) {
                               return is(n, "driver") && n.attrs.empty() &&
                                      !n.has_elements();
                             }),
              c.end());
    }
    if (!is(d, "disk") || d.child("address"))
      continue;
    const xml_node* target = d.child("target");
    auto at =
        drive_address_of(attr_or(target, "bus"), disk_name_index(attr_or(target, "dev")));
    if (!at)
      continue;
    xml_node& a = place_child(d, device_rule("disk"), "address");
    a.set_attr("type", "drive");
    a.set_attr("controller", std::to_string(at->controller));
    a.set_attr("bus", std::to_string(at->bus));
    a.set_attr("target", "0");
    a.set_attr("unit", std::to_string(at->unit));
  }
}

// The controllers that disks, virtio consoles and channels, and smartcards sit on, in
// libvirt's order (scsi, fdc, ide, sata, virtio-serial, ccid).
void implied_controllers(xml_node& devices) {
  implied_set implied(devices);
  for (std::string_view bus : {"scsi", "fdc", "ide", "sata"}) {
    long max = -1;
    for (auto& d : devices.children) {
      if (!is(d, "disk") || attr_or(d.child("target"), "bus") != bus)
        continue;
      const xml_node* a = d.child("address");
      if (attr_or(a, "type") == "drive")
        max = std::max(max, std::max(0L, attr_number(a, "controller")));
    }
    implied.want_up_to(bus, max);
  }
  // Only the virtio-serial controllers named are implied, channels' first.
  std::vector<long> named;
  for (std::string_view kind : {"channel", "console"})
    for (auto& d : devices.children) {
      if (!is(d, kind) || attr_or(d.child("target"), "type") != "virtio")
        continue;
      const xml_node* a = d.child("address");
      long index =
          attr_or(a, "type") == "virtio-serial" ? attr_number(a, "controller") : 0;
      named.push_back(std::max(0L, index));
    }
  for (long index : named)
    implied.want("virtio-serial", index);
  // A smartcard without an address takes the next slot of ccid controller 0.
  std::set<long> slots;
  long next_slot = 0;
  std::vector<long> ccid;
  for (auto& d : devices.children)
    if (is(d, "smartcard") && attr_or(d.child("address"), "type") == "ccid" &&
        attr_number(d.child("address"), "controller") == 0)
      slots.insert(attr_number(d.child("address"), "slot"));
  for (auto& d : devices.children) {
    if (!is(d, "smartcard"))
      continue;
    if (!d.child("address")) {
      while (slots.count(next_slot))
        ++next_slot;
      long slot = next_slot;
      slots.insert(slot);
      xml_node& a = place_child(d, device_rule("smartcard"), "address");
      a.set_attr("type", "ccid");
      a.set_attr("controller", "0");
      a.set_attr("slot", std::to_string(slot));
    }
    const xml_node* a = d.child("address");
    if (attr_or(a, "type") == "ccid")
      ccid.push_back(std::max(0L, attr_number(a, "controller")));
  }
  for (long index : ccid)
    implied.want("ccid", index);
  implied.insert_into(devices);
}

// Serial and parallel ports without a port number take the lowest free one; a virtio
// console, its place among the consoles (before the serial's console is added).
void chardev_ports(xml_node& devices) {
  for (std::string_view kind : {"serial", "parallel"}) {
    std::set<long> used;
    long next_port = 0;
    for (auto& d : devices.children)
      if (is(d, kind))
        if (long p = attr_number(d.child("target"), "port"); p >= 0)
          used.insert(p);
    for (auto& d : devices.children) {
      if (!is(d, kind))
        continue;
      xml_node& t = place_child(d, device_rule(kind), "target");
      if (t.attr("port"))
        continue;
      while (used.count(next_port)) // a cursor: never rescanned from 0
        ++next_port;
      long port = next_port;
      used.insert(port);
      place_attr(t, *device_rule(kind).find_child("target")->rule, "port",
                 std::to_string(port));
    }
  }
  long place = 0;
  for (auto& d : devices.children) {
    if (!is(d, "console"))
      continue;
    xml_node* t = d.child("target");
    if (attr_or(t, "type") == "virtio" && !t->attr("port"))
      place_attr(*t, *device_rule("console").find_child("target")->rule, "port",
                 std::to_string(place));
    ++place;
  }
}

// A serial port's console as libvirt writes it: the port's type, source, log, protocol,
// alias and address, and a serial target of the port's number.
xml_node console_of(const xml_node& serial) {
  xml_node c = xml_node::element("console");
  // Of the port's type; a port without one is a pty, as a console without one is.
  const std::string* type = serial.attr("type");
  c.set_attr("type", type ? *type : "pty");
  for (auto& child : serial.children) // its alias and address too, as libvirt copies them
    if (!child.is_text && child.name != "target")
      c.children.push_back(child);
  xml_node& t = place_child(c, device_rule("console"), "target");
  t.set_attr("type", "serial");
  t.set_attr("port", attr_or(serial.child("target"), "port", "0"));
  return c;
}

// The serial ports are the consoles of a serial target, as libvirt writes them: the
// Nth such console is the Nth serial port (whatever source it was given), and a guest
// with serial ports and no console gets the first port's console.
void serial_console(xml_node& devices) {
  std::vector<const xml_node*> serials;
  for (auto& d : devices.children)
    if (is(d, "serial"))
      serials.push_back(&d);
  if (serials.empty())
    return;
  // A USB or PCI serial port is no console's (libvirt adds none for it).
  std::string first_type = attr_or(serials.front()->child("target"), "type");
  if (first_type == "usb-serial" || first_type == "pci-serial")
    return;
  auto of_serial = [](const xml_node& console) {
    std::string target_type = attr_or(console.child("target"), "type");
    return target_type == "serial" || target_type.empty();
  };
  // The first port's console goes first when the first console is another kind.
  auto first = std::find_if(devices.children.begin(), devices.children.end(),
                            [](const xml_node& n) { return is(n, "console"); });
  if (first == devices.children.end())
    insert_device(devices, console_of(*serials.front()));
  else if (!of_serial(*first))
    devices.children.insert(first, console_of(*serials.front()));
  serials.clear(); // (the insertion moved them)
  for (auto& d : devices.children)
    if (is(d, "serial"))
      serials.push_back(&d);
  size_t place = 0;
  for (auto& d : devices.children) {
    if (!is(d, "console"))
      continue;
    if (of_serial(d) && place < serials.size())
      d = console_of(*serials[place]);
    ++place;
  }
}

} // namespace

void insert_device(xml_node& devices, xml_node device) {
  const elem_rule& rule = devices_rule();
  const child_rule* mine = rule.find_child(device.name);
  auto& c = devices.children;
  // After the last of its kind, else before the first kind the schema puts after it.
  auto last = std::find_if(c.rbegin(), c.rend(),
                           [&](const xml_node& n) { return is(n, device.name); });
  if (last != c.rend()) {
    c.insert(last.base(), std::move(device));
    return;
  }
  auto pos = std::find_if(c.begin(), c.end(), [&](const xml_node& n) {
    if (n.is_text)
      return false;
    const child_rule* theirs = rule.find_child(n.name);
    return !theirs || (mine && theirs > mine);
  });
  c.insert(pos, std::move(device));
}

void video_defaults(xml_node& model) {
  const elem_rule& rule = *device_rule("video").find_child("model")->rule;
  std::string type = attr_or(&model, "type");
  if (type == "none")
    return;
  if (type == "qxl" && !model.attr("ram"))
    place_attr(model, rule, "ram", "65536");
  if (!model.attr("vram")) {
    static const std::map<std::string, std::string> vram = {
        {"vga", "16384"},   {"cirrus", "16384"}, {"vmvga", "16384"},
        {"bochs", "16384"}, {"xen", "4096"},     {"qxl", "65536"}};
    if (auto v = vram.find(type); v != vram.end())
      place_attr(model, rule, "vram", v->second);
  }
  if (!model.attr("heads"))
    place_attr(model, rule, "heads", "1");
}

void add_implied_devices(domain_def& def) {
  xml_node& root = def.root();
  xml_node* found = root.child("devices");
  if (!found)
    return;
  xml_node& devices = *found;
  const std::string virt_type = def.type;
  const bool hvm = def.os_type == "hvm";
  drive_addresses(devices);
  chardev_ports(devices);
  if (hvm)
    serial_console(devices);
  implied_controllers(devices);
  // A guest with graphics and no video gets one, as libvirt adds it, where the model is
  // known here (the test and Xen drivers'; others give theirs in their own hooks).
  if ((virt_type == "test" || virt_type == "xen") && devices.child("graphics") &&
      !devices.child("video"))
    insert_device(devices, xml_node::element("video"));
  // The first video is the primary one; drivers that know a default model give it.
  bool first = true;
  for (auto& v : devices.children) {
    if (!is(v, "video"))
      continue;
    xml_node* m = v.child("model");
    if (!m && (virt_type == "test" || virt_type == "xen")) {
      m = &place_child(v, device_rule("video"), "model");
      m->set_attr("type", hvm ? "cirrus" : "xen");
    }
    if (first && attr_or(m, "type") == "none") {
      // No video: libvirt clears what it would fill in for one, all but its alias.
      auto& k = v.children;
      k.erase(std::remove_if(k.begin(), k.end(),
                             [](const xml_node& n) {
                               return !n.is_text && !is(n, "model") && !is(n, "alias");
                             }),
              k.end());
      m = v.child("model");
      m->attrs = {{"type", "none"}};
      m->children.clear();
      first = false;
      continue;
    }
    if (m) {
      video_defaults(*m);
      if (first && !m->attr("primary"))
        place_attr(*m, *device_rule("video").find_child("model")->rule, "primary", "yes");
    }
    first = false;
  }
}

} // namespace domus::model
