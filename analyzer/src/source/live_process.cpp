// Source: a live process, frozen for as short a time as possible.
//
// Before: /proc/PID/maps is read while the process still runs.
// Freeze: PTRACE_SEIZE + PTRACE_INTERRUPT every listed thread first, then
// wait for each to stop (pipelined: the threads stop in parallel, not one
// round trip after another); re-list the task directory until no new thread
// appears. Copy: registers (PTRACE_GETREGS) and the used part of each stack
// (from just below rsp to the end of its mapping, through /proc/PID/mem);
// maps are re-read while frozen only if some rsp lies outside the maps read
// before. Thaw: PTRACE_DETACH, in the order of the freeze.
// After: maps again (for the modules), thread names; then unwinding and
// symbolizing, offline, on the copies. See docs/performance.md.
//
// Never harm the target: no writes; a detach guard resumes every thread on
// every path; PTRACE_SEIZE (without PTRACE_O_EXITKILL) means the kernel
// detaches the threads if threadleak itself is killed mid-way.
#include <dirent.h>
#include <elf.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <map>
#include <set>

#include <fmt/format.h>

#include "golang/goroutines.hpp"
#include "source/proc_facts.hpp"
#include "target.hpp"

namespace threadleak::detail {
namespace {

constexpr std::uint64_t kRedZone = 128;               // below rsp, used by leaf functions
constexpr unsigned kGoMaxFrames = 256;                 // per goroutine
constexpr std::uint64_t kMaxStackCopy = 1ull << 20;   // per thread; deeper stacks are cut
constexpr int kMaxRescans = 50;                       // task-list re-reads while threads spawn
constexpr std::size_t kMaxMapsBytes = 64u << 20;

std::string who(int pid) { return "pid " + std::to_string(pid); }

std::vector<int> list_tasks(int pid) {
  std::vector<int> tids;
  std::string dir = "/proc/" + std::to_string(pid) + "/task";
  DIR* d = ::opendir(dir.c_str());
  if (!d) return tids;
  while (dirent* e = ::readdir(d))
    if (e->d_name[0] >= '0' && e->d_name[0] <= '9') tids.push_back(std::atoi(e->d_name));
  ::closedir(d);
  std::sort(tids.begin(), tids.end());
  return tids;
}

// Seized threads, detached on every path out.
class Freezer {
 public:
  Freezer() = default;
  ~Freezer() { thaw(); }
  Freezer(const Freezer&) = delete;
  Freezer& operator=(const Freezer&) = delete;

  // Returns 0, or the errno of a failed seize.
  int seize(int tid) {
    if (::ptrace(PTRACE_SEIZE, tid, nullptr, nullptr) != 0) return errno;
    stopped_[tid] = 0;
    if (::ptrace(PTRACE_INTERRUPT, tid, nullptr, nullptr) != 0) return 0;  // exited; wait() tells
    return 0;
  }

  // Waits until tid is stopped. False when it exited meanwhile.
  bool wait_stopped(int tid) {
    for (;;) {
      int status = 0;
      pid_t r = ::waitpid(tid, &status, __WALL);
      if (r < 0 && errno == EINTR) continue;
      if (r < 0 || WIFEXITED(status) || WIFSIGNALED(status)) { stopped_.erase(tid); return false; }
      if (!WIFSTOPPED(status)) continue;
      int sig = WSTOPSIG(status);
      bool event_stop = (status >> 16) == PTRACE_EVENT_STOP;
      // A signal-delivery stop: keep the signal to hand back at detach.
      if (!event_stop && sig != SIGTRAP) stopped_[tid] = sig;
      return true;
    }
  }

  void thaw() {
    for (auto [tid, sig] : stopped_)
      ::ptrace(PTRACE_DETACH, tid, nullptr, reinterpret_cast<void*>(static_cast<long>(sig)));
    stopped_.clear();
  }

  // The stopped threads, in TID order.
  std::vector<int> tids() const {
    std::vector<int> out;
    out.reserve(stopped_.size());
    for (const auto& kv : stopped_) out.push_back(kv.first);
    return out;
  }
  std::size_t size() const { return stopped_.size(); }

 private:
  std::map<int, int> stopped_;  // tid -> signal to re-deliver at detach
};

struct Mapping { std::uint64_t start, end; };

std::vector<Mapping> parse_maps(const std::string& text) {
  std::vector<Mapping> out;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t eol = text.find('\n', pos);
    if (eol == std::string::npos) eol = text.size();
    unsigned long long a = 0, b = 0;
    if (std::sscanf(text.c_str() + pos, "%llx-%llx", &a, &b) == 2) out.push_back({a, b});
    pos = eol + 1;
  }
  return out;
}

struct StackCopy { std::uint64_t start; std::string bytes; };

std::size_t read_copies(const std::vector<StackCopy>& copies, std::uint64_t addr, void* buf, std::size_t len) {
  auto it = std::upper_bound(copies.begin(), copies.end(), addr,
                             [](std::uint64_t a, const StackCopy& c) { return a < c.start; });
  if (it == copies.begin()) return 0;
  --it;
  std::uint64_t rel = addr - it->start;
  if (rel >= it->bytes.size()) return 0;
  std::size_t n = std::min<std::uint64_t>(len, it->bytes.size() - rel);
  std::memcpy(buf, it->bytes.data() + rel, n);
  return n;
}

// Stacks, and (looked up only when no stack covers an address) the bytes
// around each futex a thread waited on: the lock objects, read while frozen
// so owners and waiters agree (hang triage).
class LiveMemory : public Memory {
 public:
  LiveMemory(std::vector<StackCopy> copies, std::vector<StackCopy> futexes)
      : copies_(std::move(copies)), futexes_(std::move(futexes)) {
    for (auto* v : {&copies_, &futexes_})
      std::sort(v->begin(), v->end(), [](const StackCopy& a, const StackCopy& b) { return a.start < b.start; });
  }
  std::size_t read(std::uint64_t addr, void* buf, std::size_t len) override {
    if (std::size_t n = read_copies(copies_, addr, buf, len)) return n;
    return read_copies(futexes_, addr, buf, len);
  }

 private:
  std::vector<StackCopy> copies_, futexes_;
};

// The lock object around a futex word: glibc's mutex, rwlock and condvar
// fields all lie within kFutexWindow bytes of the word a waiter sleeps on.
constexpr std::uint64_t kFutexSyscall = 202, kFutexWindow = 64;

void copy_futex(int mem_fd, std::uint64_t futex, std::vector<StackCopy>& out) {
  if (futex < kFutexWindow) return;
  std::string buf(2 * kFutexWindow, '\0');
  ssize_t n = ::pread(mem_fd, buf.data(), buf.size(), static_cast<off_t>(futex - kFutexWindow));
  if (n != static_cast<ssize_t>(buf.size())) return;
  out.push_back({futex - kFutexWindow, std::move(buf)});
}

// The used part of the stack holding sp: from just below sp (the red zone)
// to the end of its mapping, capped. False if sp is in no mapping.
bool stack_range(const std::vector<Mapping>& maps, std::uint64_t sp, std::uint64_t& start,
                 std::uint64_t& len) {
  auto it = std::upper_bound(maps.begin(), maps.end(), sp,
                             [](std::uint64_t a, const Mapping& m) { return a < m.start; });
  if (it == maps.begin()) return false;
  --it;
  if (sp >= it->end) return false;
  start = std::max(it->start, sp > kRedZone ? sp - kRedZone : 0);
  len = std::min(it->end - start, kMaxStackCopy);
  return true;
}

void pread_stack(int mem_fd, StackCopy& c) {
  ssize_t n = ::pread(mem_fd, c.bytes.data(), c.bytes.size(), static_cast<off_t>(c.start));
  c.bytes.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
}

// Reads every stack with one process_vm_readv per IOV_MAX stacks instead of
// a pread each (fewer syscalls while the process is frozen). The call stops
// at the first element it cannot read; that one and the rest of its batch
// fall back to pread of /proc/PID/mem, which may return a short copy.
void read_stacks(int pid, int mem_fd, std::vector<StackCopy>& copies) {
  constexpr std::size_t kBatch = IOV_MAX;
  std::vector<iovec> local, remote;
  for (std::size_t i = 0; i < copies.size(); i += kBatch) {
    std::size_t n = std::min(kBatch, copies.size() - i);
    local.resize(n);
    remote.resize(n);
    for (std::size_t j = 0; j < n; ++j) {
      StackCopy& c = copies[i + j];
      local[j] = {c.bytes.data(), c.bytes.size()};
      remote[j] = {reinterpret_cast<void*>(c.start), c.bytes.size()};
    }
    ssize_t got = ::process_vm_readv(pid, local.data(), n, remote.data(), n, 0);
    std::size_t left = got > 0 ? static_cast<std::size_t>(got) : 0;
    for (std::size_t j = 0; j < n; ++j) {
      StackCopy& c = copies[i + j];
      if (left >= c.bytes.size()) { left -= c.bytes.size(); continue; }
      left = 0;
      pread_stack(mem_fd, c);
    }
  }
  std::erase_if(copies, [](const StackCopy& c) { return c.bytes.empty(); });
}

[[noreturn]] void fail_seize(int pid, int tid, int err) {
  if (err == EPERM)
    throw Error(fmt::format("{}: not permitted to trace thread {} ({}); is a debugger attached, "
                            "or is ptrace restricted? try as the process's owner or root",
                            who(pid), tid, errno_text(err)));
  throw Error(fmt::format("{}: cannot trace thread {}: {}", who(pid), tid, errno_text(err)));
}

// Seizes every thread, re-listing tasks until the set is stable. All the
// threads of one listing are interrupted before the first wait, so they
// stop concurrently.
void freeze_all(int pid, Freezer& fr) {
  std::set<int> seen;
  for (int round = 0; round < kMaxRescans; ++round) {
    std::vector<int> seized;
    for (int tid : list_tasks(pid)) {
      if (!seen.insert(tid).second) continue;
      int err = fr.seize(tid);
      if (err == ESRCH) continue;       // exited between listing and seizing
      if (err) fail_seize(pid, tid, err);
      seized.push_back(tid);
    }
    for (int tid : seized) fr.wait_stopped(tid);
    if (seized.empty()) return;
  }
}

bool covers(const std::vector<Mapping>& maps, std::uint64_t addr) {
  auto it = std::upper_bound(maps.begin(), maps.end(), addr,
                             [](std::uint64_t a, const Mapping& m) { return a < m.start; });
  return it != maps.begin() && addr < std::prev(it)->end;
}

double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

// While frozen: registers and used stack of every stopped thread. Maps are
// re-read only when a stack lies outside the ones read before the freeze
// (a thread created meanwhile).
void copy_threads(Target& t, const Freezer& fr, int mem_fd, std::vector<Mapping>& maps,
                  std::vector<StackCopy>& copies) {
  bool reread = false;
  for (int tid : fr.tids()) {
    RawThread th;
    th.tid = tid;
    UserRegs regs;
    if (::ptrace(PTRACE_GETREGS, tid, nullptr, &regs) != 0) continue;
    th.regs = regs;
    if (!reread && !covers(maps, regs.rsp)) {
      maps = parse_maps(read_small_file("/proc/" + std::to_string(t.pid) + "/maps", kMaxMapsBytes));
      reread = true;
    }
    std::uint64_t start = 0, len = 0;
    if (stack_range(maps, regs.rsp, start, len)) copies.push_back({start, std::string(len, '\0')});
    t.threads.push_back(std::move(th));
  }
  read_stacks(t.pid, mem_fd, copies);
}

}  // namespace

std::unique_ptr<Target> open_live(const Source& src) {
  elf_version(EV_CURRENT);
  const int pid = src.pid;
  const std::string proc = "/proc/" + std::to_string(pid);
  if (pid <= 0 || ::access(proc.c_str(), F_OK) != 0) throw Error(who(pid) + ": no such process");
  if (pid == ::getpid()) throw Error(who(pid) + ": threadleak cannot freeze itself");
  auto t = std::make_unique<Target>();
  t->kind = "live";
  t->origin = who(pid);
  t->pid = pid;
  read_process_facts(*t, proc);
  Fd mem(::open((proc + "/mem").c_str(), O_RDONLY | O_CLOEXEC));
  if (!mem) throw Error(who(pid) + ": cannot read memory: " + errno_text(errno));

  auto mappings = parse_maps(read_small_file(proc + "/maps", kMaxMapsBytes));
  std::vector<StackCopy> copies;
  t->go = golang::open_go(proc + "/exe", t->executable, t->entry, t->warnings);  // before freezing: reads only the file
  auto t0 = std::chrono::steady_clock::now();
  double frozen_ms = 0, copied_ms = 0;
  std::vector<StackCopy> futexes;   // lock objects around waited-on futex words (hang triage)
  std::set<std::uint64_t> futex_words;
  {
    Freezer fr;
    freeze_all(pid, fr);
    if (fr.size() == 0) throw Error(who(pid) + ": process exited before it could be read");
    frozen_ms = ms_since(t0);
    copy_threads(*t, fr, mem.get(), mappings, copies);
    copied_ms = ms_since(t0);
    if (t->go) golang::read_goroutines_live(*t->go, mem.get(), kGoMaxFrames);
    for (const RawThread& th : t->threads)
      if (th.regs && th.regs->orig_rax == kFutexSyscall && futex_words.insert(th.regs->rdi).second)
        copy_futex(mem.get(), th.regs->rdi, futexes);
  }  // thaw
  if (log_enabled()) {
    std::size_t bytes = 0;
    for (const auto& c : copies) bytes += c.bytes.size();
    log(fmt::format("{}: {} threads frozen for {:.1f} ms (stopping {:.1f} ms, copying {:.1f} ms "
                    "of registers and {} KiB of stacks, resuming {:.1f} ms)", t->origin,
                    t->threads.size(), ms_since(t0), frozen_ms, copied_ms - frozen_ms, bytes >> 10,
                    ms_since(t0) - copied_ms));
  }
  if (t->threads.empty()) throw Error(who(pid) + ": process exited during the snapshot");
  std::string maps = read_small_file(proc + "/maps", kMaxMapsBytes);
  read_thread_names(*t, proc);
  t->memory = std::make_unique<LiveMemory>(std::move(copies), std::move(futexes));
  report_maps_modules(*t, src, std::move(maps));
  check_modules(t->dwfl.get(), t->warnings);
  return t;
}

}  // namespace threadleak::detail
