#include "symbol_preload.hpp"

#include <algorithm>

namespace threadleak::detail {

SymbolPreload::SymbolPreload(const Target& t, std::vector<std::uint64_t> pcs) {
  if (!t.report_modules_again || !t.setup) return;
  worker_ = std::thread([this, &t, pcs = std::move(pcs)]() mutable { run(t, std::move(pcs)); });
}

SymbolPreload::~SymbolPreload() {
  if (worker_.joinable()) worker_.join();
}

DwflPtr SymbolPreload::take() {
  if (worker_.joinable()) worker_.join();
  return std::move(dwfl_);
}

void SymbolPreload::run(const Target& t, std::vector<std::uint64_t> pcs) {
  try {
    DwflPtr d(dwfl_begin(&t.setup->callbacks));
    if (!d || !t.report_modules_again(d.get()) || dwfl_report_end(d.get(), nullptr, nullptr) != 0) return;
    if (t.entry) pcs.push_back(t.entry);
    std::sort(pcs.begin(), pcs.end());
    pcs.erase(std::unique(pcs.begin(), pcs.end()), pcs.end());
    for (std::uint64_t pc : pcs) {
      Dwfl_Module* mod = dwfl_addrmodule(d.get(), pc);
      if (!mod) continue;
      Dwarf_Addr bias;
      dwfl_module_getdwarf(mod, &bias);   // finds, opens and inflates the debug info
      dwfl_module_getsymtab(mod);
      dwfl_module_getsrc(mod, pc);        // and parses the line table of pc's unit
    }
    dwfl_ = std::move(d);
  } catch (...) {
    dwfl_.reset();   // symbolization falls back to the unwinding Dwfl
  }
}

}  // namespace threadleak::detail
