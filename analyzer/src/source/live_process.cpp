// Source: a live process, frozen for as short a time as possible.
//
// Before: /proc/PID/maps is read while the process still runs, and every
// thread is seized (it runs on).
// Freeze (source/freeze.hpp): one or two tracer threads interrupt every
// thread, copy each as it stops (registers, and the used part of its
// stack, by process_vm_readv in batches), and check the kernel's thread
// count for threads created meanwhile. While every thread is stopped: the
// lock words waited on and, for Go, the goroutines.
// Thaw: the tracer threads end, and the kernel resumes every thread.
// After: maps again (for the modules), thread names; then unwinding and
// symbolizing, offline, on the copies, and each thread's CPU time read
// while debug info loads (Target::read_meanwhile). See docs/performance.md.
//
// CPU times are read after the thaw, not before the freeze: either way the
// span between two snapshots holds exactly one of our freezes (a blocked
// thread pays ~10-30 us of CPU to stop and resume; docs/activity.md sets
// the tolerance for it), both spans are as long as the one between the
// two stacks, and reading after keeps ~10-30 us per thread out of the
// run-up to the freeze (the pause and the time to it do not change) and,
// done while the symbolizing thread loads debug info, off the critical path.
//
// Never harm the target: no writes; every path out ends the tracer threads,
// and PTRACE_SEIZE (without PTRACE_O_EXITKILL) means the kernel detaches
// and resumes the threads when their tracer ends, also if threadleak itself
// is killed mid-way.
#include <elf.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <set>

#include <fmt/format.h>

#include "golang/goroutines.hpp"
#include "source/freeze.hpp"
#include "source/memory.hpp"
#include "source/proc_facts.hpp"
#include "source/thread_cpu.hpp"
#include "target.hpp"
#include "util.hpp"

namespace threadleak::detail {
namespace {

constexpr unsigned kGoMaxFrames = 256;                 // per goroutine
constexpr std::size_t kMaxMapsBytes = 64u << 20;

std::string who(int pid) { return "pid " + std::to_string(pid); }

double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

// A range of the target's memory copied while it was frozen.
using StackCopy = CopiedMemory::Copy;

// Stacks, and (looked up only when no stack covers an address) the bytes
// around each futex a thread waited on: the lock objects, read while frozen
// so owners and waiters agree (hang triage). Two tables, not one: a lock
// may lie on a thread's stack, and a table looks an address up in the copy
// that starts last at or below it, so a futex window inside a stack's copy
// would hide the rest of that stack.
class LiveMemory : public Memory {
 public:
  LiveMemory(std::vector<StackCopy> stacks, std::vector<StackCopy> futexes)
      : stacks_(std::move(stacks)), futexes_(std::move(futexes)) {}
  std::size_t read(std::uint64_t addr, void* buf, std::size_t len) override {
    if (std::size_t n = stacks_.read(addr, buf, len)) return n;
    return futexes_.read(addr, buf, len);
  }

 private:
  CopiedMemory stacks_, futexes_;
};

// The lock object around a futex word: glibc's mutex, rwlock and condvar
// fields all lie within kFutexWindow bytes of the word a waiter sleeps on.
constexpr std::uint64_t kFutexSyscall = 202, kFutexWindow = 64;

void copy_futex(int mem_fd, std::uint64_t futex, std::vector<StackCopy>& out) {
  if (futex < kFutexWindow) return;
  std::string buf(2 * kFutexWindow, '\0');
  if (pread_full(mem_fd, buf.data(), buf.size(), futex - kFutexWindow) != buf.size()) return;
  out.push_back({futex - kFutexWindow, std::move(buf)});
}

// The process's memory, through a /proc/PID/mem descriptor this owns.
class ProcessMemory : public Memory {
 public:
  explicit ProcessMemory(Fd fd) : fd_(std::move(fd)), mem_(PagedMemory::of_process(fd_.get())) {}
  std::size_t read(std::uint64_t addr, void* buf, std::size_t len) override { return mem_->read(addr, buf, len); }

 private:
  Fd fd_;
  std::unique_ptr<PagedMemory> mem_;
};

}  // namespace

std::unique_ptr<Target> open_live(const Source& src) {
  elf_version(EV_CURRENT);
  const int pid = src.pid;
  const std::string proc = "/proc/" + std::to_string(pid);
  if (pid <= 0 || ::access(proc.c_str(), F_OK) != 0) throw Error(who(pid) + ": no such process", ErrorKind::not_found);
  if (pid == ::getpid()) throw Error(who(pid) + ": threadleak cannot freeze itself");
  auto t = std::make_unique<Target>();
  t->kind = "live";
  t->origin = who(pid);
  t->pid = pid;
  read_process_facts(*t, proc);
  Fd mem(::open((proc + "/mem").c_str(), O_RDONLY | O_CLOEXEC));
  if (!mem) throw Error(who(pid) + ": cannot read memory: " + errno_text(errno), error_kind_of_errno(errno));

  auto mappings = parse_maps(read_small_file(proc + "/maps", kMaxMapsBytes));
  t->go = golang::open_go(proc + "/exe", t->executable, t->entry, t->warnings);  // before freezing: reads only the file
  std::vector<StackCopy> copies;
  std::vector<StackCopy> futexes;   // lock objects around waited-on futex words (hang triage)
  FreezeTimes times;
  double frozen_reads_ms = 0;
  {
    // Both cores seize, copy and resume when there are enough threads.
    const char* one = std::getenv("THREADLEAK_ONE_TRACER");   // to compare
    Freeze freeze(pid, mem.get(), mappings, one && *one ? 1 : 2);   // seized; still running
    t->captured_at = now_utc();   // the freeze starts now: the stacks' time
    freeze.stop_and_copy();
    auto t0 = std::chrono::steady_clock::now();
    t->threads = std::move(freeze.threads);
    copies = std::move(freeze.stacks);
    if (t->go) golang::read_goroutines_live(*t->go, mem.get(), kGoMaxFrames, t->threads);
    std::set<std::uint64_t> futex_words;
    for (const RawThread& th : t->threads)
      if (th.regs && th.regs->orig_rax == kFutexSyscall && futex_words.insert(th.regs->rdi).second)
        copy_futex(mem.get(), th.regs->rdi, futexes);
    frozen_reads_ms = ms_since(t0);
    freeze.thaw();
    times = freeze.times();
  }
  if (log_enabled()) {
    std::size_t bytes = 0;
    for (const auto& c : copies) bytes += c.bytes.size();
    log(fmt::format("{}: {} threads frozen for {:.1f} ms (stopping and copying {:.1f} ms, {} KiB of "
                    "stacks; checking for new threads {:.1f} ms{}; reading lock words{} {:.1f} ms; "
                    "resuming {:.1f} ms); seized beforehand in {:.1f} ms, running",
                    t->origin, t->threads.size(), times.window_ms(), times.stop_ms, bytes >> 10,
                    times.recheck_ms, times.relists ? fmt::format(", {} task-list reads", times.relists) : "",
                    t->go ? " and goroutines" : "", frozen_reads_ms, times.resume_ms, times.seize_ms));
    for (std::size_t i = 0; i < times.tracers.size(); ++i) log(fmt::format("{}: tracer {}: {}", t->origin, i + 1, times.tracers[i]));
  }
  if (t->threads.empty()) throw Error(who(pid) + ": process exited during the snapshot", ErrorKind::target_vanished);
  t->longest_pause_ms = times.window_ms();
  std::string maps = read_small_file(proc + "/maps", kMaxMapsBytes);
  read_thread_names(*t, proc);
  t->read_meanwhile = [proc](Target& target) { read_thread_cpu(target, proc); };
  t->memory = std::make_unique<LiveMemory>(std::move(copies), std::move(futexes));
  // Module headers and build-ids: read from the running process (read only).
  report_maps_modules(*t, src, maps, *PagedMemory::of_process(mem.get()));
  check_modules(t->dwfl.get(), t->warnings);
  t->settled_memory = std::make_unique<ProcessMemory>(std::move(mem));
  return t;
}

}  // namespace threadleak::detail
