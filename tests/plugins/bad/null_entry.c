/* A driver that declines this host's ABI major: refused. */
#include <domus/driver_v1.h>
DOMUS_DRIVER_EXPORT const domus_driver_v1* domus_driver_entry(uint32_t major) {
  (void)major;
  return 0;
}
