/* A driver whose struct is smaller than ABI 1.0's: refused. */
#include <domus/driver_v1.h>
static const char* const schemes[] = {"tiny", 0};
static const domus_driver_v1 driver = {1u, 0u, 16u, "tiny", "1.0", schemes,
                                       0,  0,  0,   0,      0};
DOMUS_DRIVER_EXPORT const domus_driver_v1* domus_driver_entry(uint32_t major) {
  (void)major;
  return &driver;
}
