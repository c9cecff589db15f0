#include "qemu_command.hpp"

#include <domus/errors.hpp>
#include <domus/model/device_def.hpp>
#include <domus/model/domain_schema.hpp>
#include <domus/model/schema.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>

namespace domus::qemu_driver {

using model::xml_node;
using nlohmann::ordered_json;

std::string option_value(const std::string& value) {
  std::string out;
  for (char c : value) {
    out += c;
    if (c == ',')
      out += ',';
  }
  return out;
}

namespace {

std::string attr_or(const xml_node& n, std::string_view name, std::string fallback = "") {
  const std::string* v = n.attr(name);
  return v ? *v : fallback;
}

[[noreturn]] void not_applied(const xml_node& n, const std::string& path,
                              const std::string& detail = "") {
  std::string where = n.line ? " (line " + std::to_string(n.line) + ")" : "";
  throw error(errc::unsupported, "the QEMU driver does not apply " + path + where +
                                     " yet" + (detail.empty() ? "" : "; " + detail) +
                                     " (docs/qemu.md lists what it applies)");
}

// Which elements of a definition are applied, or harmless to leave to QEMU's defaults.
const char* const top_level_known[] = {"name",
                                       "uuid",
                                       "title",
                                       "description",
                                       "metadata",
                                       "memory",
                                       "currentMemory",
                                       "vcpu",
                                       "os",
                                       "features",
                                       "cpu",
                                       "clock",
                                       "on_poweroff",
                                       "on_reboot",
                                       "on_crash",
                                       "devices",
                                       "qemu:commandline",
                                       "seclabel",
                                       "pm"};

struct builder {
  builder(const model::domain_def& d, const qemu_caps& c, bool k, const monitor_spec& m)
      : def(d), caps(c), kvm(k), spec(m) {}
  const model::domain_def& def;
  const qemu_caps& caps;
  bool kvm;
  const monitor_spec& spec;
  std::vector<std::string> out;
  std::string machine_family; // "pc" or "q35"
  // The memory backend's id: the machine's default-ram-id on pc and q35.
  const std::string ram_id = "pc.ram";
  std::string audiodev; // "audio1": the backend of <audio id='1'>, for -vnc
  bool has_usb = false;
  bool has_virtio_serial = false;
  bool any_boot_order = false;
  // Each device's bootindex from <os><boot dev>: the first disk for hd, the first cdrom,
  // floppy or NIC for the others, numbered in the order the boot elements come.
  std::map<const xml_node*, int> implied_boot;

  void boot_indexes(const xml_node& devs) {
    const xml_node* o = def.root().child("os");
    if (!o || any_boot_order)
      return;
    int next = 1;
    for (const auto& b : o->children) {
      if (b.is_text || b.name != "boot")
        continue;
      std::string dev = attr_or(b, "dev");
      for (const auto& c : devs.children) {
        bool match = !c.is_text && ((c.name == "disk" && attr_or(c, "device", "disk") ==
                                                             (dev == "hd"      ? "disk"
                                                              : dev == "cdrom" ? "cdrom"
                                                              : dev == "fd"    ? "floppy"
                                                                               : "-")) ||
                                    (c.name == "interface" && dev == "network"));
        if (match) {
          implied_boot[&c] = next++;
          break;
        }
      }
    }
  }

  // A device's bootindex, when it has one.
  void boot_index(ordered_json& dj, const xml_node& d) {
    if (const xml_node* b = d.child("boot"))
      dj["bootindex"] = std::stoi(attr_or(*b, "order", "1"));
    else if (auto it = implied_boot.find(&d); it != implied_boot.end())
      dj["bootindex"] = it->second;
  }
  int channel_count = 0;

  void arg(std::string a) { out.push_back(std::move(a)); }
  void arg(std::string a, std::string b) {
    out.push_back(std::move(a));
    out.push_back(std::move(b));
  }
  void device(const ordered_json& j) { arg("-device", j.dump()); }

  // A device's <address type='pci'> as QEMU's bus and addr (qemu_pci.cpp chose it on a
  // pc; on q35 QEMU places what has none).
  void device_at(ordered_json j, const xml_node& d) {
    const xml_node* a = d.child("address");
    if (a && attr_or(*a, "type") == "pci") {
      auto number = [&](const char* name) {
        return std::strtoul(attr_or(*a, name, "0").c_str(), nullptr, 0);
      };
      if (number("domain") != 0)
        not_applied(*a, "PCI domain " + attr_or(*a, "domain"));
      unsigned long bus = number("bus"), slot = number("slot"), fn = number("function");
      char addr[32];
      if (fn)
        std::snprintf(addr, sizeof addr, "0x%lx.0x%lx", slot, fn);
      else
        std::snprintf(addr, sizeof addr, "0x%lx", slot);
      j["bus"] = bus ? "pci." + std::to_string(bus)
                     : std::string(machine_family == "q35" ? "pcie.0" : "pci.0");
      j["addr"] = addr;
      if (attr_or(*a, "multifunction") == "on")
        j["multifunction"] = true;
    }
    device(j);
  }

  void check_top_level() {
    for (const auto& c : def.root().children) {
      if (c.is_text)
        continue;
      if (std::find_if(std::begin(top_level_known), std::end(top_level_known),
                       [&](const char* k) { return c.name == k; }) ==
          std::end(top_level_known))
        not_applied(c, "<" + c.name + ">");
      if (c.name == "seclabel" && attr_or(c, "type") != "none")
        not_applied(c, "<seclabel type='" + attr_or(c, "type") + "'>");
    }
  }

  void machine() {
    const machine_info* m = caps.find_machine(def.os_machine);
    if (!m)
      throw error(errc::invalid_argument, "the emulator " + caps.path +
                                              " has no machine type '" + def.os_machine +
                                              "' (it has: " + caps.machine_names() + ")");
    machine_family = m->name.find("q35") != std::string::npos ? "q35" : "pc";
    bool acpi = false;
    std::string vmport;
    if (const xml_node* f = def.root().child("features")) {
      for (const auto& c : f->children) {
        if (c.is_text)
          continue;
        if (c.name == "acpi")
          acpi = true;
        else if (c.name == "vmport")
          vmport = attr_or(c, "state") == "off" ? ",vmport=off" : ",vmport=on";
        else if (c.name != "apic" && c.name != "pae")
          not_applied(c, "<features><" + c.name + ">");
      }
    }
    bool usb = false;
    if (const xml_node* devs = def.root().child("devices"))
      for (const auto& c : devs->children)
        if (!c.is_text && c.name == "controller" && attr_or(c, "type") == "usb" &&
            attr_or(c, "model") != "none")
          usb = true;
    (void)usb; // the controller is a -device of its own (usb=off keeps QEMU's out)
    // The guest's memory is a backend object of its own (memory_and_smp), as libvirt
    // has it since QEMU 5.0.
    arg("-machine", option_value(m->name) +
                        ",usb=off,dump-guest-core=off,memory-backend=" + ram_id +
                        (acpi ? ",acpi=on" : ",acpi=off") + vmport);
    arg("-accel", kvm ? "kvm" : "tcg");
  }

  void cpu() {
    const xml_node* c = def.root().child("cpu");
    std::string model = "qemu64";
    std::string flags;
    if (c) {
      std::string mode = attr_or(*c, "mode", "custom");
      if (mode == "host-passthrough" || mode == "maximum") {
        if (mode == "host-passthrough" && !kvm)
          throw error(errc::unsupported,
                      "<cpu mode='host-passthrough'> needs KVM (domain type 'kvm'); "
                      "with TCG use mode='maximum'");
        model = mode == "maximum" ? "max" : "host";
      } else if (mode == "custom") {
        if (const xml_node* m = c->child("model")) {
          std::string name = m->trimmed_text();
          if (!name.empty()) {
            if (!caps.has_cpu_model(name))
              throw error(errc::invalid_argument,
                          "the emulator " + caps.path + " has no CPU model '" + name +
                              "' (it has: " + caps.cpu_model_names() + ")");
            model = name;
          }
        }
      } else {
        not_applied(*c, "<cpu mode='" + mode + "'>");
      }
      for (const auto& f : c->children) {
        if (f.is_text)
          continue;
        if (f.name == "feature") {
          std::string policy = attr_or(f, "policy", "require");
          std::string name = attr_or(f, "name");
          if (policy == "require" || policy == "force")
            flags += ",+" + name;
          else if (policy == "disable" || policy == "forbid")
            flags += ",-" + name;
          // "optional": QEMU's model decides, as libvirt leaves it
        } else if (f.name != "model" && f.name != "topology" && f.name != "vendor") {
          not_applied(f, "<cpu><" + f.name + ">");
        }
      }
    }
    arg("-cpu", option_value(model) + flags);
  }

  void memory_and_smp() {
    // Rounded up to whole MiB, as libvirt aligns x86 guests' memory.
    uint64_t kib = (def.memory_kib + 1023) / 1024 * 1024;
    arg("-m", "size=" + std::to_string(kib) + "k");
    arg("-object", ordered_json{{"qom-type", "memory-backend-ram"},
                                {"id", ram_id},
                                {"size", kib * 1024}}
                       .dump());
    // The guest's memory is never locked (libvirt's <memoryBacking><locked/> is not
    // applied).
    arg("-overcommit", "mem-lock=off");
    uint32_t max = def.vcpus, now = def.vcpus_now();
    uint32_t sockets = max, cores = 1, threads = 1;
    if (const xml_node* c = def.root().child("cpu"))
      if (const xml_node* t = c->child("topology")) {
        sockets = static_cast<uint32_t>(std::stoul(attr_or(*t, "sockets", "1")));
        cores = static_cast<uint32_t>(std::stoul(attr_or(*t, "cores", "1")));
        threads = static_cast<uint32_t>(std::stoul(attr_or(*t, "threads", "1")));
      }
    std::string smp = std::to_string(now);
    if (now != max)
      smp += ",maxcpus=" + std::to_string(max);
    smp += ",sockets=" + std::to_string(sockets) + ",cores=" + std::to_string(cores) +
           ",threads=" + std::to_string(threads);
    arg("-smp", smp);
  }

  void os() {
    const xml_node* o = def.root().child("os");
    std::string boot_order;
    bool menu = false;
    if (o) {
      for (const auto& c : o->children) {
        if (c.is_text)
          continue;
        if (c.name == "type")
          continue;
        if (c.name == "kernel")
          arg("-kernel", c.trimmed_text());
        else if (c.name == "initrd")
          arg("-initrd", c.trimmed_text());
        else if (c.name == "cmdline")
          arg("-append", c.trimmed_text());
        else if (c.name == "boot") {
          static const std::map<std::string, char> letters = {
              {"fd", 'a'}, {"hd", 'c'}, {"cdrom", 'd'}, {"network", 'n'}};
          auto it = letters.find(attr_or(c, "dev"));
          if (it == letters.end())
            not_applied(c, "<os><boot dev='" + attr_or(c, "dev") + "'>");
          boot_order += it->second;
        } else if (c.name == "bootmenu") {
          menu = attr_or(c, "enable") == "yes";
        } else {
          not_applied(c, "<os><" + c.name + ">");
        }
      }
    }
    // <os><boot dev> became the devices' bootindex (boot_indexes), as libvirt does.
    (void)boot_order;
    std::string boot;
    if (menu)
      boot += "menu=on,";
    arg("-boot", boot + "strict=on");
  }

  void clock() {
    std::string base = "utc";
    std::string rtc_extra;
    if (const xml_node* c = def.root().child("clock")) {
      std::string offset = attr_or(*c, "offset", "utc");
      if (offset == "localtime")
        base = "localtime";
      else if (offset != "utc")
        not_applied(*c, "<clock offset='" + offset + "'>");
      for (const auto& t : c->children) {
        if (t.is_text)
          continue;
        if (t.name != "timer")
          not_applied(t, "<clock><" + t.name + ">");
        std::string name = attr_or(t, "name"), tick = attr_or(t, "tickpolicy");
        std::string present = attr_or(t, "present", "yes");
        // libvirt's translations, for the timers virt-install writes.
        if (name == "rtc" && (tick.empty() || tick == "catchup" || tick == "delay")) {
          if (tick == "catchup")
            rtc_extra = ",driftfix=slew";
        } else if (name == "pit" &&
                   (tick.empty() || tick == "delay" || tick == "discard")) {
          if (!tick.empty())
            arg("-global", "kvm-pit.lost_tick_policy=" + tick);
        } else if (name == "hpet" && tick.empty()) {
          if (present == "no")
            arg("-no-hpet");
        } else {
          not_applied(t, "<timer name='" + name + "'" +
                             (tick.empty() ? "" : " tickpolicy='" + tick + "'") + ">");
        }
      }
    }
    arg("-rtc", "base=" + base + rtc_extra);
  }

  // <pm>: the guest's S3 and S4, as libvirt turns them off.
  void power_management() {
    const xml_node* pm = def.root().child("pm");
    if (!pm)
      return;
    std::string device = machine_family == "q35" ? "ICH9-LPC" : "PIIX4_PM";
    for (const auto& c : pm->children) {
      if (c.is_text)
        continue;
      std::string enabled = attr_or(c, "enabled");
      const char* property = c.name == "suspend-to-mem"    ? "disable_s3"
                             : c.name == "suspend-to-disk" ? "disable_s4"
                                                           : nullptr;
      if (!property || (enabled != "yes" && enabled != "no"))
        not_applied(c, "<pm><" + c.name + ">");
      arg("-global", device + "." + property + "=" + (enabled == "no" ? "1" : "0"));
    }
  }

  // ---- devices ----

  int disk_count = 0, disk_total = 0;

  void disk(const xml_node& d) {
    std::string type = attr_or(d, "type", "file");
    std::string kind = attr_or(d, "device", "disk");
    if (type != "file" && type != "block")
      not_applied(d, "<disk type='" + type + "'>",
                  type == "volume" ? "volumes come with the runtime's resolve_volume"
                                   : "");
    if (kind != "disk" && kind != "cdrom")
      not_applied(d, "<disk device='" + kind + "'>");
    const xml_node* target = d.child("target");
    std::string dev = target ? attr_or(*target, "dev") : "";
    std::string bus = target ? attr_or(*target, "bus", "") : "";
    if (bus.empty())
      bus = dev.rfind("vd", 0) == 0 ? "virtio" : dev.rfind("sd", 0) == 0 ? "sata" : "ide";
    const xml_node* src = d.child("source");
    std::string file = src ? attr_or(*src, type == "block" ? "dev" : "file") : "";
    const xml_node* drv = d.child("driver");
    std::string format = drv ? attr_or(*drv, "type", "raw") : "raw";
    std::string cache = drv ? attr_or(*drv, "cache", "default") : "default";
    std::string io = drv ? attr_or(*drv, "io") : "";
    bool ro = d.child("readonly") != nullptr || kind == "cdrom";
    for (const auto& c : d.children) {
      if (c.is_text)
        continue;
      static const char* const known[] = {"driver",   "source", "target",
                                          "readonly", "boot",   "alias",
                                          "address",  "serial", "shareable"};
      if (std::find_if(std::begin(known), std::end(known),
                       [&](const char* k) { return c.name == k; }) == std::end(known))
        not_applied(c, "<disk><" + c.name + "> of disk '" + dev + "'");
    }
    if (format != "raw" && format != "qcow2")
      not_applied(d, "disk '" + dev + "' of format '" + format + "'");

    // libvirt numbers the disks' nodes from the last: the first of four is libvirt-4.
    int n = disk_total - disk_count++;
    std::string node = "libvirt-" + std::to_string(n);
    // A raw image needs no format layer: the device reads the file's node, as libvirt
    // has it since QEMU 4.2 (-blockdev).
    bool format_layer = format != "raw";
    bool have_media = !file.empty();
    if (!have_media && kind != "cdrom")
      throw error(errc::invalid_argument, "disk '" + dev + "' has no source file");
    if (have_media) {
      ordered_json cache_json;
      bool direct = cache == "none" || cache == "directsync";
      bool no_flush = cache == "unsafe";
      if (cache != "default" && cache != "none" && cache != "writeback" &&
          cache != "writethrough" && cache != "directsync" && cache != "unsafe")
        throw error(errc::invalid_argument,
                    "disk '" + dev + "': unknown cache mode '" + cache + "'");
      std::string driver = type == "file"    ? "file"
                           : kind == "cdrom" ? "host_cdrom"
                                             : "host_device";
      ordered_json storage = {
          {"driver", driver}, {"filename", file}, {"node-name", node + "-storage"}};
      if (format_layer) {
        storage["auto-read-only"] = true;
        storage["discard"] = "unmap";
      }
      if (cache != "default")
        storage["cache"] = {{"direct", direct}, {"no-flush", no_flush}};
      if (!io.empty()) {
        if (io != "native" && io != "threads" && io != "io_uring")
          throw error(errc::invalid_argument,
                      "disk '" + dev + "': unknown io '" + io + "'");
        storage["aio"] = io;
      }
      if (!format_layer)
        storage["read-only"] = ro;
      arg("-blockdev", storage.dump());
      if (format_layer) {
        ordered_json fmt = {
            {"node-name", node + "-format"}, {"read-only", ro}, {"driver", format}};
        if (cache != "default")
          fmt["cache"] = {{"direct", direct}, {"no-flush", no_flush}};
        fmt["file"] = node + "-storage";
        arg("-blockdev", fmt.dump());
      }
    }
    ordered_json dj;
    if (bus == "virtio") {
      if (kind == "cdrom")
        not_applied(d, "a cdrom on bus virtio");
      dj = {{"driver", "virtio-blk-pci"}};
    } else if (bus == "ide" || bus == "sata") {
      dj = {{"driver", kind == "cdrom" ? "ide-cd" : "ide-hd"}};
      int index = dev.size() >= 3 ? dev.back() - 'a' : 0;
      if (index < 0 || index > 25)
        throw error(errc::invalid_argument,
                    "disk target '" + dev + "' is not a drive name");
      if (bus == "ide") {
        if (machine_family != "pc")
          not_applied(d, "bus 'ide' on machine " + def.os_machine, "use bus 'sata'");
        if (index > 3)
          throw error(errc::invalid_argument,
                      "disk '" + dev + "': an IDE bus has 4 drives (hda to hdd)");
        dj["bus"] = "ide." + std::to_string(index / 2);
        dj["unit"] = index % 2;
      } else {
        if (index > 5)
          throw error(errc::invalid_argument,
                      "disk '" + dev + "': a SATA controller has 6 ports (sda to sdf)");
        // q35's own AHCI names its ports ide.N; on a pc it is the ahci device sata0.
        dj["bus"] = (machine_family == "q35" ? "ide." : "sata0.") + std::to_string(index);
      }
    } else {
      not_applied(d, "disk bus '" + bus + "'");
    }
    if (have_media)
      dj["drive"] = node + (format_layer ? "-format" : "-storage");
    // libvirt's aliases: virtio-diskN by the target's index, else the drive address
    // (ide0-1-0: controller 0, bus 1, unit 0).
    long index = model::disk_name_index(dev);
    std::string id = bus == "virtio" ? "virtio-disk" + std::to_string(index)
                     : bus == "ide"  ? "ide0-" + std::to_string(index / 2) + "-" +
                                          std::to_string(index % 2)
                                    : "sata0-0-" + std::to_string(index);
    dj["id"] = id;
    boot_index(dj, d);
    // The guest sees a volatile write cache unless the host writes through.
    if (cache != "default")
      dj["write-cache"] = cache == "writethrough" || cache == "directsync" ? "off" : "on";
    if (const xml_node* s = d.child("serial"))
      dj["serial"] = s->trimmed_text();
    if (d.child("shareable"))
      dj["share-rw"] = true; // other guests write it too: QEMU's image lock allows it
    // What the guest's I/O errors do: libvirt's error_policy and rerror_policy.
    if (drv) {
      static const char* const policies[] = {"stop", "report", "ignore", "enospace"};
      auto policy = [&](const char* attr) -> std::string {
        std::string v = attr_or(*drv, attr);
        if (!v.empty() &&
            std::find(std::begin(policies), std::end(policies), v) == std::end(policies))
          throw error(errc::invalid_argument,
                      "disk '" + dev + "': unknown " + attr + " '" + v + "'");
        return v;
      };
      std::string werror = policy("error_policy");
      std::string rerror = policy("rerror_policy");
      if (rerror.empty() && werror != "enospace")
        rerror = werror;
      if (!werror.empty())
        dj["werror"] = werror;
      if (!rerror.empty())
        dj["rerror"] = rerror;
    }
    device_at(dj, d);
  }

  int chardev_count = 0;

  std::string chardev(const xml_node& c, const std::string& id) {
    std::string type = attr_or(c, "type", "pty");
    const xml_node* src = c.child("source");
    if (type == "pty") {
      arg("-chardev", "pty,id=" + id);
    } else if (type == "file") {
      std::string path = src ? attr_or(*src, "path") : "";
      if (path.empty())
        throw error(errc::invalid_argument,
                    "<" + c.name + " type='file'> has no source path");
      std::string append = src ? attr_or(*src, "append") : "";
      arg("-chardev", "file,id=" + id + ",path=" + option_value(path) +
                          (append == "on" ? ",append=on" : ""));
    } else if (type == "unix") {
      std::string path = src ? attr_or(*src, "path") : "";
      if (path.empty())
        throw error(errc::invalid_argument,
                    "<" + c.name + " type='unix'> has no source path");
      bool bind = src && attr_or(*src, "mode", "bind") == "bind";
      arg("-chardev", "socket,id=" + id + ",path=" + option_value(path) +
                          (bind ? ",server=on,wait=off" : ""));
    } else if (type == "null") {
      arg("-chardev", "null,id=" + id);
    } else {
      not_applied(c, "<" + c.name + " type='" + type + "'>");
    }
    return id;
  }

  void serial(const xml_node& s) {
    int index = chardev_count++;
    std::string id = chardev(s, "charserial" + std::to_string(index));
    const xml_node* t = s.child("target");
    std::string ttype = t ? attr_or(*t, "type", "isa-serial") : "isa-serial";
    if (ttype != "isa-serial")
      not_applied(s, "<serial><target type='" + ttype + "'>");
    device({{"driver", "isa-serial"},
            {"chardev", id},
            {"id", "serial" + std::to_string(index)},
            {"index", index}});
  }

  void console(const xml_node& c, bool has_serial) {
    const xml_node* t = c.child("target");
    std::string ttype = t ? attr_or(*t, "type", "serial") : "serial";
    if (ttype == "serial" && has_serial)
      return; // the first serial port itself, as libvirt makes it
    if (ttype == "serial") {
      serial(c);
      return;
    }
    if (ttype == "virtio") {
      std::string id = "console" + std::to_string(virtio_consoles++);
      ordered_json dj = {
          {"driver", "virtconsole"}, {"chardev", chardev(c, "char" + id)}, {"id", id}};
      device(dj);
      return;
    }
    not_applied(c, "<console><target type='" + ttype + "'>");
  }
  int virtio_consoles = 0;
  int video_count = 0;

  int net_count = 0;

  void interface(const xml_node& i) {
    std::string type = attr_or(i, "type");
    bool tap = type == "bridge" || type == "ethernet";
    if (type != "user" && !tap)
      not_applied(
          i, "<interface type='" + type + "'>",
          "user, bridge and ethernet interfaces are applied; networks come later");
    int n = net_count++;
    std::string netdev = "hostnet" + std::to_string(n);
    if (tap) {
      // A tap the driver made and QEMU inherits (tap_device.cpp), else one QEMU makes.
      ordered_json nd = {{"type", "tap"}};
      if (auto it = spec.tap_fds.find(n); it != spec.tap_fds.end()) {
        nd["fd"] = std::to_string(it->second);
      } else {
        const xml_node* t = i.child("target");
        nd["ifname"] =
            t && t->attr("dev") ? attr_or(*t, "dev") : "vnet" + std::to_string(n);
        nd["script"] = "no";
        nd["downscript"] = "no";
      }
      nd["id"] = netdev;
      arg("-netdev", nd.dump());
    } else {
      arg("-netdev", ordered_json{{"type", "user"}, {"id", netdev}}.dump());
    }
    std::string model = "e1000";
    if (const xml_node* m = i.child("model"))
      model = attr_or(*m, "type", model);
    static const std::map<std::string, std::string> drivers = {
        {"virtio", "virtio-net-pci"},
        {"e1000", "e1000"},
        {"e1000e", "e1000e"},
        {"rtl8139", "rtl8139"}};
    auto it = drivers.find(model);
    if (it == drivers.end())
      not_applied(i, "interface model '" + model + "'");
    ordered_json dj = {
        {"driver", it->second}, {"netdev", netdev}, {"id", "net" + std::to_string(n)}};
    if (const xml_node* mac = i.child("mac"))
      dj["mac"] = attr_or(*mac, "address");
    boot_index(dj, i);
    for (const auto& c : i.children) {
      if (c.is_text || c.name == "mac" || c.name == "model" || c.name == "boot" ||
          c.name == "alias" || c.name == "address")
        continue;
      // A bridge's name, a tap's name: what tap_device.cpp uses.
      if (tap && c.name == "target" && c.attrs.size() == 1 && c.attr("dev"))
        continue;
      if (type == "bridge" && c.name == "source" && c.attrs.size() == 1 &&
          c.attr("bridge"))
        continue;
      not_applied(c, "<interface type='" + type + "'><" + c.name + ">");
    }
    if (type == "bridge" && bridge_of(i).empty())
      throw error(errc::invalid_argument,
                  "<interface type='bridge'> needs <source bridge='NAME'/>");
    device_at(dj, i);
  }

  void controller(const xml_node& c) {
    std::string type = attr_or(c, "type");
    std::string model = attr_or(c, "model");
    if (type == "usb") {
      if (model == "none")
        return;
      if (model.empty())
        model = machine_family == "q35" ? "qemu-xhci" : "piix3-uhci";
      has_usb = true;
      if (model == "piix3-uhci") {
        if (machine_family != "pc")
          not_applied(c, "USB model piix3-uhci on machine " + def.os_machine);
        // The PIIX3's own function 2 unless the XML places it elsewhere.
        if (c.child("address"))
          device_at({{"driver", "piix3-usb-uhci"}, {"id", "usb"}}, c);
        else
          device({{"driver", "piix3-usb-uhci"},
                  {"id", "usb"},
                  {"bus", "pci.0"},
                  {"addr", "0x1.0x2"}});
      } else if (model == "qemu-xhci" || model == "nec-xhci") {
        ordered_json dj = {{"driver", model}, {"id", "usb"}};
        if (const std::string* ports = c.attr("ports")) {
          dj["p2"] = std::stoi(*ports);
          dj["p3"] = std::stoi(*ports);
        }
        device_at(dj, c);
      } else {
        not_applied(c, "USB controller model '" + model + "'");
      }
      return;
    }
    if (type == "pci" && (model == "pci-root" || model == "pcie-root"))
      return; // the machine's own
    if (type == "pci" && model == "pcie-root-port" && machine_family == "q35") {
      // On pcie.0 at its address, with the port and chassis the definition gives it.
      int index = std::stoi(attr_or(c, "index", "1"));
      const xml_node* t = c.child("target");
      std::string port = t ? attr_or(*t, "port") : "",
                  chassis = t ? attr_or(*t, "chassis") : "";
      device_at({{"driver", "pcie-root-port"},
                 {"port", port.empty() ? 15 + index : std::stoi(port, nullptr, 0)},
                 {"chassis", chassis.empty() ? index : std::stoi(chassis)},
                 {"id", "pci." + std::to_string(index)},
                 {"bus", "pcie.0"}},
                c);
      return;
    }
    if (type == "pci" && model == "pcie-to-pci-bridge" && machine_family == "q35") {
      int index = std::stoi(attr_or(c, "index", "1"));
      device_at({{"driver", "pcie-pci-bridge"}, {"id", "pci." + std::to_string(index)}},
                c);
      return;
    }
    if (type == "pci" && model == "pci-bridge" && machine_family == "pc") {
      int index = std::stoi(attr_or(c, "index", "1"));
      const xml_node* t = c.child("target");
      std::string chassis = t ? attr_or(*t, "chassisNr") : "";
      device_at({{"driver", "pci-bridge"},
                 {"chassis_nr", chassis.empty() ? index : std::stoi(chassis)},
                 {"id", "pci." + std::to_string(index)}},
                c);
      return;
    }
    if (type == "virtio-serial") {
      int index = std::stoi(attr_or(c, "index", "0"));
      device_at({{"driver", "virtio-serial-pci"},
                 {"id", "virtio-serial" + std::to_string(index)}},
                c);
      if (index == 0)
        has_virtio_serial = true;
      return;
    }
    if (type == "ide" && machine_family == "pc")
      return; // PIIX3's
    if (type == "ide")
      not_applied(c, "<controller type='ide'> on machine " + def.os_machine,
                  "it has no IDE: put its disks on bus 'sata'");
    if (type == "sata" && machine_family == "q35" && attr_or(c, "index", "0") == "0")
      return; // q35's ICH9 AHCI
    if (type == "sata" && machine_family == "pc" && attr_or(c, "index", "0") == "0") {
      device_at({{"driver", "ahci"}, {"id", "sata0"}}, c);
      return;
    }
    not_applied(c, "<controller type='" + type + "'" +
                       (model.empty() ? "" : " model='" + model + "'") + ">");
  }

  // A virtio serial port (the guest agent's org.qemu.guest_agent.0): on a unix socket
  // (one the driver makes when the XML gives no path), a pty, a file or nothing.
  void channel(const xml_node& c) {
    std::string type = attr_or(c, "type");
    const xml_node* t = c.child("target");
    std::string ttype = t ? attr_or(*t, "type") : "";
    std::string name = t ? attr_or(*t, "name") : "";
    bool socket = type == "unix";
    if (ttype != "virtio" || name.empty() ||
        (!socket && type != "pty" && type != "file" && type != "null"))
      not_applied(c, "<channel type='" + type + "'> with target '" + ttype + "'",
                  "unix sockets, ptys and files to virtio ports are applied");
    if (name.find('/') != std::string::npos || name.find(',') != std::string::npos)
      throw error(errc::invalid_argument, "channel name '" + name + "' holds '/' or ','");
    int n = channel_count++;
    std::string id = "charchannel" + std::to_string(n);
    if (socket) {
      const xml_node* src = c.child("source");
      std::string path = src ? attr_or(*src, "path") : "";
      int fd = -1;
      if (path.empty()) {
        auto it = spec.channel_fds.find(name);
        if (it != spec.channel_fds.end())
          fd = it->second;
        else if (spec.channel_dir.empty())
          throw error(errc::invalid_argument,
                      "<channel> '" + name + "' has no source path");
        path = spec.channel_dir + "/" + name;
      }
      // A socket the driver made is inherited: its path's length never matters.
      arg("-chardev",
          "socket,id=" + id +
              (fd >= 0 ? ",fd=" + std::to_string(fd) : ",path=" + option_value(path)) +
              ",server=on,wait=off");
    } else {
      chardev(c, id);
    }
    // Its port as the definition says (the driver's defaults give each one).
    int controller = 0, port = n + 1;
    if (const xml_node* a = c.child("address"))
      if (attr_or(*a, "type") == "virtio-serial") {
        controller = std::stoi(attr_or(*a, "controller", "0"));
        port = std::stoi(attr_or(*a, "port", std::to_string(port)));
      }
    if (!has_virtio_serial && controller == 0) {
      // libvirt adds the controller a virtio channel needs.
      device({{"driver", "virtio-serial-pci"}, {"id", "virtio-serial0"}});
      has_virtio_serial = true;
    }
    device({{"driver", "virtserialport"},
            {"bus", "virtio-serial" + std::to_string(controller) + ".0"},
            {"nr", port},
            {"chardev", id},
            {"id", "channel" + std::to_string(n)},
            {"name", name}});
  }

  void rng(const xml_node& r) {
    if (attr_or(r, "model") != "virtio")
      not_applied(r, "<rng model='" + attr_or(r, "model") + "'>");
    const xml_node* b = r.child("backend");
    std::string model = b ? attr_or(*b, "model") : "";
    std::string source = b ? b->trimmed_text() : "";
    if (model != "random")
      not_applied(r, "<rng><backend model='" + model + "'>");
    if (source.empty())
      source = "/dev/urandom";
    if (source != "/dev/urandom" && source != "/dev/random" && source != "/dev/hwrng")
      throw error(errc::invalid_argument, "<rng> backend '" + source +
                                              "' is not /dev/urandom, /dev/random or "
                                              "/dev/hwrng");
    arg("-object",
        ordered_json{{"qom-type", "rng-random"}, {"id", "objrng0"}, {"filename", source}}
            .dump());
    device_at({{"driver", "virtio-rng-pci"}, {"rng", "objrng0"}, {"id", "rng0"}}, r);
  }

  // VNC on a TCP port (a start allocates autoport's first); its password is set over
  // QMP, never here.
  void vnc(const xml_node& g) {
    std::string type = attr_or(g, "type");
    if (type != "vnc")
      not_applied(g, "<graphics type='" + type + "'>", "VNC is applied");
    for (const auto& a : g.attrs) {
      static const char* const applied[] = {"type",   "port",   "autoport",
                                            "listen", "passwd", "keymap"};
      if (std::find_if(std::begin(applied), std::end(applied),
                       [&](const char* k) { return a.name == k; }) == std::end(applied))
        not_applied(g, "<graphics type='vnc' " + a.name + "=...>");
    }
    std::string listen = attr_or(g, "listen", "");
    for (const auto& c : g.children) {
      if (c.is_text)
        continue;
      if (c.name != "listen" || attr_or(c, "type", "address") != "address")
        not_applied(c, "<graphics><" + c.name + ">");
      if (listen.empty())
        listen = attr_or(c, "address");
    }
    if (listen.empty())
      listen = "127.0.0.1"; // libvirt's vnc_listen
    int port = std::stoi(attr_or(g, "port", "-1"));
    // An autoport display a start has not given a port yet (domxml-to-native): the
    // first, as libvirt shows it.
    if (port == -1 && attr_or(g, "autoport", "yes") == "yes")
      port = 5900;
    if (port < 5900 || port > 65535)
      throw error(errc::invalid_argument,
                  "<graphics type='vnc'> needs a port from 5900 to 65535 or autoport");
    std::string host =
        listen.find(':') != std::string::npos ? "[" + listen + "]" : listen;
    std::string value = host + ":" + std::to_string(port - 5900);
    if (g.attr("passwd"))
      value += ",password=on";
    if (!audiodev.empty())
      value += ",audiodev=" + audiodev;
    arg("-vnc", value);
    if (const std::string* keymap = g.attr("keymap"))
      arg("-k", *keymap);
  }

  // <audio type='none'>: a backend that plays nothing, which a display names (QEMU
  // would otherwise pick one of the host's).
  void audio_backends(const xml_node& devs) {
    for (const auto& c : devs.children) {
      if (c.is_text || c.name != "audio")
        continue;
      // SPICE's own audio comes with SPICE graphics: name those, the user's element.
      if (attr_or(c, "type") == "spice")
        for (const auto& g : devs.children)
          if (!g.is_text && g.name == "graphics" && attr_or(g, "type") == "spice")
            not_applied(g, "<graphics type='spice'>", "VNC is applied");
      if (attr_or(c, "type") != "none")
        not_applied(c, "<audio type='" + attr_or(c, "type") + "'>");
      std::string id = "audio" + attr_or(c, "id", "1");
      arg("-audiodev", ordered_json{{"id", id}, {"driver", "none"}}.dump());
      if (audiodev.empty())
        audiodev = id;
    }
  }

  void devices() {
    const xml_node* devs = def.root().child("devices");
    if (!devs)
      return;
    audio_backends(*devs);
    for (const auto& c : devs->children)
      if (!c.is_text && c.name == "disk")
        ++disk_total;
    for (const auto& c : devs->children)
      if (!c.is_text && (c.name == "disk" || c.name == "interface") && c.child("boot"))
        any_boot_order = true;
    boot_indexes(*devs);
    // Controllers first, as devices name their buses; PCI ones first of all, by index, as
    // a bridge names the bus it sits on.
    std::vector<const xml_node*> pci, others;
    for (const auto& c : devs->children)
      if (!c.is_text && c.name == "controller")
        (attr_or(c, "type") == "pci" ? pci : others).push_back(&c);
    std::stable_sort(pci.begin(), pci.end(), [](const xml_node* a, const xml_node* b) {
      return std::stoul(attr_or(*a, "index", "0")) <
             std::stoul(attr_or(*b, "index", "0"));
    });
    for (const auto* c : pci)
      controller(*c);
    for (const auto* c : others)
      controller(*c);
    bool has_serial = false;
    for (const auto& c : devs->children)
      if (!c.is_text && c.name == "serial")
        has_serial = true;
    bool graphics = false;
    for (const auto& c : devs->children) {
      if (c.is_text)
        continue;
      if (c.name == "emulator" || c.name == "controller")
        continue;
      if (c.name == "disk")
        disk(c);
      else if (c.name == "serial")
        serial(c);
      else if (c.name == "console")
        console(c, has_serial);
      else if (c.name == "interface")
        interface(c);
      else if (c.name == "input") {
        std::string type = attr_or(c, "type"), bus = attr_or(c, "bus", "ps2");
        if ((type == "mouse" || type == "keyboard") && bus == "ps2")
          continue; // the machine's own PS/2 devices
        if (type == "tablet" && bus == "usb" && has_usb) {
          device({{"driver", "usb-tablet"}, {"id", "input0"}, {"bus", "usb.0"}});
          continue;
        }
        not_applied(c, "<input type='" + type + "' bus='" + bus + "'>");
      } else if (c.name == "video") {
        const xml_node* m = c.child("model");
        std::string type = m ? attr_or(*m, "type", "vga") : "vga";
        static const std::map<std::string, std::string> drivers = {
            {"vga", "VGA"},
            {"cirrus", "cirrus-vga"},
            {"virtio", "virtio-vga"},
            {"bochs", "bochs-display"}};
        if (type == "none")
          continue;
        int n = video_count++;
        auto it = drivers.find(type);
        if (it == drivers.end())
          not_applied(c, "video model '" + type + "'");
        // One VGA device a guest: a second video is a virtio GPU without VGA, as
        // libvirt makes it; another VGA model there is refused (libvirt refuses it too).
        std::string driver = it->second;
        if (n > 0 && type != "virtio")
          throw error(errc::invalid_argument,
                      "video model '" + type + "' (line " + std::to_string(c.line) +
                          ") can only be the primary video device");
        if (n > 0)
          driver = "virtio-gpu-pci";
        device_at({{"driver", driver}, {"id", "video" + std::to_string(n)}}, c);
      } else if (c.name == "memballoon") {
        std::string model = attr_or(c, "model", "virtio");
        if (model == "none")
          continue;
        if (model != "virtio")
          not_applied(c, "memballoon model '" + model + "'");
        device_at({{"driver", "virtio-balloon-pci"}, {"id", "balloon0"}}, c);
      } else if (c.name == "panic") {
        std::string model = attr_or(c, "model", "isa");
        if (model != "isa")
          not_applied(c, "panic model '" + model + "'");
        device({{"driver", "pvpanic"}, {"ioport", 1285}});
      } else if (c.name == "channel") {
        channel(c);
      } else if (c.name == "rng") {
        rng(c);
      } else if (c.name == "graphics") {
        graphics = true;
        vnc(c);
      } else if (c.name == "audio") {
        continue; // before the devices (audio_backends)
      } else {
        not_applied(c, "<" + c.name + ">");
      }
    }
    if (!graphics)
      arg("-display", "none");
  }

  void passthrough() {
    const xml_node* cl = def.root().child("qemu:commandline");
    if (!cl)
      return;
    for (const auto& c : cl->children) {
      if (c.is_text)
        continue;
      if (c.name == "qemu:arg")
        arg(attr_or(c, "value"));
      else
        not_applied(c, "<qemu:commandline><" + c.name + ">");
    }
  }
};

} // namespace

std::vector<std::string> build_argv(const model::domain_def& def, const qemu_caps& caps,
                                    const monitor_spec& monitor, bool kvm) {
  builder b(def, caps, kvm, monitor);
  b.check_top_level();
  b.arg(caps.path);
  b.arg("-name", "guest=" + option_value(def.name) + ",debug-threads=on");
  b.arg("-S");
  b.machine();
  b.cpu();
  b.memory_and_smp();
  b.arg("-uuid", def.uuid_string());
  b.arg("-no-user-config");
  b.arg("-nodefaults");
  if (monitor.fd >= 0)
    b.arg("-chardev", "socket,id=charmonitor,fd=" + std::to_string(monitor.fd) +
                          ",server=on,wait=off");
  else
    b.arg("-chardev", "socket,id=charmonitor,path=" + option_value(monitor.path) +
                          ",server=on,wait=off");
  b.arg("-mon", "chardev=charmonitor,id=monitor,mode=control");
  b.clock();
  b.arg("-no-shutdown");
  // A guest's reboot ends it (libvirt's on_reboot destroy): QEMU says SHUTDOWN.
  if (const xml_node* r = def.root().child("on_reboot"))
    if (r->trimmed_text() == "destroy")
      b.arg("-no-reboot");
  // Devices before -boot: whether any has a boot order decides the form of -boot.
  std::vector<std::string> head = std::move(b.out);
  b.out.clear();
  b.devices();
  std::vector<std::string> devices = std::move(b.out);
  b.out = std::move(head);
  b.os();
  b.power_management();
  b.out.insert(b.out.end(), devices.begin(), devices.end());
  // QEMU's seccomp filter, as libvirt's seccomp_sandbox = 1: no obsolete system calls,
  // no privilege changes, no new processes, no CPU affinity or scheduler changes.
  b.arg("-sandbox",
        "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny");
  b.arg("-msg", "timestamp=on");
  b.passthrough();
  return b.out;
}

std::string bridge_of(const xml_node& interface) {
  const xml_node* s = interface.child("source");
  return s ? attr_or(*s, "bridge") : "";
}

std::vector<tap_nic> tap_nics(const model::domain_def& def) {
  std::vector<tap_nic> out;
  const xml_node* devs = def.root().child("devices");
  if (!devs)
    return out;
  int place = 0;
  for (const auto& c : devs->children) {
    if (c.is_text || c.name != "interface")
      continue;
    std::string type = attr_or(c, "type");
    if (type == "bridge" || type == "ethernet") {
      const xml_node* t = c.child("target");
      std::string name = t ? attr_or(*t, "dev") : "";
      // Names libvirt gives (vnetN) are given anew at each start.
      if (name.rfind("vnet", 0) == 0)
        name.clear();
      const xml_node* mac = c.child("mac");
      const xml_node* model = c.child("model");
      out.push_back({place, name, mac ? attr_or(*mac, "address") : "", bridge_of(c),
                     model && attr_or(*model, "type") == "virtio"});
    }
    ++place;
  }
  return out;
}

void set_tap_name(model::domain_def& def, int place, const std::string& name) {
  xml_node* devs = def.root().child("devices");
  if (!devs)
    return;
  int at = 0;
  for (auto& c : devs->children) {
    if (c.is_text || c.name != "interface")
      continue;
    if (at++ != place)
      continue;
    static const model::elem_rule& rule = *model::domain_schema()
                                               .find_child("devices")
                                               ->rule->find_child("interface")
                                               ->rule;
    model::place_child(c, rule, "target").set_attr("dev", name);
    return;
  }
}

const std::vector<std::string>& qemu_environment() {
  static const std::vector<std::string> env = {"LC_ALL=C",
                                               "PATH=/usr/sbin:/usr/bin:/sbin:/bin"};
  return env;
}

std::string shell_line(const std::vector<std::string>& env,
                       const std::vector<std::string>& argv) {
  std::string out;
  auto word = [&](const std::string& w) {
    if (!out.empty())
      out += ' ';
    if (!w.empty() &&
        w.find_first_of(" \t\r\n!\"#$&'()*;<>?[\\]^`{|}~") == std::string::npos) {
      out += w;
      return;
    }
    out += '\'';
    for (char c : w)
      out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    out += '\'';
  };
  for (const auto& e : env)
    word(e);
  for (const auto& a : argv)
    word(a);
  return out;
}

namespace {
// The first VNC display of a root element, const or not.
template <class Node> Node* first_vnc(Node& root) {
  Node* devs = root.child("devices");
  if (!devs)
    return nullptr;
  for (auto& c : devs->children)
    if (!c.is_text && c.name == "graphics" && attr_or(c, "type") == "vnc")
      return &c;
  return nullptr;
}
} // namespace

int vnc_port(const model::domain_def& def) {
  auto* g = first_vnc(def.root());
  if (!g)
    return -1;
  if (attr_or(*g, "autoport", attr_or(*g, "port", "-1") == "-1" ? "yes" : "no") == "yes")
    return 0;
  return std::atoi(attr_or(*g, "port", "-1").c_str());
}

void set_vnc_port(model::domain_def& def, int port) {
  if (auto* g = first_vnc(def.root())) {
    g->set_attr("port", std::to_string(port));
    if (!g->attr("autoport"))
      g->set_attr("autoport", "yes");
  }
}

bool has_balloon(const model::domain_def& def) {
  const xml_node* devs = def.root().child("devices");
  const xml_node* b = devs ? devs->child("memballoon") : nullptr;
  return b && attr_or(*b, "model", "virtio") == "virtio";
}

std::string vnc_password(const model::domain_def& def) {
  auto* g = first_vnc(def.root());
  return g ? attr_or(*g, "passwd") : "";
}

std::vector<std::string> driver_made_channels(const model::domain_def& def) {
  std::vector<std::string> out;
  const xml_node* devs = def.root().child("devices");
  if (!devs)
    return out;
  for (const auto& c : devs->children) {
    if (c.is_text || c.name != "channel" || attr_or(c, "type") != "unix")
      continue;
    const xml_node* src = c.child("source");
    const xml_node* t = c.child("target");
    std::string name = t ? attr_or(*t, "name") : "";
    if ((!src || attr_or(*src, "path").empty()) && !name.empty() &&
        name.find('/') == std::string::npos && name != "." && name != "..")
      out.push_back(name);
  }
  return out;
}

std::vector<disk_file> disk_files(const model::domain_def& def) {
  std::vector<disk_file> out;
  const xml_node* devs = def.root().child("devices");
  if (!devs)
    return out;
  for (const auto& d : devs->children) {
    std::string type = d.is_text ? "" : attr_or(d, "type", "file");
    if (d.name != "disk" || (type != "file" && type != "block"))
      continue;
    const xml_node* src = d.child("source");
    std::string path = src ? attr_or(*src, type == "block" ? "dev" : "file") : "";
    if (path.empty())
      continue;
    const xml_node* t = d.child("target");
    out.push_back(
        {path, t ? attr_or(*t, "dev") : "",
         d.child("readonly") != nullptr || attr_or(d, "device", "disk") == "cdrom",
         d.child("shareable") != nullptr});
  }
  return out;
}

} // namespace domus::qemu_driver
