/* A plugin that needs a symbol nothing provides: dlopen fails, refused. */
#include <domus/driver_v1.h>
extern int domus_symbol_that_does_not_exist(void);
DOMUS_DRIVER_EXPORT const domus_driver_v1* domus_driver_entry(uint32_t major) {
  return (const domus_driver_v1*)(long)(domus_symbol_that_does_not_exist() + (int)major);
}
