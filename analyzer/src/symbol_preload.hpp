// Symbolizing on a second thread while the first unwinds.
//
// Symbolizing starts by loading each module's debug info: for glibc
// (libc6-dbg) that is ~4 MB of compressed DWARF, inflated by libdw in one
// go (~60 ms here), then each distinct PC's unit is parsed. None of it
// depends on the rest of the unwinding, so a second Dwfl with the same
// modules does it in parallel: it loads the debug info of the modules that
// hold the threads' current PCs, then symbolizes each new PC the unwinder
// hands over as the stacks come in. A Dwfl is not thread-safe: the two
// threads share no Dwfl, Elf or descriptor until the worker is done.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_set>
#include <vector>

#include "symbolize.hpp"
#include "target.hpp"

namespace threadleak::detail {

class SymbolPreload {
 public:
  // Does nothing if the target cannot report its modules again (then
  // take() gives nothing and the caller symbolizes through t.dwfl).
  // Otherwise starts the worker on the debug info of the modules holding
  // `pcs`, of the main executable and of the C library. `t` must outlive
  // this object; the worker reads t.setup, t.report_modules_again and
  // t.entry, which must not change until take().
  SymbolPreload(const Target& t, std::vector<std::uint64_t> pcs);
  ~SymbolPreload();
  SymbolPreload(const SymbolPreload&) = delete;
  SymbolPreload& operator=(const SymbolPreload&) = delete;

  // Hands over a freshly unwound stack: its PCs not seen before are
  // symbolized by the worker. Cheap; safe from two unwinding threads.
  void add(const std::vector<RawFrame>& frames);

  struct Result {
    DwflPtr dwfl;                       // the worker's Dwfl, with debug info loaded
    std::unique_ptr<Symbolizer> symbolizer;   // over `dwfl`, its cache filled
  };
  // Waits for the worker to finish what it was handed; nullopt if there is
  // no worker or it failed.
  std::optional<Result> take();

 private:
  void run(const Target& t, std::vector<std::uint64_t> pcs);
  void stop();

  std::thread worker_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<RawFrame> queue_;         // guarded by mu_
  bool closed_ = false;                 // guarded by mu_
  std::mutex seen_mu_;                  // add() runs on up to two unwinding threads
  std::unordered_set<std::uint64_t> seen_;   // guarded by seen_mu_
  std::optional<Result> result_;        // written by the worker before it exits
};

}  // namespace threadleak::detail
