#include "symbol_preload.hpp"

#include <algorithm>
#include <string_view>

namespace threadleak::detail {

SymbolPreload::SymbolPreload(const Target& t, std::vector<std::uint64_t> pcs) {
  if (!t.report_modules_again || !t.setup) return;
  worker_ = std::thread([this, &t, pcs = std::move(pcs)]() mutable { run(t, std::move(pcs)); });
}

SymbolPreload::~SymbolPreload() { stop(); }

void SymbolPreload::stop() {
  if (!worker_.joinable()) return;
  {
    std::lock_guard lock(mu_);
    closed_ = true;
  }
  cv_.notify_one();
  worker_.join();
}

void SymbolPreload::add(const std::vector<RawFrame>& frames) {
  if (!worker_.joinable()) return;
  std::size_t queued = 0;
  {
    std::lock_guard lock(seen_mu_);
    for (const RawFrame& f : frames)
      if (seen_.insert(f.pc * 2 + f.activation).second) {
        std::lock_guard hold(mu_);
        queue_.push_back(f);
        ++queued;
      }
  }
  if (queued) cv_.notify_one();
}

std::optional<SymbolPreload::Result> SymbolPreload::take() {
  stop();
  return std::move(result_);
}

void SymbolPreload::run(const Target& t, std::vector<std::uint64_t> pcs) {
  try {
    PhaseTimer timer;
    DwflPtr d(dwfl_begin(&t.setup->callbacks));
    if (!d || !t.report_modules_again(d.get()) || dwfl_report_end(d.get(), nullptr, nullptr) != 0) return;
    if (t.entry) pcs.push_back(t.entry);
    std::sort(pcs.begin(), pcs.end());
    pcs.erase(std::unique(pcs.begin(), pcs.end()), pcs.end());
    std::vector<Dwfl_Module*> mods;
    for (std::uint64_t pc : pcs)
      if (Dwfl_Module* mod = dwfl_addrmodule(d.get(), pc)) mods.push_back(mod);
    // Every thread's outermost frames are in the C library (start_thread,
    // clone3): its debug info is wanted even before any pc is known.
    dwfl_getmodules(
        d.get(),
        [](Dwfl_Module* mod, void**, const char* name, Dwarf_Addr, void* arg) -> int {
          std::string_view base = name ? name : "";
          if (auto slash = base.rfind('/'); slash != std::string_view::npos) base.remove_prefix(slash + 1);
          if (base.starts_with("libc.so") || base.starts_with("libc-"))
            static_cast<std::vector<Dwfl_Module*>*>(arg)->push_back(mod);
          return DWARF_CB_OK;
        },
        &mods, 0);
    std::sort(mods.begin(), mods.end());
    mods.erase(std::unique(mods.begin(), mods.end()), mods.end());
    for (Dwfl_Module* mod : mods) {
      Dwarf_Addr bias;
      dwfl_module_getdwarf(mod, &bias);   // finds, opens and inflates the debug info
    }
    timer.mark("symbolizing thread: load debug info");
    auto sym = std::make_unique<Symbolizer>(d.get(), t.entry);
    for (;;) {
      std::vector<RawFrame> batch;
      {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [&] { return closed_ || !queue_.empty(); });
        if (queue_.empty()) break;   // closed and drained
        batch.swap(queue_);
      }
      sym->prepare(batch);
    }
    timer.mark("symbolizing thread: symbolize pcs");
    result_ = Result{std::move(d), std::move(sym)};
  } catch (...) {
    result_.reset();   // the caller symbolizes through the unwinding Dwfl
  }
}

}  // namespace threadleak::detail
