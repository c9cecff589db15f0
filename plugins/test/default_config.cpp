#include "test_state.hpp"

namespace domus::test_driver {

uint32_t node_facts::cpus() const {
  uint32_t all = nodes * sockets * cores * threads;
  return active_cpus && active_cpus < all ? active_cpus : all;
}

seed default_seed() {
  seed s;
  // libvirt's mock: 2 GiB and 4 GiB cells of 8 CPUs, the second with 8 KiB pages.
  s.node.cells = {{2097152, {{4, 524288}, {2048, 0}, {1048576, 0}}, 8},
                  {4194304, {{8, 524288}, {2048, 0}, {1048576, 0}}, 8}};
  seed_object dom;
  dom.kind = DOMUS_OBJECT_DOMAIN;
  dom.state = DOMUS_STATE_RUNNING;
  dom.origin = "test:///default";
  dom.xml = R"(<domain type='test'>
  <name>test</name>
  <uuid>6695eb01-f6a4-8304-79aa-97f2502e193f</uuid>
  <memory unit='KiB'>8388608</memory>
  <currentMemory unit='KiB'>2097152</currentMemory>
  <vcpu placement='static'>2</vcpu>
  <os>
    <type arch='i686'>hvm</type>
    <boot dev='hd'/>
  </os>
  <clock offset='utc'/>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <disk type='file' device='disk'>
      <source file='/guest/diskimage1'/>
      <target dev='vda' bus='virtio'/>
      <address type='pci' domain='0x0000' bus='0x01' slot='0x00' function='0x0'/>
    </disk>
    <interface type='network'>
      <mac address='aa:bb:cc:dd:ee:ff'/>
      <source network='default'/>
      <target dev='testnet0'/>
      <address type='pci' domain='0x0000' bus='0x00' slot='0x01' function='0x0'/>
    </interface>
    <memballoon model='virtio'>
      <address type='pci' domain='0x0000' bus='0x00' slot='0x02' function='0x0'/>
    </memballoon>
  </devices>
</domain>
)";
  s.objects.push_back(dom);

  seed_object net;
  net.kind = DOMUS_OBJECT_NETWORK;
  net.state = DOMUS_STATE_RUNNING;
  net.origin = "test:///default";
  net.xml = R"(<network>
  <name>default</name>
  <uuid>dd8fe884-6c02-601e-7551-cca97df1c5df</uuid>
  <forward mode='nat'/>
  <bridge name='virbr0' stp='on' delay='0'/>
  <ip address='192.168.122.1' netmask='255.255.255.0'>
    <dhcp>
      <range start='192.168.122.2' end='192.168.122.254'/>
    </dhcp>
  </ip>
</network>
)";
  s.objects.push_back(net);

  seed_object pool;
  pool.kind = DOMUS_OBJECT_POOL;
  pool.state = DOMUS_POOL_RUNNING;
  pool.origin = "test:///default";
  pool.xml = R"(<pool type='dir'>
  <name>default-pool</name>
  <uuid>dfe224cb-28fb-8dd0-c4b2-64eb3f0f4566</uuid>
  <capacity unit='bytes'>107374182400</capacity>
  <allocation unit='bytes'>0</allocation>
  <available unit='bytes'>107374182400</available>
  <source>
  </source>
  <target>
    <path>/default-pool</path>
  </target>
</pool>
)";
  s.objects.push_back(pool);
  return s;
}

} // namespace domus::test_driver
