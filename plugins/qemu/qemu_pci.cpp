// PCI addresses for an i440fx (`pc`) machine, in libvirt's order, so that the XML says
// where every device sits and the command line puts it there (qemu_command.cpp).
#include "qemu_defaults.hpp"

#include "pci_address.hpp"

#include <domus/errors.hpp>
#include <domus/model/domain_schema.hpp>
#include <domus/model/schema.hpp>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <set>
#include <vector>

namespace domus::qemu_driver {

namespace {

using model::xml_node;
using pci::attr_or;
using pci::is;
using pci::number;

constexpr long first_slot = 1, last_slot = 31;

// Whether a device of this element sits on the PCI bus, by its kind and model.
bool on_pci(const xml_node& d) {
  std::string model = attr_or(&d, "model");
  if (is(d, "controller")) {
    std::string type = attr_or(&d, "type");
    if (type == "pci")
      return model == "pci-bridge";
    if (type == "usb")
      return model != "none";
    return type == "scsi" || type == "virtio-serial" || type == "sata";
  }
  if (is(d, "interface")) {
    std::string nic = attr_or(d.child("model"), "type");
    return attr_or(&d, "type") != "hostdev" && nic != "usb-net" && nic != "spapr-vlan";
  }
  if (is(d, "sound"))
    return model == "ich6" || model == "ich7" || model == "ich9" || model == "ac97" ||
           model == "es1370";
  if (is(d, "disk"))
    return attr_or(d.child("target"), "bus") == "virtio";
  if (is(d, "memballoon"))
    return model.rfind("virtio", 0) == 0;
  if (is(d, "rng"))
    return true;
  if (is(d, "watchdog"))
    return model == "i6300esb";
  if (is(d, "video")) {
    std::string type = attr_or(d.child("model"), "type");
    return type == "cirrus" || type == "vga" || type == "qxl" || type == "virtio" ||
           type == "bochs" || type == "vmvga";
  }
  if (is(d, "input"))
    return attr_or(&d, "bus") == "virtio";
  return false;
}

struct allocator {
  xml_node& devices;
  std::vector<long> buses;              // pci-root 0, then the bridges' indexes
  std::set<std::pair<long, long>> used; // (bus, slot)

  explicit allocator(xml_node& d) : devices(d) {
    buses.push_back(0);
    for (auto& c : devices.children)
      if (is(c, "controller") && attr_or(&c, "type") == "pci" &&
          attr_or(&c, "model") == "pci-bridge")
        if (long index = number(attr_or(&c, "index")); index > 0)
          buses.push_back(index);
    std::sort(buses.begin(), buses.end());
    used.insert({0, 1}); // the PIIX3: ISA bridge, IDE, USB, power management
    for (auto& d : devices.children) {
      const xml_node* a = d.is_text ? nullptr : d.child("address");
      if (attr_or(a, "type") == "pci")
        used.insert({number(attr_or(a, "bus")), number(attr_or(a, "slot"))});
    }
  }

  // The first free slot, bus 0 first; a bridge only on a bus numbered below its own.
  void place(xml_node& d) {
    long below = LONG_MAX;
    if (is(d, "controller") && attr_or(&d, "type") == "pci")
      below = number(attr_or(&d, "index"));
    for (long bus : buses) {
      if (bus >= below)
        break;
      for (long slot = first_slot; slot <= last_slot; ++slot)
        if (used.insert({bus, slot}).second)
          return pci::write_address(d, bus, slot, 0);
    }
    throw error(errc::invalid_argument,
                "no free PCI slot is left for the <" + d.name + "> on line " +
                    std::to_string(d.line) +
                    ": add a <controller type='pci' model='pci-bridge'/>");
  }
};

} // namespace

namespace pci {

long number(const std::string& v) {
  if (v.empty())
    return -1;
  errno = 0;
  char* end = nullptr;
  unsigned long long x = std::strtoull(v.c_str(), &end, 0);
  return errno || *end || x > 0xffff ? -1 : static_cast<long>(x);
}

std::vector<xml_node*>
in_assignment_order(xml_node& devices,
                    const std::function<bool(const xml_node&)>& wanted) {
  std::vector<xml_node*> out;
  auto each = [&](auto&& which) {
    for (auto& d : devices.children)
      if (!d.is_text && wanted(d) && which(d))
        out.push_back(&d);
  };
  auto pci_controller = [](const xml_node& d) {
    return is(d, "controller") && attr_or(&d, "type") == "pci";
  };
  each(pci_controller);
  for (std::string_view kind : {"interface", "sound"})
    each([&](const xml_node& d) { return is(d, kind); });
  each([&](const xml_node& d) { return is(d, "controller") && !pci_controller(d); });
  for (std::string_view kind :
       {"disk", "memballoon", "rng", "watchdog", "video", "input"})
    each([&](const xml_node& d) { return is(d, kind); });
  return out;
}

void write_address(xml_node& d, long bus, long slot, long function, bool multifunction) {
  const model::elem_rule* rule = model::domain_schema().find_child("devices")->rule;
  const model::child_rule* known = rule->find_child(d.name);
  xml_node& a =
      known && known->rule->find_child("address")
          ? model::place_child(d, *known->rule, "address")
          : (d.children.push_back(xml_node::element("address")), d.children.back());
  char b[8], s[8], f[8];
  std::snprintf(b, sizeof b, "0x%02lx", bus);
  std::snprintf(s, sizeof s, "0x%02lx", slot);
  std::snprintf(f, sizeof f, "0x%lx", function);
  a.attrs = {
      {"type", "pci"}, {"domain", "0x0000"}, {"bus", b}, {"slot", s}, {"function", f}};
  if (multifunction)
    a.attrs.push_back({"multifunction", "on"});
}

} // namespace pci

void assign_pci_addresses(xml_node& devices) {
  allocator pci(devices);
  auto unplaced = [](const xml_node& d) { return on_pci(d) && !d.child("address"); };
  // The PIIX3's own functions.
  for (auto& c : devices.children) {
    if (!is(c, "controller") || !unplaced(c) || attr_or(&c, "index") != "0")
      continue;
    if (attr_or(&c, "type") == "usb" && attr_or(&c, "model") == "piix3-uhci")
      pci::write_address(c, 0, 1, 2);
  }
  for (auto& c : devices.children)
    if (is(c, "controller") && attr_or(&c, "type") == "ide" &&
        attr_or(&c, "index") == "0" && !c.child("address"))
      pci::write_address(c, 0, 1, 1);
  // The primary video at 00:02.0 when it is free.
  for (auto& v : devices.children) {
    if (!is(v, "video"))
      continue;
    if (unplaced(v) && pci.used.insert({0, 2}).second)
      pci::write_address(v, 0, 2, 0);
    break;
  }
  for (xml_node* d : pci::in_assignment_order(devices, unplaced))
    pci.place(*d);
}

} // namespace domus::qemu_driver
