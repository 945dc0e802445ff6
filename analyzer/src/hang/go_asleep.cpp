// Go's "all goroutines are asleep - deadlock!" on a snapshot. The runtime
// raises it (runtime.checkdead) when no goroutine can run and no timer is
// pending. We apply the same rule to the goroutines as captured: every user
// goroutine parked on something only another goroutine can end, and no
// timer in the runtime that could fire a channel (time.After, a Ticker).
#include <algorithm>
#include <array>
#include <string_view>

#include "threadleak/hang.hpp"

namespace threadleak {
namespace {

// Wait reasons (runtime.waitReasonStrings, Go 1.19 and the sync.* names of
// later versions) that only another goroutine ends: channels, select,
// semaphores and sync.Cond. Not here: sleep, IO wait, GC and runtime waits.
bool asleep_reason(std::string_view r) {
  static constexpr std::array<std::string_view, 12> kAsleep = {
      "chan receive", "chan send", "chan receive (nil chan)", "chan send (nil chan)", "select",
      "select (no cases)", "semacquire", "sync.Cond.Wait", "sync.Mutex.Lock", "sync.RWMutex.Lock",
      "sync.RWMutex.RLock", "sync.WaitGroup.Wait"};
  return std::find(kAsleep.begin(), kAsleep.end(), r) != kAsleep.end();
}

// os/signal's watcher goroutine sleeps in signal_recv for a signal sent from
// outside the process.
bool signal_watcher(const Thread& t) {
  return std::any_of(t.frames.begin(), t.frames.end(),
                     [](const Frame& f) { return f.function == "os/signal.signal_recv"; });
}

}  // namespace

std::optional<GoAsleep> go_asleep(const Snapshot& snap) {
  GoAsleep a;
  bool any_goroutine = false;
  for (const Thread& t : snap.threads) {
    if (t.kind != Kind::goroutine) continue;
    any_goroutine = true;
    if (t.go_runtime) continue;
    if (signal_watcher(t)) {
      a.signal_watcher = true;
      continue;
    }
    ++a.goroutines;
    // A parked goroutine's tid is 0; one in a syscall or running has a thread.
    if (t.tid == 0 && asleep_reason(t.wait_reason)) ++a.asleep;
    else a.awake.push_back(t.goid);
  }
  if (!any_goroutine) return std::nullopt;
  std::sort(a.awake.begin(), a.awake.end());
  a.timers = snap.go_timers;
  a.all_asleep = a.goroutines > 0 && a.asleep == a.goroutines && a.timers == std::uint64_t{0};
  return a;
}

}  // namespace threadleak
