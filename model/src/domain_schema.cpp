// The domain schema: every element and attribute of a libvirt domain that Domus models,
// with value types and libvirt's output order. conf/schemas/domain.rng is written from
// it.
#include "domus/model/domain_schema.hpp"

#include "schema_build.hpp"

namespace domus::model {

namespace {

using namespace schema_build;

// Shared by every device.
struct common {
  const elem_rule* address =
      el("address",
         {{"type", oneof({"pci", "drive", "virtio-serial", "ccid", "usb", "spapr-vio",
                          "ccw", "virtio-mmio", "isa", "dimm", "unassigned"})},
          {"domain", &vt::hex_uint},
          {"controller", &vt::hex_uint},
          {"bus", &vt::hex_uint},
          {"target", &vt::hex_uint},
          {"slot", &vt::hex_uint},
          {"unit", &vt::hex_uint},
          {"function", &vt::hex_uint},
          {"port"},
          {"multifunction", &vt::on_off},
          {"reg", &vt::hex_uint},
          {"cssid", &vt::hex_uint},
          {"ssid", &vt::hex_uint},
          {"devno", &vt::hex_uint},
          {"iobase", &vt::hex_uint},
          {"irq", &vt::hex_uint},
          {"base", &vt::hex_uint}});
  const elem_rule* alias = el("alias", {req("name")});
  const elem_rule* boot = el("boot", {req("order", &vt::uint), {"loadparm"}});
  const value_type* chardev_type =
      oneof({"null", "vc", "pty", "dev", "file", "pipe", "stdio", "udp", "tcp", "unix",
             "spicevmc", "spiceport", "nmdm", "qemu-vdagent", "dbus"});
};

// A disk's backing chain: each layer's format and source, then the layer below it.
const elem_rule* backing_store(const elem_rule* source) {
  auto* b = el("backingStore", {{"type", oneof({"file", "block", "dir", "network",
                                                "volume", "nvme", "vhostuser"})},
                                {"index", &vt::uint}});
  b->children = {el("format", {req("type")}, {kept("metadata_cache")}), source,
                 child_rule(b)};
  return b;
}

const elem_rule* disk(const common& c) {
  auto* source =
      el("source",
         {{"file"},
          {"dev"},
          {"dir"},
          {"pool"},
          {"volume"},
          {"protocol", oneof({"nbd", "iscsi", "rbd", "sheepdog", "gluster", "http",
                              "https", "ftp", "ftps", "tftp", "ssh", "vxhs", "nfs"})},
          {"name"},
          {"query"},
          {"mode"},
          {"startupPolicy", oneof({"mandatory", "requisite", "optional"})},
          {"index", &vt::uint}},
         {many(el("host", {{"name"},
                           {"port", &vt::uint},
                           {"transport", oneof({"tcp", "unix", "rdma"})},
                           {"socket"}})),
          kept("auth"), many(kept("seclabel")), kept("reservations"), kept("encryption"),
          kept("slices")});
  auto* iotune = el("iotune");
  for (auto n : {"total_bytes_sec", "read_bytes_sec", "write_bytes_sec", "total_iops_sec",
                 "read_iops_sec", "write_iops_sec", "total_bytes_sec_max",
                 "read_bytes_sec_max", "write_bytes_sec_max", "total_iops_sec_max",
                 "read_iops_sec_max", "write_iops_sec_max", "size_iops_sec"})
    iotune->children.emplace_back(value(n, &vt::uint));
  iotune->children.emplace_back(value("group_name"));
  for (auto n : {"total_bytes_sec_max_length", "read_bytes_sec_max_length",
                 "write_bytes_sec_max_length", "total_iops_sec_max_length",
                 "read_iops_sec_max_length", "write_iops_sec_max_length"})
    iotune->children.emplace_back(value(n, &vt::uint));
  return el(
      "disk",
      {{"type",
        oneof({"file", "block", "dir", "network", "volume", "nvme", "vhostuser"})},
       {"device", oneof({"disk", "cdrom", "floppy", "lun"})},
       {"model", oneof({"virtio", "virtio-transitional", "virtio-non-transitional",
                        "usb-storage", "usb-bot", "usb-uas"})},
       {"rawio", &vt::yes_no},
       {"sgio", oneof({"filtered", "unfiltered"})},
       {"snapshot", oneof({"no", "internal", "external", "manual"})}},
      {el("driver", {{"name"},
                     {"type"},
                     {"cache",
                      oneof({"default", "none", "writethrough", "writeback", "directsync",
                             "unsafe"}),
                      false, "default"},
                     {"error_policy", oneof({"stop", "report", "ignore", "enospace"})},
                     {"rerror_policy", oneof({"stop", "report", "ignore"})},
                     {"io", oneof({"native", "threads", "io_uring"})},
                     {"ioeventfd", &vt::on_off},
                     {"event_idx", &vt::on_off},
                     {"copy_on_read", &vt::on_off},
                     {"discard", oneof({"unmap", "ignore"})},
                     {"iothread", &vt::uint},
                     {"detect_zeroes", oneof({"off", "on", "unmap"})},
                     {"queues", &vt::uint},
                     {"queue_size", &vt::uint}}),
       kept("auth"),
       source,
       backing_store(source),
       kept("backenddomain"),
       kept("geometry"),
       el("blockio", {{"logical_block_size", &vt::uint},
                      {"physical_block_size", &vt::uint},
                      {"discard_granularity", &vt::uint}}),
       kept("mirror"),
       required(el("target", {req("dev"),
                              {"bus", oneof({"ide", "scsi", "virtio", "xen", "usb", "uml",
                                             "sata", "sd", "fdc", "none"})},
                              {"tray", oneof({"open", "closed"})},
                              {"removable", &vt::on_off},
                              {"rotation_rate", &vt::uint}})),
       iotune,
       el("readonly"),
       el("shareable"),
       el("transient", {{"shareBacking", &vt::yes_no}}),
       value("serial"),
       value("wwn"),
       value("vendor"),
       value("product"),
       kept("encryption"),
       c.boot,
       c.alias,
       c.address});
}

const elem_rule* controller(const common& c) {
  return el("controller",
            {req("type", oneof({"ide", "fdc", "scsi", "sata", "usb", "ccid",
                                "virtio-serial", "pci", "xenbus", "isa", "nvme"})),
             {"index", &vt::uint},
             {"model"},
             {"ports", &vt::uint},
             {"vectors", &vt::uint},
             {"maxGrantFrames", &vt::uint},
             {"maxEventChannels", &vt::uint}},
            {el("model", {{"name"}}),
             el("driver", {{"queues", &vt::uint},
                           {"cmd_per_lun", &vt::uint},
                           {"max_sectors", &vt::uint},
                           {"ioeventfd", &vt::on_off},
                           {"iothread", &vt::uint}}),
             el("target",
                {{"chassisNr", &vt::uint},
                 {"chassis", &vt::uint},
                 {"port", &vt::hex_uint},
                 {"busNr", &vt::uint},
                 {"hotplug", &vt::on_off},
                 {"index", &vt::uint},
                 {"memReserve", &vt::uint}},
                {value("node", &vt::uint)}),
             size("pcihole64"), c.alias, el("master", {{"startport", &vt::uint}}),
             c.address});
}

const elem_rule* interface(const common& c) {
  return el(
      "interface",
      {req("type",
           oneof({"ethernet", "network", "bridge", "user", "direct", "hostdev", "mcast",
                  "server", "client", "udp", "vhostuser", "vdpa", "null", "vds"})),
       {"managed", &vt::yes_no},
       {"trustGuestRxFilters", &vt::yes_no}},
      {el("mac", {req("address", &vt::mac), {"type", oneof({"generated", "static"})}}),
       el("source",
          {{"network"},
           {"portgroup"},
           {"bridge"},
           {"dev"},
           {"type"},
           {"path"},
           {"mode"},
           {"address"},
           {"port", &vt::uint}},
          {el("local", {{"address"}, {"port", &vt::uint}})}),
       kept("vlan"),
       kept("virtualport"),
       kept("bandwidth"),
       many(el("ip", {req("address"),
                      {"family", oneof({"ipv4", "ipv6"})},
                      {"prefix", &vt::uint},
                      {"peer"}})),
       many(kept("route")),
       el("script", {req("path")}),
       el("downscript", {req("path")}),
       kept("backenddomain"),
       el("target", {req("dev"), {"managed", &vt::yes_no}}),
       el("guest", {{"dev"}}),
       el("model", {req("type")}),
       kept("driver"),
       kept("backend"),
       kept("filterref"),
       el("tune", {}, {value("sndbuf", &vt::uint)}),
       kept("teaming"),
       el("link", {req("state", oneof({"up", "down"}))}),
       el("mtu", {req("size", &vt::uint)}),
       kept("coalesce"),
       c.boot,
       el("rom", {{"bar", &vt::on_off}, {"file"}, {"enabled", &vt::yes_no}}),
       c.alias,
       c.address});
}

// serial, parallel, console and channel share the character device's shape.
const elem_rule* chardev(const common& c, std::string_view name,
                         const value_type* target_type) {
  return el(
      name, {{"type", c.chardev_type}, {"tty"}},
      {many(el("source",
               {{"mode", oneof({"bind", "connect"})},
                {"path"},
                {"host"},
                {"service"},
                {"append", &vt::on_off},
                {"channel"},
                {"master"},
                {"slave"}},
               {kept("seclabel"), kept("reconnect")})),
       el("protocol", {req("type", oneof({"raw", "telnet", "telnets", "tls"}))}),
       kept("log"),
       el("target",
          {{"type", target_type}, {"address"}, {"port", &vt::uint}, {"name"}, {"state"}},
          {el("model", {req("name")})}),
       c.boot, c.alias, c.address});
}

const elem_rule* graphics(const common& c) {
  return el(
      "graphics",
      {req("type",
           oneof({"sdl", "vnc", "spice", "rdp", "desktop", "egl-headless", "dbus"})),
       {"display"},
       {"xauth"},
       {"fullscreen", &vt::yes_no},
       {"port", &vt::sint},
       {"tlsPort", &vt::sint},
       {"autoport", &vt::yes_no},
       {"websocket", &vt::sint},
       {"listen"},
       {"sharePolicy", oneof({"allow-exclusive", "force-shared", "ignore"})},
       secret("passwd"),
       {"passwdValidTo"},
       {"connected", oneof({"keep", "disconnect", "fail"})},
       {"keymap"},
       {"defaultMode", oneof({"any", "secure", "insecure"})},
       {"socket"},
       {"powerControl", &vt::yes_no},
       {"multiUser", &vt::yes_no}},
      {many(el("listen", {req("type", oneof({"address", "network", "socket", "none"})),
                          {"address"},
                          {"network"},
                          {"socket"}})),
       many(el("channel",
               {req("name"), req("mode", oneof({"any", "secure", "insecure"}))})),
       el("image", {req("compression")}), el("jpeg", {req("compression")}),
       el("zlib", {req("compression")}),
       el("playback", {req("compression", &vt::on_off)}),
       el("streaming", {req("mode", oneof({"filter", "all", "off"}))}),
       el("clipboard", {req("copypaste", &vt::yes_no)}),
       el("mouse", {req("mode", oneof({"server", "client"}))}),
       el("filetransfer", {req("enable", &vt::yes_no)}),
       el("gl", {req("enable", &vt::yes_no), {"rendernode"}}),
       el("audio", {req("id", &vt::uint)})});
}

const elem_rule* devices(const common& c) {
  return el(
      "devices", {},
      {value("emulator"),
       many(disk(c)),
       many(controller(c)),
       many(kept("lease")),
       many(kept("filesystem")),
       many(interface(c)),
       many(el("smartcard",
               {req("mode", oneof({"host", "host-certificates", "passthrough"})),
                {"type", c.chardev_type}},
               {many(value("certificate")), value("database"), many(kept("source")),
                kept("protocol"), c.alias, c.address})),
       many(chardev(c, "serial",
                    oneof({"isa-serial", "usb-serial", "pci-serial", "spapr-vio-serial",
                           "system-serial", "sclp-serial", "isa-debug"}))),
       many(chardev(c, "parallel", &vt::text)),
       many(chardev(
           c, "console",
           oneof({"serial", "virtio", "xen", "uml", "sclp", "sclplm", "lxc", "openvz"}))),
       many(chardev(c, "channel", oneof({"virtio", "guestfwd", "xen"}))),
       many(el(
           "input",
           {req("type", oneof({"tablet", "mouse", "keyboard", "passthrough", "evdev"})),
            {"bus", oneof({"ps2", "usb", "xen", "virtio", "none"})},
            {"model"}},
           {el("source", {{"evdev"}, {"dev"}, {"grab"}, {"grabToggle"}, {"repeat"}}),
            kept("driver"), c.alias, c.address})),
       many(kept("tpm")),
       many(graphics(c)),
       many(el("sound",
               {req("model", oneof({"sb16", "es1370", "pcspk", "ac97", "ich6", "ich7",
                                    "ich9", "usb"})),
                {"multichannel", &vt::yes_no}},
               {many(el("codec", {req("type", oneof({"duplex", "micro", "output"}))})),
                el("audio", {req("id", &vt::uint)}), c.alias, c.address})),
       many(el("audio",
               {req("id", &vt::uint),
                req("type", oneof({"none", "alsa", "coreaudio", "dbus", "jack", "oss",
                                   "pulseaudio", "sdl", "spice", "file"})),
                {"timerPeriod", &vt::uint}},
               {kept("input"), kept("output")})),
       many(el("video", {},
               {el("model",
                   {req("type", oneof({"vga", "cirrus", "vmvga", "xen", "vbox", "qxl",
                                       "virtio", "gop", "bochs", "ramfb", "none"})),
                    {"ram", &vt::uint},
                    {"vram", &vt::uint},
                    {"vram64", &vt::uint},
                    {"vgamem", &vt::uint},
                    {"heads", &vt::uint},
                    {"primary", &vt::yes_no},
                    {"blob", &vt::on_off}},
                   {kept("acceleration"), kept("resolution")}),
                kept("driver"), c.alias, c.address})),
       many(kept("hostdev")),
       many(kept("redirdev")),
       kept("redirfilter"),
       many(el("hub", {req("type", oneof({"usb"}))}, {c.alias, c.address})),
       many(el("watchdog",
               {req("model", oneof({"i6300esb", "ib700", "diag288", "itco"})),
                {"action", oneof({"reset", "shutdown", "poweroff", "pause", "none",
                                  "dump", "inject-nmi"})}},
               {c.alias, c.address})),
       el("memballoon",
          {req("model", oneof({"virtio", "xen", "none", "virtio-transitional",
                               "virtio-non-transitional"})),
           {"autodeflate", &vt::on_off},
           {"freePageReporting", &vt::on_off}},
          {el("stats", {req("period", &vt::uint)}), kept("driver"), c.alias, c.address}),
       many(el("rng",
               {req("model",
                    oneof({"virtio", "virtio-transitional", "virtio-non-transitional"}))},
               {el("rate", {req("bytes", &vt::uint), {"period", &vt::uint}}),
                required(new elem_rule{
                    "backend",
                    {req("model", oneof({"random", "egd", "builtin"})), {"type"}},
                    &vt::text,
                    {},
                    content::normal,
                    {}}),
                kept("driver"), c.alias, c.address})),
       many(kept("nvram")),
       many(el("panic",
               {{"model", oneof({"isa", "pseries", "hyperv", "s390", "pvpanic"})}},
               {c.alias, c.address})),
       many(kept("shmem")),
       many(kept("memory")),
       kept("iommu"),
       kept("vsock"),
       many(kept("crypto")),
       kept("pstore")});
}

const elem_rule* os() {
  return el(
      "os", {{"firmware", oneof({"bios", "efi"})}},
      {required(value("type", &vt::text, {{"arch"}, {"machine"}})),
       kept("firmware"),
       new elem_rule{"loader",
                     {{"readonly", &vt::yes_no},
                      {"secure", &vt::yes_no},
                      {"type", oneof({"rom", "pflash"})},
                      {"format", oneof({"raw", "qcow2"})}},
                     &vt::text,
                     {},
                     content::normal,
                     {}},
       value("nvram", &vt::text, {{"template"}, {"format", oneof({"raw", "qcow2"})}}),
       value("init"),
       many(value("initarg")),
       many(value("initenv", &vt::text, {req("name")})),
       value("initdir"),
       value("inituser"),
       value("initgroup"),
       value("kernel"),
       value("initrd"),
       value("cmdline"),
       value("shim"),
       value("dtb"),
       value("root"),
       many(kept("acpi")),
       many(el("boot", {req("dev", oneof({"fd", "hd", "cdrom", "network"}))})),
       el("bootmenu", {req("enable", &vt::yes_no), {"timeout", &vt::uint}}),
       el("smbios", {req("mode", oneof({"emulate", "host", "sysinfo"}))}),
       el("bios", {{"useserial", &vt::yes_no}, {"rebootTimeout", &vt::sint}})});
}

const elem_rule* features() {
  auto* state = oneof({"on", "off"});
  // In libvirt's order of features.
  auto* f = el("features");
  auto on_off_state = [&](std::string_view n) {
    f->children.emplace_back(el(n, {{"state", state}}));
  };
  auto opaque = [&](std::string_view n) { f->children.emplace_back(kept(n)); };
  on_off_state("acpi");
  f->children.emplace_back(el("apic", {{"eoi", state}}));
  for (auto n : {"pae", "hap", "viridian", "privnet"})
    on_off_state(n);
  opaque("hyperv");
  opaque("kvm");
  on_off_state("pvspinlock");
  opaque("capabilities");
  on_off_state("pmu");
  on_off_state("vmport");
  f->children.emplace_back(el("gic", {{"version"}}));
  on_off_state("smm");
  f->children.emplace_back(el("ioapic", {{"driver", oneof({"qemu", "kvm"})}}));
  opaque("hpt");
  on_off_state("vmcoreinfo");
  on_off_state("htm");
  on_off_state("nested-hv");
  opaque("msrs");
  on_off_state("ccf-assist");
  opaque("xen");
  for (auto n : {"cfpc", "sbbc", "ibs", "tcg"})
    opaque(n);
  f->children.emplace_back(el("async-teardown", {{"enabled", &vt::yes_no}}));
  on_off_state("ps2");
  return f;
}

const elem_rule* cpu() {
  auto* numa = el("numa", {},
                  {many(el("cell",
                           {{"id", &vt::uint},
                            {"cpus", &vt::cpuset},
                            req("memory", &vt::uint),
                            {"unit"},
                            {"memAccess", oneof({"shared", "private"})},
                            {"discard", &vt::yes_no}},
                           {kept("distances"), many(kept("cache"))})),
                   many(kept("interconnects"))});
  return el(
      "cpu",
      {{"mode", oneof({"custom", "host-model", "host-passthrough", "maximum"})},
       {"match", oneof({"minimum", "exact", "strict"})},
       {"check", oneof({"none", "partial", "full"})},
       {"migratable", &vt::on_off}},
      {new elem_rule{"model",
                     {{"fallback", oneof({"allow", "forbid"})}, {"vendor_id"}},
                     &vt::text,
                     {},
                     content::normal,
                     {}},
       value("vendor"),
       el("topology", {{"sockets", &vt::uint},
                       {"dies", &vt::uint},
                       {"clusters", &vt::uint},
                       {"cores", &vt::uint},
                       {"threads", &vt::uint}}),
       kept("cache"), kept("maxphysaddr"),
       many(el("feature",
               {{"policy", oneof({"force", "require", "optional", "disable", "forbid"})},
                req("name")})),
       numa});
}

const elem_rule* cputune() {
  auto* sched = oneof({"batch", "idle", "fifo", "rr"});
  return el(
      "cputune", {},
      {value("shares", &vt::uint), value("period", &vt::uint), value("quota", &vt::sint),
       value("global_period", &vt::uint), value("global_quota", &vt::sint),
       value("emulator_period", &vt::uint), value("emulator_quota", &vt::sint),
       value("iothread_period", &vt::uint), value("iothread_quota", &vt::sint),
       many(el("vcpupin", {req("vcpu", &vt::uint), req("cpuset", &vt::cpuset)})),
       el("emulatorpin", {req("cpuset", &vt::cpuset)}),
       many(el("iothreadpin", {req("iothread", &vt::uint), req("cpuset", &vt::cpuset)})),
       el("emulatorsched", {req("scheduler", sched), {"priority", &vt::sint}}),
       many(el("vcpusched", {req("vcpus", &vt::cpuset),
                             req("scheduler", sched),
                             {"priority", &vt::sint}})),
       many(el("iothreadsched", {req("iothreads", &vt::cpuset),
                                 req("scheduler", sched),
                                 {"priority", &vt::sint}})),
       many(kept("cachetune")), many(kept("memorytune"))});
}

const elem_rule* sysinfo() {
  auto entries = [](std::string_view name) {
    return el(name, {}, {many(value("entry", &vt::text, {req("name")}))});
  };
  return el("sysinfo", {req("type", oneof({"smbios", "fwcfg"}))},
            {entries("bios"), entries("system"), many(entries("baseBoard")),
             entries("chassis"), many(entries("processor")), many(entries("memory")),
             el("oemStrings", {}, {many(value("entry"))}), many(kept("entry"))});
}

const elem_rule* lifecycle(std::string_view name, bool crash) {
  return value(name, crash ? oneof({"destroy", "restart", "preserve", "rename-restart",
                                    "coredump-destroy", "coredump-restart"})
                           : oneof({"destroy", "restart", "preserve", "rename-restart"}));
}

elem_rule* build() {
  common c;
  auto* memtune = el("memtune", {},
                     {size("hard_limit"), size("soft_limit"), size("swap_hard_limit"),
                      size("min_guarantee")});
  auto* blkiotune =
      el("blkiotune", {},
         {value("weight", &vt::uint),
          many(el("device", {},
                  {required(value("path")), value("weight", &vt::uint),
                   value("read_iops_sec", &vt::uint), value("write_iops_sec", &vt::uint),
                   value("read_bytes_sec", &vt::uint),
                   value("write_bytes_sec", &vt::uint)}))});
  auto* memory_backing =
      el("memoryBacking", {},
         {el("hugepages", {},
             {many(el("page",
                      {req("size", &vt::uint), {"unit"}, {"nodeset", &vt::cpuset}}))}),
          el("nosharepages"), el("locked"),
          el("source", {req("type", oneof({"file", "anonymous", "memfd"}))}),
          el("access", {req("mode", oneof({"shared", "private"}))}),
          el("allocation",
             {{"mode", oneof({"immediate", "ondemand"})}, {"threads", &vt::uint}}),
          el("discard")});
  auto* numatune = el(
      "numatune", {},
      {el("memory",
          {{"mode", oneof({"strict", "preferred", "interleave", "restrictive"})},
           {"placement", oneof({"static", "auto"})},
           {"nodeset", &vt::cpuset}}),
       many(el("memnode",
               {req("cellid", &vt::uint),
                req("mode", oneof({"strict", "preferred", "interleave", "restrictive"})),
                req("nodeset", &vt::cpuset)}))});
  auto* clock = el(
      "clock",
      {{"offset", oneof({"utc", "localtime", "timezone", "variable", "absolute"})},
       {"timezone"},
       {"adjustment"},
       {"basis", oneof({"utc", "localtime"})},
       {"start", &vt::uint}},
      {many(el(
          "timer",
          {req("name", oneof({"platform", "pit", "rtc", "hpet", "tsc", "kvmclock",
                              "hypervclock", "armvtimer"})),
           {"present", &vt::yes_no},
           {"tickpolicy", oneof({"delay", "catchup", "merge", "discard"})},
           {"track", oneof({"boot", "guest", "wall", "realtime"})},
           {"frequency", &vt::uint},
           {"mode", oneof({"auto", "native", "emulate", "paravirt", "smpsafe"})}},
          {el("catchup",
              {{"threshold", &vt::uint}, {"slew", &vt::uint}, {"limit", &vt::uint}})}))});
  auto* pm = el("pm", {},
                {el("suspend-to-mem", {{"enabled", &vt::yes_no}}),
                 el("suspend-to-disk", {{"enabled", &vt::yes_no}})});
  return el("domain",
            // The hypervisor type is open: each driver plugin says which types it serves.
            {req("type"), {"id", &vt::sint}},
            {required(value("name")),
             value("uuid", &vt::uuid),
             kept("genid"),
             value("title"),
             value("description"),
             kept("metadata"),
             size("maxMemory", {{"slots", &vt::uint}}),
             size("memory", {{"dumpCore", &vt::on_off}}),
             size("currentMemory"),
             blkiotune,
             memtune,
             memory_backing,
             value("vcpu", &vt::uint,
                   {{"placement", oneof({"static", "auto"})},
                    {"cpuset", &vt::cpuset},
                    {"current", &vt::uint}}),
             kept("vcpus"),
             value("iothreads", &vt::uint),
             el("iothreadids", {}, {many(el("iothread", {req("id", &vt::uint)}))}),
             kept("defaultiothread"),
             cputune(),
             numatune,
             kept("resource"),
             sysinfo(),
             value("bootloader"),
             value("bootloader_args"),
             required(os()),
             kept("idmap"),
             features(),
             cpu(),
             clock,
             lifecycle("on_poweroff", false),
             lifecycle("on_reboot", false),
             lifecycle("on_crash", true),
             value("on_lockfailure", oneof({"poweroff", "restart", "pause", "ignore"})),
             pm,
             kept("perf"),
             devices(c),
             many(el("seclabel",
                     {{"type", oneof({"dynamic", "static", "none"})},
                      {"model"},
                      {"relabel", &vt::yes_no}},
                     {value("label"), value("imagelabel"), value("baselabel")})),
             kept("keywrap"),
             kept("launchSecurity")});
}

} // namespace

const elem_rule& domain_schema() {
  static const elem_rule* root = index_rules(build());
  return *root;
}

} // namespace domus::model
