/* A second driver for the "test" scheme, loaded after the real one: refused. */
#include <domus/driver_v1.h>
static const char* const schemes[] = {"test", 0};
static void nop_open(const domus_open_args_v1* a, domus_complete_fn done, void* user) {
  (void)a;
  (void)done;
  (void)user;
}
static const domus_driver_v1 driver = {
    1u, 0u, sizeof(domus_driver_v1), "impostor", "1.0", schemes, nop_open, 0, 0, 0, 0};
DOMUS_DRIVER_EXPORT const domus_driver_v1* domus_driver_entry(uint32_t major) {
  (void)major;
  return &driver;
}
