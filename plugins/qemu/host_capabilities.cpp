// `virsh capabilities` for the QEMU driver: the host as /proc and /sys show it, and the
// guests the probed emulator runs (libvirt's format, its element order).
#include "qemu_caps.hpp"

#include <domus/model/xml_tree.hpp>

#include <fstream>
#include <sstream>
#include <sys/utsname.h>
#include <unistd.h>

namespace domus::qemu_driver {

namespace {

std::string read_line(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

// /etc/machine-id (32 hex digits) as a UUID; libvirt reads the SMBIOS one, which needs
// root and dmidecode: this one is stable per host all the same.
std::string host_uuid() {
  std::string id = read_line("/etc/machine-id");
  if (id.size() != 32)
    return "";
  return id.substr(0, 8) + "-" + id.substr(8, 4) + "-" + id.substr(12, 4) + "-" +
         id.substr(16, 4) + "-" + id.substr(20);
}

std::string cpu_vendor() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("vendor_id", 0) == 0) {
      if (line.find("AuthenticAMD") != std::string::npos)
        return "AMD";
      if (line.find("GenuineIntel") != std::string::npos)
        return "Intel";
      return "";
    }
  return "";
}

} // namespace

uint64_t host_memory_kib() {
  std::ifstream in("/proc/meminfo");
  std::string key;
  uint64_t kib = 0;
  while (in >> key) {
    if (key == "MemTotal:") {
      in >> kib;
      return kib;
    }
    in.ignore(1 << 20, '\n');
  }
  return 0;
}

std::string capabilities_xml(const qemu_caps& caps, bool kvm) {
  utsname u{};
  ::uname(&u);
  long cpus = ::sysconf(_SC_NPROCESSORS_ONLN);
  std::ostringstream o;
  o << "<capabilities>\n\n  <host>\n";
  std::string uuid = host_uuid();
  if (!uuid.empty())
    o << "    <uuid>" << uuid << "</uuid>\n";
  o << "    <cpu>\n      <arch>" << u.machine << "</arch>\n";
  std::string vendor = cpu_vendor();
  if (!vendor.empty())
    o << "      <vendor>" << vendor << "</vendor>\n";
  o << "      <topology sockets='1' dies='1' cores='" << cpus << "' threads='1'/>\n"
    << "      <pages unit='KiB' size='4'/>\n      <pages unit='KiB' size='2048'/>\n"
    << "      <pages unit='KiB' size='1048576'/>\n    </cpu>\n"
    << "    <power_management/>\n    <iommu support='no'/>\n"
    << "    <topology>\n      <cells num='1'>\n        <cell id='0'>\n"
    << "          <memory unit='KiB'>" << host_memory_kib() << "</memory>\n"
    << "          <cpus num='" << cpus << "'>\n";
  for (long i = 0; i < cpus; ++i)
    o << "            <cpu id='" << i << "' socket_id='0' die_id='0' core_id='" << i
      << "' siblings='" << i << "'/>\n";
  o << "          </cpus>\n        </cell>\n      </cells>\n    </topology>\n"
    << "    <secmodel>\n      <model>none</model>\n      <doi>0</doi>\n    </secmodel>\n"
    << "  </host>\n\n";
  o << "  <guest>\n    <os_type>hvm</os_type>\n    <arch name='" << caps.arch << "'>\n"
    << "      <wordsize>64</wordsize>\n      <emulator>" << model::escaped_xml(caps.path)
    << "</emulator>\n";
  // The default machine first, as libvirt lists it; each alias after its machine.
  auto machine = [&](const machine_info& m) {
    o << "      <machine maxCpus='" << m.max_cpus << "'>" << m.name << "</machine>\n";
    if (!m.alias.empty())
      o << "      <machine canonical='" << m.name << "' maxCpus='" << m.max_cpus << "'>"
        << m.alias << "</machine>\n";
  };
  const machine_info* first = caps.default_machine();
  if (first)
    machine(*first);
  for (const auto& m : caps.machines)
    if (&m != first)
      machine(m);
  o << "      <domain type='qemu'/>\n";
  if (kvm)
    o << "      <domain type='kvm'/>\n";
  o << "    </arch>\n    <features>\n      <acpi default='on' toggle='yes'/>\n"
    << "      <apic default='on' toggle='no'/>\n      <cpuselection/>\n"
    << "      <deviceboot/>\n      <disksnapshot default='on' toggle='no'/>\n"
    << "    </features>\n  </guest>\n\n</capabilities>\n";
  return o.str();
}

} // namespace domus::qemu_driver
