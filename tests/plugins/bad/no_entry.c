/* A shared object without domus_driver_entry: refused. */
__attribute__((visibility("default"))) int not_a_driver(void) {
  return 42;
}
