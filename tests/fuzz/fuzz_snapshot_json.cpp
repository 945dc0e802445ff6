// libFuzzer target: snapshot files are untrusted input.
#include <cstddef>
#include <cstdint>
#include <string>

#include "threadleak/threadleak.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    threadleak::Snapshot s =
        threadleak::from_snapshot_json(std::string(reinterpret_cast<const char*>(data), size), "fuzz.json");
    threadleak::group(s, {});
  } catch (const threadleak::Error&) {
  }
  return 0;
}
