// libvirt's QEMU driver's defaults, applied where libvirt applies them: the machine's
// own devices before libvirt's generic implied devices (so a USB controller and the PCI
// root come before an IDE controller the disks imply, as virsh writes them), the device
// models after, and addresses last.
#include "qemu_defaults.hpp"

#include "pci_address.hpp"

#include <domus/errors.hpp>
#include <domus/model/device_def.hpp>
#include <domus/model/domain_schema.hpp>
#include <domus/model/schema.hpp>

#include <algorithm>
#include <set>
#include <utility>

namespace domus::qemu_driver {

namespace {

using model::xml_node;
using pci::attr_or;
using pci::is;

enum class chipset { i440fx, q35, other };

chipset chipset_of(const std::string& machine) {
  if (machine.rfind("pc-q35", 0) == 0 || machine == "q35")
    return chipset::q35;
  if (machine == "pc" || machine.rfind("pc-i440fx", 0) == 0 ||
      (machine.rfind("pc-", 0) == 0 && machine.rfind("pc-q35", 0) != 0))
    return chipset::i440fx;
  return chipset::other;
}

const model::elem_rule& rule_at(std::initializer_list<std::string_view> path) {
  const model::elem_rule* r = &model::domain_schema();
  for (auto n : path)
    r = r->find_child(n)->rule;
  return *r;
}

bool has_device(
    const xml_node& devices, std::string_view name,
    std::initializer_list<std::pair<std::string_view, std::string_view>> attrs) {
  return std::any_of(devices.children.begin(), devices.children.end(),
                     [&](const xml_node& d) {
                       if (!is(d, name))
                         return false;
                       for (auto [k, v] : attrs)
                         if (attr_or(&d, k) != v)
                           return false;
                       return true;
                     });
}

void add_device(
    xml_node& devices, std::string name,
    std::initializer_list<std::pair<std::string_view, std::string_view>> attrs) {
  xml_node d = xml_node::element(std::move(name));
  for (auto [k, v] : attrs)
    d.set_attr(k, std::string(v));
  model::insert_device(devices, std::move(d));
}

// The architecture and the machine's concrete name ("pc" is "pc-i440fx-7.2" here).
void machine(model::domain_def& def, const qemu_caps& caps) {
  if (def.os_arch.empty())
    def.os_arch = caps.arch;
  if (def.os_arch != caps.arch)
    throw error(errc::unsupported, "the emulator " + caps.path + " runs architecture '" +
                                       caps.arch + "', not '" + def.os_arch + "'");
  const machine_info* m =
      def.os_machine.empty() ? caps.default_machine() : caps.find_machine(def.os_machine);
  if (!m)
    throw error(errc::invalid_argument, "the emulator " + caps.path +
                                            " has no machine type '" + def.os_machine +
                                            "' (it has: " + caps.machine_names() + ")");
  def.os_machine = m->name;
}

// A CPU without a model runs the machine's default one (qemu64), as libvirt writes it.
void default_cpu(model::domain_def& def, const qemu_caps& caps) {
  const machine_info* m = caps.find_machine(def.os_machine);
  if (!m || m->default_cpu.empty())
    return;
  xml_node& root = def.root();
  const model::elem_rule& cpu_rule = rule_at({"cpu"});
  xml_node* cpu = root.child("cpu");
  if (cpu) {
    std::string mode = attr_or(cpu, "mode");
    if ((!mode.empty() && mode != "custom") || cpu->child("model"))
      return;
  } else {
    cpu = &model::place_child(root, model::domain_schema(), "cpu");
  }
  model::place_attr(*cpu, cpu_rule, "mode", "custom");
  model::place_attr(*cpu, cpu_rule, "match", "exact");
  model::place_attr(*cpu, cpu_rule, "check", "none");
  xml_node& model = model::place_child(*cpu, cpu_rule, "model");
  model.set_attr("fallback", "forbid");
  model.set_text(m->default_cpu);
}

// What the machine has whatever the XML says: a USB controller, the PCI root (and on
// q35 the SATA controller), a balloon, PS/2 mouse and keyboard, an audio backend.
void machine_devices(xml_node& devices, chipset kind) {
  if (kind == chipset::other)
    return;
  if (!has_device(devices, "controller", {{"type", "usb"}, {"index", "0"}}))
    add_device(devices, "controller", {{"type", "usb"}, {"index", "0"}});
  if (kind == chipset::q35 &&
      !has_device(devices, "controller", {{"type", "sata"}, {"index", "0"}}))
    add_device(devices, "controller", {{"type", "sata"}, {"index", "0"}});
  if (!has_device(devices, "controller", {{"type", "pci"}, {"index", "0"}}))
    add_device(devices, "controller",
               {{"type", "pci"},
                {"index", "0"},
                {"model", kind == chipset::q35 ? "pcie-root" : "pci-root"}});
  if (!devices.child("memballoon"))
    add_device(devices, "memballoon", {{"model", "virtio"}});
  if (!has_device(devices, "input", {{"type", "mouse"}, {"bus", "ps2"}}))
    add_device(devices, "input", {{"type", "mouse"}, {"bus", "ps2"}});
  if (!has_device(devices, "input", {{"type", "keyboard"}, {"bus", "ps2"}}))
    add_device(devices, "input", {{"type", "keyboard"}, {"bus", "ps2"}});
  if (!devices.child("audio")) {
    bool spice = has_device(devices, "graphics", {{"type", "spice"}});
    add_device(devices, "audio", {{"id", "1"}, {"type", spice ? "spice" : "none"}});
  }
}

void disk_models(xml_node& d) {
  const model::elem_rule& rule = rule_at({"devices", "disk"});
  std::string type = attr_or(&d, "type");
  xml_node* driver = d.child("driver");
  if (!driver || !driver->attr("name") || !driver->attr("type")) {
    xml_node& drv = model::place_child(d, rule, "driver");
    const model::elem_rule& drv_rule = *rule.find_child("driver")->rule;
    if (!drv.attr("name"))
      model::place_attr(drv, drv_rule, "name", "qemu");
    // libvirt never probes a format: an image without one is raw (an empty CD-ROM's
    // too, for the medium it gets).
    if (!drv.attr("type") && type != "volume")
      model::place_attr(drv, drv_rule, "type", "raw");
  }
  if (attr_or(d.child("target"), "bus") == "usb" && !d.attr("model"))
    model::place_attr(d, rule, "model", "usb-storage");
}

void controller_models(xml_node& c, chipset kind) {
  const model::elem_rule& rule = rule_at({"devices", "controller"});
  std::string type = attr_or(&c, "type");
  std::string model = attr_or(&c, "model");
  if (type == "usb" && model.empty() && kind != chipset::other)
    model::place_attr(c, rule, "model",
                      kind == chipset::q35 ? "qemu-xhci" : "piix3-uhci");
  if (type == "scsi" && model.empty())
    model::place_attr(c, rule, "model", "lsilogic");
  // PCI controllers: the name of the device QEMU makes, and the target attribute that
  // numbers them by their index (none for a pcie-to-pci-bridge).
  static const struct {
    std::string_view model, name, numbered_by;
  } pci_models[] = {{"pcie-root-port", "pcie-root-port", "chassis"},
                    {"pci-bridge", "pci-bridge", "chassisNr"},
                    {"pcie-to-pci-bridge", "pcie-pci-bridge", ""}};
  for (const auto& m : pci_models) {
    if (type != "pci" || model != m.model)
      continue;
    if (!c.child("model"))
      model::place_child(c, rule, "model").set_attr("name", std::string(m.name));
    if (m.numbered_by.empty())
      continue;
    xml_node& target = model::place_child(c, rule, "target");
    if (!target.attr(m.numbered_by))
      model::place_attr(target, *rule.find_child("target")->rule, m.numbered_by,
                        attr_or(&c, "index"));
  }
}

// A serial port of a PC is an ISA one.
void serial_models(xml_node& s) {
  const model::elem_rule& rule = rule_at({"devices", "serial"});
  const model::elem_rule& target_rule = *rule.find_child("target")->rule;
  xml_node& target = model::place_child(s, rule, "target");
  if (!target.attr("type"))
    model::place_attr(target, target_rule, "type", "isa-serial");
  std::string type = attr_or(&target, "type");
  if (!target.child("model")) {
    static const std::pair<std::string_view, std::string_view> models[] = {
        {"isa-serial", "isa-serial"},
        {"usb-serial", "usb-serial"},
        {"pci-serial", "pci-serial"}};
    for (auto [t, m] : models)
      if (type == t)
        model::place_child(target, target_rule, "model").set_attr("name", std::string(m));
  }
}

void video_models(xml_node& v, bool first) {
  const model::elem_rule& rule = rule_at({"devices", "video"});
  xml_node* m = v.child("model");
  if (!m) {
    m = &model::place_child(v, rule, "model");
    m->set_attr("type", "cirrus");
    if (first)
      model::place_attr(*m, *rule.find_child("model")->rule, "primary", "yes");
  }
  // QEMU's qxl has a VGA memory too (16 MiB when not given).
  if (attr_or(m, "type") == "qxl" && !m->attr("vgamem"))
    model::place_attr(*m, *rule.find_child("model")->rule, "vgamem", "16384");
  model::video_defaults(*m);
}

// <tpm> and its backend are kept verbatim by the schema: attributes go last.
void tpm_models(xml_node& t) {
  if (!t.attr("model"))
    t.set_attr("model", "tpm-tis");
  xml_node* backend = t.child("backend");
  if (backend && attr_or(backend, "type") == "emulator" && !backend->attr("version"))
    backend->set_attr("version", attr_or(&t, "model") == "tpm-crb" ? "2.0" : "1.2");
}

void device_models(xml_node& devices, chipset kind) {
  bool first_video = true;
  for (auto& d : devices.children) {
    if (is(d, "disk"))
      disk_models(d);
    else if (is(d, "controller"))
      controller_models(d, kind);
    else if (is(d, "interface") && !d.child("model") && attr_or(&d, "type") != "hostdev")
      model::place_child(d, rule_at({"devices", "interface"}), "model")
          .set_attr("type", "rtl8139");
    else if (is(d, "serial") && kind != chipset::other)
      serial_models(d);
    else if (is(d, "video"))
      video_models(d, std::exchange(first_video, false));
    else if (is(d, "tpm"))
      tpm_models(d);
    else if (is(d, "panic") && !d.attr("model"))
      d.set_attr("model", "isa");
  }
}

// Each virtio channel gets a port of its virtio-serial controller, from 1 (0 is a
// console's, and a channel's port 0, which the model writes where none was given, asks
// for one, as in libvirt).
void virtio_serial_ports(xml_node& devices) {
  auto has_port = [](const xml_node* a) {
    return attr_or(a, "type") == "virtio-serial" && pci::number(attr_or(a, "port")) > 0;
  };
  std::set<std::pair<std::string, long>> used;
  for (auto& d : devices.children) {
    const xml_node* a = is(d, "channel") ? d.child("address") : nullptr;
    if (has_port(a))
      used.insert({attr_or(a, "controller"), pci::number(attr_or(a, "port"))});
  }
  const model::elem_rule& rule = rule_at({"devices", "channel"});
  for (auto& d : devices.children) {
    if (!is(d, "channel") || attr_or(d.child("target"), "type") != "virtio")
      continue;
    xml_node* a = d.child("address");
    if (a && (attr_or(a, "type") != "virtio-serial" || has_port(a)))
      continue;
    std::string controller = a && a->attr("controller") ? attr_or(a, "controller") : "0";
    long port = 1;
    while (used.count({controller, port}))
      ++port;
    used.insert({controller, port});
    if (!a) {
      a = &model::place_child(d, rule, "address");
      a->set_attr("type", "virtio-serial");
    }
    a->set_attr("controller", controller);
    if (!a->attr("bus"))
      a->set_attr("bus", "0");
    a->set_attr("port", std::to_string(port));
  }
}

// q35's SATA controller is built into the ICH9 at 00:1f.2.
void q35_fixed_addresses(xml_node& devices) {
  for (auto& d : devices.children)
    if (is(d, "controller") && attr_or(&d, "type") == "sata" &&
        attr_or(&d, "index") == "0" && !d.child("address"))
      pci::write_address(d, 0, 0x1f, 2);
}

} // namespace

void apply_qemu_defaults(model::domain_def& def, const qemu_caps& caps) {
  machine(def, caps);
  default_cpu(def, caps);
  chipset kind = chipset_of(def.os_machine);
  xml_node* devices = def.root().child("devices");
  if (devices)
    machine_devices(*devices, kind);
  model::add_implied_devices(def);
  if (!(devices = def.root().child("devices")))
    return;
  device_models(*devices, kind);
  virtio_serial_ports(*devices);
  if (kind == chipset::i440fx) {
    assign_pci_addresses(*devices);
  } else if (kind == chipset::q35) {
    q35_fixed_addresses(*devices);
    assign_pcie_addresses(*devices);
    device_models(*devices, kind); // the root ports and bridges it added
  }
}

} // namespace domus::qemu_driver
