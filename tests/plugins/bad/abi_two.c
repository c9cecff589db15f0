/* A driver built for ABI major 2: refused. */
#include <domus/driver_v1.h>
static const char* const schemes[] = {"future", 0};
static const domus_driver_v1 driver = {
    2u, 0u, sizeof(domus_driver_v1), "future", "2.0", schemes, 0, 0, 0, 0, 0};
DOMUS_DRIVER_EXPORT const domus_driver_v1* domus_driver_entry(uint32_t major) {
  (void)major;
  return &driver;
}
