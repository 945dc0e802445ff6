// Source: a live process, frozen for as short a time as possible.
//
// Before: /proc/PID/maps is read while the process still runs.
// Freeze: PTRACE_SEIZE + PTRACE_INTERRUPT every listed thread first, then
// wait for each to stop (pipelined: the threads stop in parallel, not one
// round trip after another); re-list the task directory until no new thread
// appears. Copy, each thread as soon as it has stopped: registers
// (PTRACE_GETREGS) and the used part of its stack (from just below rsp to
// the end of its mapping, by process_vm_readv in batches); maps are re-read
// while frozen only if some rsp lies outside the maps read before.
// Thaw: PTRACE_DETACH, in the order of the freeze.
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
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <map>
#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>

#include <fmt/format.h>

#include "golang/goroutines.hpp"
#include "source/memory.hpp"
#include "source/proc_facts.hpp"
#include "source/thread_cpu.hpp"
#include "target.hpp"
#include "util.hpp"

namespace threadleak::detail {
namespace {

constexpr std::uint64_t kRedZone = 128;               // below rsp, used by leaf functions
constexpr unsigned kGoMaxFrames = 256;                 // per goroutine
constexpr std::uint64_t kMaxStackCopy = 1ull << 20;   // per thread; deeper stacks are cut
constexpr int kMaxRescans = 50;                       // task-list re-reads while threads spawn
constexpr std::size_t kMaxMapsBytes = 64u << 20;
constexpr std::size_t kTwoTracersFrom = 256;           // threads; below, one tracer is as quick

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

double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

// Seized threads, detached on every path out.
class Freezer {
 public:
  Freezer() = default;
  ~Freezer() { thaw(); }
  Freezer(const Freezer&) = delete;
  Freezer& operator=(const Freezer&) = delete;

  // Seizes and interrupts tid: its pause starts here. Returns 0, or the
  // errno of a failed seize.
  int seize(int tid) {
    if (::ptrace(PTRACE_SEIZE, tid, nullptr, nullptr) != 0) return errno;
    stopped_[tid] = {0, std::chrono::steady_clock::now()};
    ::ptrace(PTRACE_INTERRUPT, tid, nullptr, nullptr);   // if it exited, wait_stopped() tells
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
      if (!event_stop && sig != SIGTRAP) stopped_[tid].sig = sig;
      return true;
    }
  }

  void thaw() {
    for (const auto& [tid, held] : stopped_) {
      ::ptrace(PTRACE_DETACH, tid, nullptr, reinterpret_cast<void*>(static_cast<long>(held.sig)));
      longest_hold_ms_ = std::max(longest_hold_ms_, ms_since(held.since));
    }
    stopped_.clear();
  }

  std::size_t size() const { return stopped_.size(); }
  // The longest any thread was held, from its interrupt to its detach.
  double longest_hold_ms() const { return longest_hold_ms_; }

 private:
  struct Held {
    int sig;                                       // signal to re-deliver at detach
    std::chrono::steady_clock::time_point since;   // when it was interrupted
  };
  std::map<int, Held> stopped_;
  double longest_hold_ms_ = 0;
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

// The used part of the stack holding sp: from just below sp (the red zone)
// to the end of its mapping, capped. False if sp is in no mapping.
bool stack_range(const std::vector<Mapping>& maps, std::uint64_t sp, std::uint64_t& start,
                 std::uint64_t& len) {
  const Mapping* it = range_holding(maps, sp, &Mapping::start, &Mapping::end);
  if (!it) return false;
  start = std::max(it->start, sp > kRedZone ? sp - kRedZone : 0);
  len = std::min(it->end - start, kMaxStackCopy);
  return true;
}

void pread_stack(int mem_fd, StackCopy& c) {
  c.bytes.resize(pread_full(mem_fd, c.bytes.data(), c.bytes.size(), c.start));
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
                            who(pid), tid, errno_text(err)),
                ErrorKind::permission);
  throw Error(fmt::format("{}: cannot trace thread {}: {}", who(pid), tid, errno_text(err)),
              err == ESRCH ? ErrorKind::target_vanished : error_kind_of_errno(err));
}

struct SeizeFailure {
  int tid = 0;
  int err = 0;   // errno of the failed PTRACE_SEIZE; 0: none failed
};

// Seizes and interrupts all of `tids` first, then waits for each and hands
// it to `stopped` as soon as it has stopped: the threads stop concurrently,
// and a stopped thread's registers and stack no longer change, so copying
// it then is as good as copying it once all are stopped (and overlaps the
// stopping of the others). A thread that exited meanwhile is skipped. On a
// failed seize, returns at once; what was seized stays held by `fr`.
// (Seizing all before interrupting any was tried: the longest hold did not
// change, ~15-25 ms at 1,000 threads either way.)
template <typename OnStopped>
SeizeFailure seize_and_wait(Freezer& fr, const std::vector<int>& tids, OnStopped&& stopped) {
  std::vector<int> seized;
  for (int tid : tids) {
    int err = fr.seize(tid);
    if (err == ESRCH) continue;       // exited between listing and seizing
    if (err) return {tid, err};
    seized.push_back(tid);
  }
  for (int tid : seized)
    if (fr.wait_stopped(tid)) stopped(tid);
  return {};
}

// Seizes every thread, re-listing tasks until no new one appears. Threads
// in `others` are left alone (another tracer thread has them); `tids` is
// the first listing, if already made.
template <typename OnStopped>
void freeze_all(int pid, Freezer& fr, OnStopped&& stopped, std::vector<int> tids,
                const std::vector<int>& others) {
  std::set<int> seen(others.begin(), others.end());
  for (int round = 0; round < kMaxRescans; ++round) {
    if (round > 0 || tids.empty()) tids = list_tasks(pid);
    std::erase_if(tids, [&](int tid) { return !seen.insert(tid).second; });
    if (tids.empty()) return;
    if (SeizeFailure f = seize_and_wait(fr, tids, stopped); f.err) fail_seize(pid, f.tid, f.err);
  }
}

bool covers(const std::vector<Mapping>& maps, std::uint64_t addr) {
  return range_holding(maps, addr, &Mapping::start, &Mapping::end) != nullptr;
}

// While frozen: registers and used stack of each stopped thread, as it
// stops. Stacks are read in batches (read_stacks). Maps are re-read only
// when a stack lies outside the ones read before the freeze (a thread
// created meanwhile).
class ThreadCopier {
 public:
  ThreadCopier(int pid, int mem_fd, std::vector<Mapping> maps) : pid_(pid), mem_fd_(mem_fd), maps_(std::move(maps)) {}

  void copy(int tid) {
    RawThread th;
    th.tid = tid;
    UserRegs regs;
    if (::ptrace(PTRACE_GETREGS, tid, nullptr, &regs) != 0) return;
    th.regs = regs;
    if (!reread_ && !covers(maps_, regs.rsp)) {
      maps_ = parse_maps(read_small_file("/proc/" + std::to_string(pid_) + "/maps", kMaxMapsBytes));
      reread_ = true;
    }
    std::uint64_t start = 0, len = 0;
    if (stack_range(maps_, regs.rsp, start, len)) pending_.push_back({start, std::string(len, '\0')});
    threads_.push_back(std::move(th));
    if (pending_.size() >= kBatch) flush();
  }

  // Reads the stacks not read yet; moves the threads and stack copies out.
  void finish(std::vector<RawThread>& threads, std::vector<StackCopy>& copies) {
    flush();
    for (auto& th : threads_) threads.push_back(std::move(th));
    for (auto& c : copies_) copies.push_back(std::move(c));
    threads_.clear();
    copies_.clear();
  }

 private:
  static constexpr std::size_t kBatch = 64;
  void flush() {
    read_stacks(pid_, mem_fd_, pending_);
    for (auto& c : pending_) copies_.push_back(std::move(c));
    pending_.clear();
  }

  int pid_;
  int mem_fd_;
  std::vector<Mapping> maps_;
  bool reread_ = false;
  std::vector<RawThread> threads_;
  std::vector<StackCopy> pending_, copies_;
};

// A second tracer: ptrace ties each tracee to the thread that seized it,
// so with two cores a second thread seizes, copies and later detaches half
// of the threads, and the freeze and thaw take about half as long. It
// holds its threads stopped until thaw() (or its destruction).
class SecondTracer {
 public:
  SecondTracer(int pid, int mem_fd, const std::vector<Mapping>& maps, std::vector<int> tids)
      : tids_(std::move(tids)), copier_(pid, mem_fd, maps) {
    worker_ = std::thread([this] { run(); });
  }
  ~SecondTracer() { thaw(); }
  SecondTracer(const SecondTracer&) = delete;
  SecondTracer& operator=(const SecondTracer&) = delete;

  const std::vector<int>& tids() const { return tids_; }

  struct Outcome {
    std::size_t stopped = 0;   // threads it holds stopped
    SeizeFailure failure;
  };
  // Waits until its threads are stopped and copied; moves the copies into
  // `threads` and `copies`.
  Outcome wait_copied(std::vector<RawThread>& threads, std::vector<StackCopy>& copies) {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return copied_; });
    copier_.finish(threads, copies);
    return outcome_;
  }

  // Tells the worker to detach its threads, without waiting.
  void start_thaw() {
    {
      std::lock_guard lock(mu_);
      thaw_ = true;
    }
    cv_.notify_all();
  }

  void thaw() {
    if (!worker_.joinable()) return;
    start_thaw();
    worker_.join();
  }

  // After thaw(): the longest any of its threads was held.
  double longest_hold_ms() const { return longest_hold_ms_; }

 private:
  void run() {
    Freezer fr;
    SeizeFailure failure = seize_and_wait(fr, tids_, [&](int tid) { copier_.copy(tid); });
    std::unique_lock lock(mu_);
    outcome_ = {fr.size(), failure};
    copied_ = true;
    cv_.notify_all();
    cv_.wait(lock, [&] { return thaw_; });
    lock.unlock();
    fr.thaw();
    longest_hold_ms_ = fr.longest_hold_ms();
  }

  std::vector<int> tids_;
  ThreadCopier copier_;
  std::thread worker_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool copied_ = false, thaw_ = false;   // guarded by mu_
  Outcome outcome_;                      // guarded by mu_
  double longest_hold_ms_ = 0;           // written by the worker before it ends
};

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
  std::vector<StackCopy> copies;
  t->go = golang::open_go(proc + "/exe", t->executable, t->entry, t->warnings);  // before freezing: reads only the file
  t->captured_at = now_utc();   // the freeze starts now: the stacks' time
  auto t0 = std::chrono::steady_clock::now();
  double frozen_ms = 0, copied_ms = 0, longest_hold_ms = 0;
  std::vector<StackCopy> futexes;   // lock objects around waited-on futex words (hang triage)
  std::set<std::uint64_t> futex_words;
  {
    // Both cores seize, copy and detach when there are enough threads.
    std::vector<int> tids = list_tasks(pid);
    std::unique_ptr<SecondTracer> second;
    const char* one = std::getenv("THREADLEAK_ONE_TRACER");   // to compare
    if (tids.size() >= kTwoTracersFrom && !(one && *one)) {
      std::vector<int> half(tids.begin() + static_cast<std::ptrdiff_t>(tids.size() / 2), tids.end());
      tids.resize(tids.size() / 2);
      second = std::make_unique<SecondTracer>(pid, mem.get(), mappings, std::move(half));
    }
    Freezer fr;   // declared after `second`: thaws first, then the second tracer's
    ThreadCopier copier(pid, mem.get(), mappings);
    freeze_all(pid, fr, [&](int tid) { copier.copy(tid); }, std::move(tids),
               second ? second->tids() : std::vector<int>{});
    std::size_t stopped = fr.size();
    if (second) {
      SecondTracer::Outcome o = second->wait_copied(t->threads, copies);
      if (o.failure.err) fail_seize(pid, o.failure.tid, o.failure.err);
      stopped += o.stopped;
    }
    if (stopped == 0) throw Error(who(pid) + ": process exited before it could be read", ErrorKind::target_vanished);
    frozen_ms = ms_since(t0);
    copier.finish(t->threads, copies);
    std::sort(t->threads.begin(), t->threads.end(),
              [](const RawThread& a, const RawThread& b) { return a.tid < b.tid; });
    copied_ms = ms_since(t0);
    if (t->go) golang::read_goroutines_live(*t->go, mem.get(), kGoMaxFrames, t->threads);
    for (const RawThread& th : t->threads)
      if (th.regs && th.regs->orig_rax == kFutexSyscall && futex_words.insert(th.regs->rdi).second)
        copy_futex(mem.get(), th.regs->rdi, futexes);
    // Thaw: both tracers detach at once.
    if (second) second->start_thaw();
    fr.thaw();
    longest_hold_ms = fr.longest_hold_ms();
    if (second) {
      second->thaw();
      longest_hold_ms = std::max(longest_hold_ms, second->longest_hold_ms());
    }
  }
  if (log_enabled()) {
    std::size_t bytes = 0;
    for (const auto& c : copies) bytes += c.bytes.size();
    log(fmt::format("{}: {} threads frozen for {:.1f} ms (stopping and copying {:.1f} ms, copying "
                    "the rest {:.1f} ms, {} KiB of stacks; resuming {:.1f} ms); the longest any thread was "
                    "held: {:.1f} ms", t->origin, t->threads.size(), ms_since(t0), frozen_ms,
                    copied_ms - frozen_ms, bytes >> 10, ms_since(t0) - copied_ms, longest_hold_ms));
  }
  if (t->threads.empty()) throw Error(who(pid) + ": process exited during the snapshot", ErrorKind::target_vanished);
  t->longest_pause_ms = longest_hold_ms;
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
