// `virsh capabilities` of libvirt's mock hypervisor: an i686 host with PAE, the page
// sizes its cells use, the mock's security model, and hvm and xen guests of type test.
#include "test_state.hpp"

namespace domus::test_driver {

namespace {

const char* const page_sizes_kib[] = {"4", "8", "2048", "1048576"};

void add_cell(std::string& out, size_t index, const numa_cell& cell, uint32_t first_cpu) {
  std::string id = std::to_string(index);
  out += "        <cell id='" + id + "'>\n";
  out +=
      "          <memory unit='KiB'>" + std::to_string(cell.memory_kib) + "</memory>\n";
  for (auto& [size, count] : cell.pages)
    out += "          <pages unit='KiB' size='" + std::to_string(size) + "'>" +
           std::to_string(count) + "</pages>\n";
  out += "          <cpus num='" + std::to_string(cell.cpus) + "'>\n";
  for (uint32_t core = 0; core < cell.cpus; ++core) {
    std::string cpu = std::to_string(first_cpu + core);
    out += "            <cpu id='" + cpu + "' socket_id='" + id +
           "' die_id='0' core_id='" + std::to_string(core) + "' siblings='" + cpu +
           "'/>\n";
  }
  out += "          </cpus>\n";
  out += "        </cell>\n";
}

void add_guest(std::string& out, const char* os_type) {
  out += "  <guest>\n";
  out += std::string("    <os_type>") + os_type + "</os_type>\n";
  out += "    <arch name='i686'>\n";
  out += "      <wordsize>32</wordsize>\n";
  out += "      <emulator>/usr/bin/test-hv</emulator>\n";
  out += "      <domain type='test'/>\n";
  out += "    </arch>\n";
  out += "    <features>\n";
  out += "      <pae/>\n";
  out += "      <nonpae/>\n";
  out += "    </features>\n";
  out += "  </guest>\n\n";
}

} // namespace

std::string capabilities_xml(const node_facts& node) {
  std::string out = "<capabilities>\n\n  <host>\n    <cpu>\n      <arch>i686</arch>\n"
                    "      <features>\n        <pae/>\n        <nonpae/>\n"
                    "      </features>\n";
  for (auto size : page_sizes_kib)
    out += std::string("      <pages unit='KiB' size='") + size + "'/>\n";
  out += "    </cpu>\n    <power_management/>\n    <iommu support='no'/>\n";
  out +=
      "    <topology>\n      <cells num='" + std::to_string(node.cells.size()) + "'>\n";
  uint32_t cpu = 0;
  for (size_t i = 0; i < node.cells.size(); ++i) {
    add_cell(out, i, node.cells[i], cpu);
    cpu += node.cells[i].cpus;
  }
  out += "      </cells>\n    </topology>\n";
  out += "    <secmodel>\n      <model>testSecurity</model>\n      <doi></doi>\n"
         "    </secmodel>\n  </host>\n\n";
  add_guest(out, "hvm");
  add_guest(out, "xen");
  out += "</capabilities>\n";
  return out;
}

} // namespace domus::test_driver
