// libFuzzer target: a whole core file, through the real source (libelf,
// libdwfl, our notes and memory table). Seed it with small real cores.
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "threadleak/threadleak.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  int fd = memfd_create("fuzz-core", MFD_CLOEXEC);
  if (fd < 0) return 0;
  if (write(fd, data, size) == static_cast<ssize_t>(size)) {
    try {
      threadleak::capture(threadleak::Source::path("/proc/self/fd/" + std::to_string(fd)));
    } catch (const threadleak::Error&) {
    }
  }
  close(fd);
  return 0;
}
