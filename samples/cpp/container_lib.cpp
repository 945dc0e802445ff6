// See container_lib.hpp. VARIANT (1 or 2) picks the function a thread
// parks in; the tests find its line by the "park-line" marker.
#include "container_lib.hpp"

#include <unistd.h>

#ifndef VARIANT
#error "build with -DVARIANT=1 or -DVARIANT=2"
#endif

namespace {

#if VARIANT == 1
__attribute__((noinline)) void park_in_variant_1(void (*parked)()) {
  parked();
  for (;;) ::sleep(3600);   // park-line: variant 1
}
#else
// Another build of the library: the same path in a container image and on
// the host may hold two builds like these.
__attribute__((noinline)) void park_in_variant_2(void (*parked)()) {
  parked();
  for (int i = 0;; ++i) ::sleep(3600 + (i & 1));   // park-line: variant 2
}
#endif

}  // namespace

extern "C" void container_lib_park(void (*parked)()) {
#if VARIANT == 1
  park_in_variant_1(parked);
#else
  park_in_variant_2(parked);
#endif
}
