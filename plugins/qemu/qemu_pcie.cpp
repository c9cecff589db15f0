// PCI Express addresses for a q35 machine, as libvirt gives them (checked against
// libvirt 9.0 with Debian's QEMU 7.2, tests/unit/qemu_defaults_test.cpp): every PCIe
// device alone behind a pcie-root-port of its own, legacy PCI devices (e1000, rtl8139,
// a second cirrus, ...) on a pcie-to-pci-bridge, the root ports packed eight to a slot
// of pcie.0 from slot 2, the primary video at 00:01.0. What is missing is added first,
// counted by a dry run of the same assignment, as libvirt does.
#include "qemu_defaults.hpp"

#include "pci_address.hpp"

#include <domus/errors.hpp>
#include <domus/model/device_def.hpp>
#include <domus/model/domain_schema.hpp>
#include <domus/model/schema.hpp>

#include <algorithm>
#include <cstdio>
#include <map>
#include <set>
#include <vector>

namespace domus::qemu_driver {

namespace {

using model::xml_node;
using pci::attr_or;
using pci::is;
using pci::number;

enum class slot_kind { none, pcie, legacy };

// What a device needs on q35: a root port of its own (PCIe), a slot of a pcie-to-pci
// bridge (legacy PCI), or no PCI address at all.
slot_kind kind_of(const xml_node& d) {
  std::string model = attr_or(&d, "model");
  if (is(d, "controller")) {
    std::string type = attr_or(&d, "type");
    if (type == "usb")
      return model == "none"                               ? slot_kind::none
             : model == "qemu-xhci" || model == "nec-xhci" ? slot_kind::pcie
                                                           : slot_kind::legacy;
    if (type == "scsi")
      return model == "virtio-scsi" ? slot_kind::pcie : slot_kind::legacy;
    if (type == "virtio-serial")
      return slot_kind::pcie;
    if (type == "sata")
      return attr_or(&d, "index") == "0" ? slot_kind::none : slot_kind::pcie;
    if (type == "pci" && model == "pcie-to-pci-bridge")
      return slot_kind::pcie;
    return slot_kind::none;
  }
  if (is(d, "interface")) {
    std::string nic = attr_or(d.child("model"), "type");
    if (attr_or(&d, "type") == "hostdev" || nic == "usb-net")
      return slot_kind::none;
    return nic == "virtio" || nic == "e1000e" ? slot_kind::pcie : slot_kind::legacy;
  }
  if (is(d, "sound"))
    return model == "ich6" || model == "ich7" || model == "ich9" || model == "ac97" ||
                   model == "es1370"
               ? slot_kind::legacy
               : slot_kind::none;
  if (is(d, "disk"))
    return attr_or(d.child("target"), "bus") == "virtio" ? slot_kind::pcie
                                                         : slot_kind::none;
  if (is(d, "memballoon"))
    return model.rfind("virtio", 0) == 0 ? slot_kind::pcie : slot_kind::none;
  if (is(d, "rng"))
    return slot_kind::pcie;
  if (is(d, "watchdog"))
    return model == "i6300esb" ? slot_kind::legacy : slot_kind::none;
  if (is(d, "video")) {
    std::string type = attr_or(d.child("model"), "type");
    if (type == "virtio")
      return slot_kind::pcie;
    return type == "cirrus" || type == "vga" || type == "qxl" || type == "bochs" ||
                   type == "vmvga"
               ? slot_kind::legacy
               : slot_kind::none;
  }
  if (is(d, "input"))
    return attr_or(&d, "bus") == "virtio" ? slot_kind::pcie : slot_kind::none;
  return slot_kind::none;
}

bool is_pci_controller(const xml_node& d, std::string_view model) {
  return is(d, "controller") && attr_or(&d, "type") == "pci" &&
         attr_or(&d, "model") == model;
}

// The devices without an address that need a PCI slot, in libvirt's order.
std::vector<xml_node*> in_order(xml_node& devices) {
  return pci::in_assignment_order(devices, [](const xml_node& d) {
    return !d.child("address") && kind_of(d) != slot_kind::none;
  });
}

// The buses behind pcie.0: root ports (one device each, at slot 0) and pcie-to-pci
// bridges (slots 1 to 31), by index, with what is taken on them.
struct buses {
  std::map<long, bool> root_ports;        // index -> taken
  std::map<long, std::set<long>> bridges; // index -> slots taken
  long next_index = 1;

  explicit buses(const xml_node& devices) {
    for (auto& c : devices.children) {
      if (!is(c, "controller") || attr_or(&c, "type") != "pci")
        continue;
      long index = number(attr_or(&c, "index"));
      next_index = std::max(next_index, index + 1);
      if (is_pci_controller(c, "pcie-root-port"))
        root_ports[index] = false;
      else if (is_pci_controller(c, "pcie-to-pci-bridge"))
        bridges[index];
    }
    for (auto& d : devices.children) {
      const xml_node* a = d.is_text ? nullptr : d.child("address");
      if (attr_or(a, "type") != "pci")
        continue;
      long bus = number(attr_or(a, "bus")), slot = number(attr_or(a, "slot"));
      if (root_ports.count(bus))
        root_ports[bus] = true;
      else if (bridges.count(bus))
        bridges[bus].insert(slot);
    }
  }

  // The first free root port, or -1.
  long free_root_port() {
    for (auto& [index, taken] : root_ports)
      if (!taken)
        return taken = true, index;
    return -1;
  }
  // The first free bridge slot, as (bus, slot), or bus -1.
  std::pair<long, long> free_bridge_slot() {
    for (auto& [index, slots] : bridges)
      for (long slot = 1; slot <= 31; ++slot)
        if (slots.insert(slot).second)
          return {index, slot};
    return {-1, 0};
  }
};

// Root ports packed into pcie.0 from slot 2, eight functions a slot; which slots and
// functions the definition already uses are skipped.
struct root_port_slots {
  std::set<std::pair<long, long>> used; // (slot, function) on bus 0
  explicit root_port_slots(const xml_node& devices) {
    used.insert({0x1f, -1}); // the ICH9's slot (LPC, SATA, SMBus)
    for (auto& d : devices.children) {
      const xml_node* a = d.is_text ? nullptr : d.child("address");
      if (attr_or(a, "type") == "pci" && number(attr_or(a, "bus")) == 0)
        used.insert({number(attr_or(a, "slot")), number(attr_or(a, "function"))});
    }
  }
  bool slot_busy(long slot) const {
    return std::any_of(used.begin(), used.end(), [&](const std::pair<long, long>& u) {
      return u.first == slot && u.second == -1;
    });
  }
  std::pair<long, long> next() {
    for (long slot = 2; slot <= 0x1e; ++slot) {
      if (slot_busy(slot))
        continue;
      for (long fn = 0; fn < 8; ++fn)
        if (used.insert({slot, fn}).second)
          return {slot, fn};
    }
    throw error(errc::invalid_argument,
                "no free slot is left on pcie.0 for a pcie-root-port");
  }
};

[[noreturn]] void no_room(const xml_node& d) {
  throw error(errc::invalid_argument, "no free PCI Express slot is left for the <" +
                                          d.name + "> on line " + std::to_string(d.line));
}

} // namespace

void assign_pcie_addresses(xml_node& devices) {
  // The primary video sits on pcie.0 itself, at 00:01.0 when free.
  xml_node* primary = nullptr;
  for (auto& v : devices.children)
    if (is(v, "video")) {
      if (!v.child("address") && kind_of(v) != slot_kind::none)
        primary = &v;
      break;
    }
  // (Else it is placed as any other video. Pointers into `devices` are not kept past
  // here: the dry run inserts controllers.)
  if (primary) {
    root_port_slots taken(devices);
    if (!taken.used.count({1, 0}) && !taken.slot_busy(1))
      pci::write_address(*primary, 0, 1, 0);
  }
  // Dry run: which buses the devices without an address need, added as libvirt adds
  // them (a bridge's own root port first).
  {
    buses dry(devices);
    std::vector<std::pair<long, std::string>> added;
    for (xml_node* d : in_order(devices)) {
      if (kind_of(*d) == slot_kind::pcie) {
        if (dry.free_root_port() < 0) {
          long index = dry.next_index++;
          dry.root_ports[index] = true;
          added.push_back({index, "pcie-root-port"});
        }
      } else if (dry.free_bridge_slot().first < 0) {
        // A bridge comes with a root port of its own, even beside a free one.
        long port = dry.next_index++;
        dry.root_ports[port] = true;
        added.push_back({port, "pcie-root-port"});
        long bridge = dry.next_index++;
        dry.bridges[bridge].insert(1);
        added.push_back({bridge, "pcie-to-pci-bridge"});
      }
    }
    // A definition without root ports of its own gets one more than it needs, free for
    // a hotplug, as libvirt does (tests/data/qemu/defaults: q35-many).
    bool had_root_ports = !buses(devices).root_ports.empty();
    if (!had_root_ports && std::any_of(added.begin(), added.end(), [](const auto& a) {
          return a.second == "pcie-root-port";
        }))
      added.push_back({dry.next_index++, "pcie-root-port"});
    for (auto& [index, model] : added) {
      xml_node c = xml_node::element("controller");
      c.set_attr("type", "pci");
      c.set_attr("index", std::to_string(index));
      c.set_attr("model", model);
      model::insert_device(devices, std::move(c));
    }
  }
  // The root ports themselves, on pcie.0; then every device on its bus.
  root_port_slots slots(devices);
  std::map<long, xml_node*> slot_heads; // slot -> its function 0
  for (auto& c : devices.children) {
    if (!is_pci_controller(c, "pcie-root-port") || c.child("address"))
      continue;
    auto [slot, fn] = slots.next();
    pci::write_address(c, 0, slot, fn);
    if (fn == 0)
      slot_heads[slot] = &c;
    else if (auto head = slot_heads.find(slot); head != slot_heads.end())
      pci::write_address(*head->second, 0, slot, 0, true);
    char port[8];
    std::snprintf(port, sizeof port, "0x%lx", (slot << 3) | fn);
    static const model::elem_rule& rule = *model::domain_schema()
                                               .find_child("devices")
                                               ->rule->find_child("controller")
                                               ->rule;
    xml_node& target = model::place_child(c, rule, "target");
    const model::elem_rule& target_rule = *rule.find_child("target")->rule;
    if (!target.attr("chassis"))
      model::place_attr(target, target_rule, "chassis", attr_or(&c, "index"));
    if (!target.attr("port"))
      model::place_attr(target, target_rule, "port", port);
  }
  buses real(devices);
  for (xml_node* d : in_order(devices)) {
    if (kind_of(*d) == slot_kind::pcie) {
      long bus = real.free_root_port();
      if (bus < 0)
        no_room(*d);
      pci::write_address(*d, bus, 0, 0);
    } else {
      auto [bus, slot] = real.free_bridge_slot();
      if (bus < 0)
        no_room(*d);
      pci::write_address(*d, bus, slot, 0);
    }
  }
}

} // namespace domus::qemu_driver
