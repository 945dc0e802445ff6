// A process to run inside its own mount namespace (a "container"): it
// finds libcontainer_lib.so beside itself ($ORIGIN), so both can live on a
// tmpfs only the namespace sees. One thread parks in the library
// (container_lib_park), one in the executable (park_in_app); prints
// "ready 3" once both are blocked in the kernel, then exits on "quit".
#include <iostream>
#include <string>
#include <thread>

#include "container_lib.hpp"
#include "park.hpp"

namespace {

sample::Registry g_parked;

void note_parked() { g_parked.add(sample::gettid()); }

__attribute__((noinline)) void park_in_app() {
  note_parked();
  for (;;) ::pause();   // park-line: app
}

}  // namespace

int main() {
  std::thread(container_lib_park, note_parked).detach();
  std::thread(park_in_app).detach();
  g_parked.wait_blocked(2);
  sample::say("ready 3");
  std::string line;
  while (std::getline(std::cin, line) && line != "quit") {
  }
  return 0;
}
