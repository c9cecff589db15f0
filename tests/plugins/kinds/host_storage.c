/* A host-wide storage and network driver: pools and networks of every hypervisor
   scheme ("*"), no domains. Its open never completes: loaded by runtime_unit/plugins,
   opened by storage_integration (a hung storage driver holds nothing past its deadline).
 */
#include <domus/driver_v1.h>
static const char* const no_schemes[] = {0};
static const char* const every[] = {"*", 0};
static const domus_kind_schemes_v1 kinds[] = {{DOMUS_OBJECT_POOL, every},
                                              {DOMUS_OBJECT_NETWORK, every}};
static const domus_pool_ops_v1 pool_ops = {sizeof(domus_pool_ops_v1)};
static const domus_network_ops_v1 network_ops = {sizeof(domus_network_ops_v1)};
static void nop_open(const domus_open_args_v1* a, domus_complete_fn done, void* user) {
  (void)a;
  (void)done;
  (void)user;
}
static const domus_driver_v1 driver = {1u,
                                       DOMUS_DRIVER_ABI_MINOR,
                                       sizeof(domus_driver_v1),
                                       "host-storage",
                                       "1.0",
                                       no_schemes,
                                       nop_open,
                                       0,
                                       0,
                                       0,
                                       0,
                                       0,
                                       0,
                                       kinds,
                                       2,
                                       &pool_ops,
                                       0,
                                       &network_ops};
DOMUS_DRIVER_EXPORT const domus_driver_v1* domus_driver_entry(uint32_t major) {
  (void)major;
  return &driver;
}
