// What Debian 12's QEMU 7.2 reports about itself, the part the QEMU driver's unit tests
// use: the same on every machine, whatever QEMU (if any) is installed.
#pragma once

#include "qemu_caps.hpp"

namespace domus::testing {

inline qemu_driver::qemu_caps debian_qemu_caps() {
  qemu_driver::qemu_caps c;
  c.path = "/usr/bin/qemu-system-x86_64";
  c.version = 7002022;
  c.machines = {{"pc-i440fx-7.2", "pc", true, 255, "qemu64"},
                {"pc-q35-7.2", "q35", false, 288, "qemu64"}};
  c.cpu_models = {"Skylake-Client", "max", "qemu64"};
  return c;
}

} // namespace domus::testing
