// `virsh domcapabilities` for the QEMU driver: what a domain of the queried emulator,
// machine and type can use, as far as this driver applies it (docs/qemu.md's table),
// not everything QEMU could do: a value listed here starts.
#include "qemu_caps.hpp"

#include <domus/errors.hpp>
#include <domus/model/xml_tree.hpp>

#include <sstream>

namespace domus::qemu_driver {

namespace {

void enumeration(std::ostringstream& o, const char* indent, const char* name,
                 std::initializer_list<const char*> values) {
  o << indent << "<enum name='" << name << "'>\n";
  for (const char* v : values)
    o << indent << "  <value>" << v << "</value>\n";
  o << indent << "</enum>\n";
}

} // namespace

std::string domain_capabilities_xml(const qemu_caps& caps, const domcaps_query& q,
                                    bool kvm_usable) {
  std::string arch = q.arch.empty() ? caps.arch : q.arch;
  if (arch != caps.arch)
    throw error(errc::invalid_argument, "the emulator " + caps.path +
                                            " runs architecture '" + caps.arch +
                                            "', not '" + arch + "'");
  const machine_info* m =
      q.machine.empty() ? caps.default_machine() : caps.find_machine(q.machine);
  if (!m)
    throw error(errc::invalid_argument, "the emulator " + caps.path +
                                            " has no machine type '" + q.machine +
                                            "' (it has: " + caps.machine_names() + ")");
  std::string type = q.virttype.empty() ? (kvm_usable ? "kvm" : "qemu") : q.virttype;
  if (type != "qemu" && type != "kvm")
    throw error(errc::invalid_argument,
                "the QEMU driver runs virtualization types 'qemu' "
                "and 'kvm', not '" +
                    type + "'");
  if (type == "kvm" && !kvm_usable)
    throw error(errc::invalid_argument,
                "KVM is not usable on this host (" + kvm_unusable() + ")");
  bool q35 = m->name.find("q35") != std::string::npos;
  std::ostringstream o;
  o << "<domainCapabilities>\n  <path>" << model::escaped_xml(caps.path) << "</path>\n"
    << "  <domain>" << type << "</domain>\n  <machine>" << m->name << "</machine>\n"
    << "  <arch>" << arch << "</arch>\n  <vcpu max='" << m->max_cpus << "'/>\n"
    << "  <iothreads supported='no'/>\n"
    << "  <os supported='yes'>\n    <loader supported='no'/>\n  </os>\n"
    << "  <cpu>\n    <mode name='host-passthrough' supported='"
    << (type == "kvm" ? "yes" : "no") << "'/>\n"
    << "    <mode name='maximum' supported='yes'/>\n"
    << "    <mode name='host-model' supported='no'/>\n"
    << "    <mode name='custom' supported='yes'>\n";
  for (const auto& model : caps.cpu_models)
    if (model != "host" && model != "max" && model != "base")
      o << "      <model usable='unknown'>" << model::escaped_xml(model) << "</model>\n";
  o << "    </mode>\n  </cpu>\n  <memoryBacking supported='no'/>\n  <devices>\n"
    << "    <disk supported='yes'>\n";
  enumeration(o, "      ", "diskDevice", {"disk", "cdrom"});
  if (q35)
    enumeration(o, "      ", "bus", {"virtio", "sata"});
  else
    enumeration(o, "      ", "bus", {"ide", "virtio"});
  enumeration(o, "      ", "model", {"virtio"});
  o << "    </disk>\n    <graphics supported='yes'>\n";
  enumeration(o, "      ", "type", {"vnc"});
  o << "    </graphics>\n    <video supported='yes'>\n";
  enumeration(o, "      ", "modelType",
              {"vga", "cirrus", "qxl", "virtio", "none", "bochs"});
  o << "    </video>\n    <hostdev supported='no'/>\n    <rng supported='yes'>\n";
  enumeration(o, "      ", "model", {"virtio"});
  enumeration(o, "      ", "backendModel", {"random"});
  o << "    </rng>\n    <filesystem supported='no'/>\n    <tpm supported='no'/>\n"
    << "    <redirdev supported='no'/>\n    <channel supported='yes'>\n";
  enumeration(o, "      ", "type", {"unix"});
  o << "    </channel>\n    <crypto supported='no'/>\n  </devices>\n  <features>\n"
    << "    <gic supported='no'/>\n    <vmcoreinfo supported='no'/>\n"
    << "    <genid supported='no'/>\n    <backingStoreInput supported='no'/>\n"
    << "    <backup supported='no'/>\n    <sev supported='no'/>\n"
    << "    <sgx supported='no'/>\n  </features>\n</domainCapabilities>\n";
  return o.str();
}

} // namespace domus::qemu_driver
