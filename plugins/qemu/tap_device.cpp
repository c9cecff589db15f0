#include "tap_device.hpp"

#include <domus/errors.hpp>

#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_arp.h>
#include <linux/if_tun.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <utility>

namespace domus::qemu_driver {

namespace {

// A descriptor closed when it goes out of scope unless released.
struct owned_fd {
  int fd = -1;
  ~owned_fd() {
    if (fd >= 0)
      ::close(fd);
  }
  int release() { return std::exchange(fd, -1); }
};

[[noreturn]] void failed(const std::string& what) {
  throw error(errc::operation_failed, what + ": " + std::strerror(errno));
}

ifreq request_for(const std::string& name) {
  ifreq r{};
  std::snprintf(r.ifr_name, sizeof r.ifr_name, "%s", name.c_str());
  return r;
}

} // namespace

tap_device make_tap(const std::string& name, const std::string& guest_mac,
                    const std::string& bridge, bool vnet_hdr) {
  if (name.size() >= IFNAMSIZ)
    throw error(errc::invalid_argument, "interface name '" + name + "' is longer than " +
                                            std::to_string(IFNAMSIZ - 1) + " bytes");
  owned_fd tun{::open("/dev/net/tun", O_RDWR | O_CLOEXEC)};
  if (tun.fd < 0)
    failed("cannot open /dev/net/tun to make a tap device");
  ifreq r = request_for(name.empty() ? "vnet%d" : name);
  r.ifr_flags = IFF_TAP | IFF_NO_PI | (vnet_hdr ? IFF_VNET_HDR : 0);
  if (::ioctl(tun.fd, TUNSETIFF, &r) < 0)
    failed("cannot make tap device '" + (name.empty() ? "vnetN" : name) + "'");
  std::string made = r.ifr_name;
  // The rest goes through an ordinary socket of this network namespace.
  owned_fd sock{::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)};
  if (sock.fd < 0)
    failed("tap device '" + made + "': socket");
  unsigned int b[6];
  if (std::sscanf(guest_mac.c_str(), "%x:%x:%x:%x:%x:%x", &b[0], &b[1], &b[2], &b[3],
                  &b[4], &b[5]) == 6) {
    ifreq mac = request_for(made);
    mac.ifr_hwaddr.sa_family = ARPHRD_ETHER;
    mac.ifr_hwaddr.sa_data[0] = static_cast<char>(0xfe);
    for (int i = 1; i < 6; ++i)
      mac.ifr_hwaddr.sa_data[i] = static_cast<char>(b[i]);
    if (::ioctl(sock.fd, SIOCSIFHWADDR, &mac) < 0)
      failed("tap device '" + made + "': cannot set its MAC address");
  }
  if (!bridge.empty()) {
    if (bridge.size() >= IFNAMSIZ)
      throw error(errc::invalid_argument, "bridge name '" + bridge + "' is too long");
    ifreq index = request_for(made);
    if (::ioctl(sock.fd, SIOCGIFINDEX, &index) < 0)
      failed("tap device '" + made + "': its index");
    ifreq mtu = request_for(bridge);
    if (::ioctl(sock.fd, SIOCGIFMTU, &mtu) < 0) {
      if (errno == ENODEV)
        throw error(errc::operation_failed, "bridge '" + bridge + "' does not exist");
      failed("bridge '" + bridge + "'");
    }
    ifreq own = request_for(made);
    own.ifr_mtu = mtu.ifr_mtu;
    if (::ioctl(sock.fd, SIOCSIFMTU, &own) < 0)
      failed("tap device '" + made + "': cannot take bridge '" + bridge + "''s MTU");
    ifreq add = request_for(bridge);
    add.ifr_ifindex = index.ifr_ifindex;
    if (::ioctl(sock.fd, SIOCBRADDIF, &add) < 0)
      failed("cannot attach tap device '" + made + "' to bridge '" + bridge +
             "' (is it a bridge?)");
  }
  ifreq flags = request_for(made);
  if (::ioctl(sock.fd, SIOCGIFFLAGS, &flags) < 0)
    failed("tap device '" + made + "': flags");
  flags.ifr_flags |= IFF_UP;
  if (::ioctl(sock.fd, SIOCSIFFLAGS, &flags) < 0)
    failed("tap device '" + made + "': cannot bring it up");
  return {tun.release(), made};
}

} // namespace domus::qemu_driver
