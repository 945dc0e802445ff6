// Recognising a Go program and opening what reading it needs.
#include "golang/goroutines.hpp"

#include <cstdlib>
#include <ctime>

#include <fmt/format.h>

#include "golang/go_reader.hpp"
#include "golang/go_stripped.hpp"
#include "golang/moduledata.hpp"

namespace threadleak::detail::golang {

namespace {

bool pclntab_forced() {
  const char* env = std::getenv("THREADLEAK_GO_SYMBOLS");
  return env && std::string(env) == "pclntab";
}

// The DWARF path: layouts and globals named by the debug info.
void describe_with_dwarf(GoCapture& go, const std::string& name, std::vector<std::string>& warnings) {
  std::string why;
  go.symbols = dwarf_symbols(*go.dwarf, open_pclntab(*go.image, why));
  std::string missing;
  auto layout = GoLayout::read(*go.dwarf, missing);
  if (!layout) {
    warnings.push_back(fmt::format("{}: Go runtime not understood (its DWARF has no {}); goroutines are "
                                   "not shown", name, missing));
    return;
  }
  go.layout = *layout;
  go.layout_known = true;
  go.sema = SemaLayout::read(*go.dwarf, missing);
  if (!go.sema && log_enabled()) log(fmt::format("{}: no semaphore table ({}); Go lock waiters not located", name, missing));
}

bool looks_like_go(const GoImage& img) {
  std::uint32_t magic;
  return img.section(".gopclntab") || img.section(".go.buildinfo") || find_pclntab(img, magic);
}

}  // namespace

std::shared_ptr<GoCapture> open_go(const std::string& exe_path, const std::string& name, std::uint64_t entry,
                                   std::vector<std::string>& warnings) {
  std::string why;
  auto go = std::make_shared<GoCapture>();
  go->image = GoImage::open(exe_path, why);
  if (!go->image || !looks_like_go(*go->image)) {
    if (log_enabled()) log(fmt::format("{}: not read as a Go program ({})", exe_path, why.empty() ? "no pclntab" : why));
    return nullptr;
  }
  go->bias = entry && go->image->entry() ? entry - go->image->entry() : 0;
  if (!pclntab_forced()) go->dwarf = GoDwarf::open(exe_path, why);
  if (go->dwarf) describe_with_dwarf(*go, name, warnings);
  else describe_stripped(*go, name, warnings);
  if (!go->symbols) return nullptr;
  if (log_enabled())
    log(fmt::format("{}: Go program, {} functions from its {}, load bias {:#x}, {} wait reasons, g.waitreason at +{}",
                    exe_path, go->symbols->function_count(), go->symbols->source(), go->bias, go->layout.wait_count,
                    go->layout.g_waitreason.offset));
  return go;
}

namespace {

std::set<int> tids_of(const std::vector<RawThread>& threads) {
  std::set<int> tids;
  for (const RawThread& t : threads) tids.insert(t.tid);
  return tids;
}

}  // namespace

void read_goroutines(GoCapture& go, Memory& mem, unsigned max_frames, const std::vector<RawThread>& threads) {
  if (go.layout_known) read_goroutines(go, go.layout, mem, max_frames, tids_of(threads));
}

void read_goroutines_live(GoCapture& go, int mem_fd, unsigned max_frames, const std::vector<RawThread>& threads) {
  timespec ts{};
  if (clock_gettime(CLOCK_MONOTONIC, &ts) == 0)
    go.now_ns = static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
  read_goroutines(go, *proc_memory(mem_fd), max_frames, threads);
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
