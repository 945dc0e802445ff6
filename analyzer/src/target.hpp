// The raw capture every source produces before unwinding: process facts,
// per-thread registers, a way to read the target's memory, and a Dwfl with
// the target's modules reported. Internal to the analyzer.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "threadleak/threadleak.hpp"
#include "util.hpp"

namespace threadleak::detail {

namespace golang { struct GoCapture; }
class SymbolPreload;

// x86-64 `struct user_regs_struct`, the layout of NT_PRSTATUS pr_reg and of
// PTRACE_GETREGS.
struct UserRegs {
  std::uint64_t r15, r14, r13, r12, rbp, rbx, r11, r10, r9, r8, rax, rcx, rdx,
      rsi, rdi, orig_rax, rip, cs, eflags, rsp, ss, fs_base, gs_base, ds, es, fs, gs;
};
static_assert(sizeof(UserRegs) == 27 * 8);

// The 17 DWARF x86-64 registers (0 rax .. 15 r15, 16 rip) from UserRegs.
std::array<std::uint64_t, 17> dwarf_regs(const UserRegs& r);

struct RawThread {
  int tid = 0;
  std::string name;
  std::optional<UserRegs> regs;     // nullopt: the thread could not be read
  int cursig = 0;                   // signal the thread was stopped by (cores)
  std::string error;                // why regs are missing
  std::optional<std::uint64_t> cpu_ns;  // user + system CPU time, when known (Target::cpu_from)
};

// Read access to the target's address space. Every source's is one of the
// readers in source/memory.hpp, which share one set of bounds rules: any
// addr and len are safe (a short count, never a crash or a wrap past 2^64).
// One thread at a time per object (see memory.hpp for who reads).
class Memory {
 public:
  virtual ~Memory() = default;
  // Copies up to len bytes at addr into buf; returns how many were copied,
  // stopping at the first byte that cannot be read.
  virtual std::size_t read(std::uint64_t addr, void* buf, std::size_t len) = 0;
  // The same, for bytes read once with nothing else near them (a thread's
  // descriptor): a reader with a page cache may skip it and read just these.
  virtual std::size_t read_once(std::uint64_t addr, void* buf, std::size_t len) { return read(addr, buf, len); }
  // A reader of the same memory for another thread (its own cache), or
  // null when this one cannot be shared that way.
  virtual std::unique_ptr<Memory> another_reader() const { return nullptr; }
};

// Dwfl callbacks shared by the sources: find files by build-id / path (with
// an optional sysroot prefix) and separate debug info in the debug dirs.
struct DwflSetup {
  std::string sysroot;
  std::string debuginfo_path;   // ':'-separated, as libdwfl wants it
  char* debuginfo_path_ptr = nullptr;
  Dwfl_Callbacks callbacks{};
};
// One captured target. Member order matters: the Dwfl is destroyed before
// the Elf it was attached with and before the fd the Elf reads from.
struct Target {
  std::string kind;                 // "core" or "live"
  std::string origin;               // what to name in messages
  int pid = 0;
  std::string executable;
  std::string captured_at;
  std::optional<double> longest_pause_ms;  // live: the freeze window, first interrupt to last resume (no thread was held longer)
  std::string captured_at_from;     // Snapshot::captured_at_from
  std::string cpu_from, cpu_missing;  // Snapshot::cpu_from, cpu_missing
  std::uint64_t entry = 0;          // AT_ENTRY: identifies the main executable's module
  std::vector<RawThread> threads;   // sorted by TID
  std::optional<CrashInfo> crash;
  std::vector<std::string> warnings;
  std::unique_ptr<Memory> memory;
  std::shared_ptr<golang::GoCapture> go;  // a live Go program's goroutines, read while frozen

  std::unique_ptr<DwflSetup> setup; // callbacks the Dwfl points at: outlives it
  std::shared_ptr<void> module_data;// what the modules' libdwfl userdata points at: outlives it
  // Reports the same modules into another Dwfl (for a second thread);
  // empty if the source cannot. Returns false on failure.
  std::function<bool(Dwfl*)> report_modules_again;
  // Reading the source leaves for later, off the critical path: run once,
  // after unwinding, while the symbolizing thread loads debug info (live:
  // each thread's CPU time, ~10-30 us a thread). May be empty.
  std::function<void(Target&)> read_meanwhile;
  Fd fd;                            // the core file, if any
  ElfPtr elf;                       // the core's Elf (selects the unwinder backend), may be null
  DwflPtr unwound_with;             // the Dwfl unwinding used, once symbolization took over `dwfl`
  DwflPtr dwfl;                     // modules reported (dwfl_report_end done)
  // Live processes: the running process's memory, read after the thaw for
  // what does not change while a thread lives (its start routine,
  // source/thread_start.hpp); null for other sources.
  std::unique_ptr<Memory> settled_memory;
  // Debug info loading already under way (symbol_preload.hpp), if the
  // source could start it early; last, so it stops before the rest goes.
  std::shared_ptr<SymbolPreload> preload;
};

// Opens a core file. Throws Error naming the file on anything fatal.
// Starts loading debug info for `t` on another thread, as soon as its
// modules are known (symbol_preload.hpp); handed down by the orchestrator so
// that capture does not reach into the symbolize stage.
using StartPreload = std::function<std::shared_ptr<SymbolPreload>(const Target& t)>;
std::unique_ptr<Target> open_core(const Source& src, const StartPreload& start_preload = {});
// How the calling thread's last open_core went (for tests): whether the
// modules were found at the notes' ends and debug info started loading
// before the notes were read, and whether the full notes confirmed it.
struct CoreOpenStats {
  bool early_modules = false;
  bool early_confirmed = false;
};
CoreOpenStats last_core_open_stats();
// Freezes a live process briefly, copies registers and stacks, thaws it.
std::unique_ptr<Target> open_live(const Source& src);
// Reads a snapshot file written by to_snapshot_json.
Snapshot load_snapshot_file(const std::string& path);

// Fills `setup.callbacks`, the same for core files and live processes: files
// looked up by path (under --sysroot, in a live process's own view, as
// recorded) and by build-id, each checked against the recorded build-id.
void init_callbacks(DwflSetup& setup, const Source& src);
// Warnings for modules whose file could not be found or did not match.
void check_modules(Dwfl* dwfl, std::vector<std::string>& warnings);

}  // namespace threadleak::detail
