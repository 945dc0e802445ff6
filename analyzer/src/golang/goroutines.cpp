// Recognising a Go program and opening what reading it needs.
#include "golang/goroutines.hpp"

#include <ctime>

#include <fmt/format.h>

#include "golang/go_reader.hpp"

namespace threadleak::detail::golang {

std::shared_ptr<GoCapture> open_go(const std::string& exe_path, const std::string& name, std::uint64_t entry,
                                   std::vector<std::string>& warnings) {
  std::string why;
  auto dwarf = GoDwarf::open(exe_path, why);
  if (!dwarf && log_enabled()) log(fmt::format("{}: not read as a Go program ({})", exe_path, why));
  if (!dwarf) {
    if (!why.empty()) warnings.push_back(name + ": " + why);
    return nullptr;
  }
  std::string missing;
  auto layout = GoLayout::read(*dwarf, missing);
  if (!layout) {
    warnings.push_back(fmt::format("{}: Go runtime not understood (its DWARF has no {}); goroutines are "
                                   "not shown", name, missing));
    return nullptr;
  }
  auto go = std::make_shared<GoCapture>();
  go->bias = entry && dwarf->elf_entry() ? entry - dwarf->elf_entry() : 0;
  go->dwarf = std::move(dwarf);
  go->layout = *layout;
  go->sema = SemaLayout::read(*go->dwarf, missing);
  if (!go->sema && log_enabled()) log(fmt::format("{}: no semaphore table ({}); Go lock waiters not located", exe_path, missing));
  if (log_enabled())
    log(fmt::format("{}: Go program, {} functions, load bias {:#x}, {} wait reasons, g.waitreason at +{}",
                    exe_path, go->dwarf->function_count(), go->bias, go->layout.wait_count,
                    go->layout.g_waitreason.offset));
  return go;
}

void read_goroutines(GoCapture& go, Memory& mem, unsigned max_frames) {
  read_goroutines(go, go.layout, mem, max_frames);
}

void read_goroutines_live(GoCapture& go, int mem_fd, unsigned max_frames) {
  timespec ts{};
  if (clock_gettime(CLOCK_MONOTONIC, &ts) == 0)
    go.now_ns = static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
  read_goroutines(go, *proc_memory(mem_fd), max_frames);
}

std::shared_ptr<GoCapture> open_go_for_core(Target& t) {
  if (!t.dwfl || !t.entry) return nullptr;
  Dwfl_Module* mod = dwfl_addrmodule(t.dwfl.get(), t.entry);
  if (!mod) return nullptr;
  GElf_Addr bias;
  dwfl_module_getelf(mod, &bias);
  const char* file = nullptr;
  dwfl_module_info(mod, nullptr, nullptr, nullptr, nullptr, nullptr, &file, nullptr);
  // Go writes no GNU build-id, so a core's executable is often not found
  // by build-id: fall back to the path the core recorded (or --exe).
  std::string path = file ? file : t.executable;
  if (path.empty()) return nullptr;
  if (log_enabled()) log(fmt::format("main executable {}: looking for the Go runtime", path));
  return open_go(path, path, t.entry, t.warnings);
}

}  // namespace threadleak::detail::golang
