// Freezing a live process (see freeze.hpp): tracer threads that seize,
// stop and copy their share of the threads, and resume them by ending.
//
// What a thread costs while the process is frozen, measured on the 2-core
// VM of docs/performance.md: PTRACE_INTERRUPT 5-6 us of the tracer's CPU
// (it wakes the thread, which must then run to stop and later to resume:
// 10-18 us of its own), PTRACE_GETREGS ~2 us, its stack copy 2.5-4 us,
// and the resume. Seizing
// (~1.5 us) happens before the pause: a seized thread runs on. waitpid is
// needed only for a thread that PTRACE_GETREGS finds not stopped yet.
// The resume is the tracer threads ending rather than a PTRACE_DETACH per
// thread (~7 us each, plus a waitpid per thread to learn which signal to
// hand back): the kernel detaches an ending tracer's tracees in one pass
// (4-6 us a thread; the passes of two tracers run one after the other,
// under the lock of the task list), keeps a signal that stopped a thread
// and delivers it, and the target's threads spend less CPU to stop and
// resume (18 ms instead of 24 ms for 1,000 threads, one run).
#include "source/freeze.hpp"

#include <dirent.h>
#include <limits.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <iterator>
#include <mutex>
#include <thread>
#include <utility>

#include <fmt/format.h>

#include "util.hpp"

namespace threadleak::detail {
namespace {

using Clock = std::chrono::steady_clock;

constexpr std::uint64_t kRedZone = 128;               // below rsp, used by leaf functions
constexpr std::uint64_t kMaxStackCopy = 1ull << 20;   // per thread; deeper stacks are cut
constexpr int kMaxRescans = 50;                       // task-list re-reads while threads spawn
constexpr std::size_t kMaxMapsBytes = 64u << 20;
constexpr std::size_t kTwoTracersFrom = 256;          // threads; below, one tracer is as quick

std::string who(int pid) { return "pid " + std::to_string(pid); }

double thread_cpu_ms() {
  timespec ts{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

double ms_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

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

// The process's live threads as the kernel counts them (the "Threads:" line
// of /proc/PID/status, read in O(1) whatever the count); -1 if unknown.
long thread_count(int pid) {
  std::string status = read_small_file("/proc/" + std::to_string(pid) + "/status", 1 << 16);
  std::size_t at = status.find("\nThreads:");
  if (at == std::string::npos) return -1;
  return std::strtol(status.c_str() + at + 9, nullptr, 10);
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

// Seizes `tids` (ascending) and drops those that exited meanwhile. Stops at
// the first other failure.
SeizeFailure seize(std::vector<int>& tids) {
  std::size_t kept = 0;
  for (int tid : tids) {
    if (::ptrace(PTRACE_SEIZE, tid, nullptr, nullptr) == 0) {
      tids[kept++] = tid;
      continue;
    }
    if (errno == ESRCH) continue;   // exited between listing and seizing
    int err = errno;
    tids.resize(kept);
    return {tid, err};
  }
  tids.resize(kept);
  return {};
}

// A seized thread's registers once it has stopped. PTRACE_GETREGS fails
// with ESRCH until the thread is in its ptrace stop; only then is its stop
// waited for. False if it exited instead.
bool regs_when_stopped(int tid, UserRegs& regs, std::size_t& waited) {
  if (::ptrace(PTRACE_GETREGS, tid, nullptr, &regs) == 0) return true;
  if (errno != ESRCH) return false;
  ++waited;
  for (;;) {
    int status = 0;
    pid_t r = ::waitpid(tid, &status, __WALL);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0 || WIFEXITED(status) || WIFSIGNALED(status)) return false;
    if (WIFSTOPPED(status)) break;
  }
  return ::ptrace(PTRACE_GETREGS, tid, nullptr, &regs) == 0;
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

using StackCopy = CopiedMemory::Copy;

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

  // Before the freeze: room for n threads, and n stack buffers whose pages
  // are faulted in now (a fresh page costs a few us to fault in on this VM,
  // ~5 us a thread inside the freeze when each copy was allocated there).
  // A stack deeper than kSpareBytes grows its buffer while frozen.
  void prepare(std::size_t n) {
    threads_.reserve(n);
    copies_.reserve(n);
    pending_.reserve(kBatch);
    spares_.resize(n);
    for (std::string& s : spares_) s.resize(kSpareBytes);
  }

  // False if the thread exited instead of stopping.
  bool copy(int tid) {
    UserRegs regs;
    if (!regs_when_stopped(tid, regs, waited)) return false;
    RawThread& th = threads_.emplace_back();
    th.tid = tid;
    th.regs = regs;
    if (!reread_ && !covers(maps_, regs.rsp)) {
      maps_ = parse_maps(read_small_file("/proc/" + std::to_string(pid_) + "/maps", kMaxMapsBytes));
      reread_ = true;
    }
    std::uint64_t start = 0, len = 0;
    if (stack_range(maps_, regs.rsp, start, len)) pending_.push_back({start, buffer(len)});
    if (pending_.size() >= kBatch) flush();
    return true;
  }

  // Reads the stacks not read yet.
  void flush() {
    auto t0 = Clock::now();
    read_stacks(pid_, mem_fd_, pending_);
    read_ms += ms_between(t0, Clock::now());
    for (auto& c : pending_) copies_.push_back(std::move(c));
    pending_.clear();
  }

  // Moves the threads and stack copies out.
  void take(std::vector<RawThread>& threads, std::vector<StackCopy>& copies) {
    for (auto& th : threads_) threads.push_back(std::move(th));
    for (auto& c : copies_) copies.push_back(std::move(c));
    threads_.clear();
    copies_.clear();
  }

  std::size_t waited = 0;   // threads not stopped yet when first asked for registers
  double read_ms = 0;       // reading stacks

 private:
  static constexpr std::size_t kBatch = 64;
  // A parked thread uses ~4.5 KiB; the slack is memory held until the end
  // (8 KiB cost 35 MB more than exact copies at 10,000 threads, 6 KiB 15 MB).
  static constexpr std::size_t kSpareBytes = 6144;

  std::string buffer(std::size_t len) {
    std::string b;
    if (!spares_.empty()) {
      b = std::move(spares_.back());
      spares_.pop_back();
    }
    b.resize(len);
    return b;
  }

  int pid_;
  int mem_fd_;
  std::vector<Mapping> maps_;
  bool reread_ = false;
  std::vector<RawThread> threads_;
  std::vector<StackCopy> pending_, copies_;
  std::vector<std::string> spares_;
};

}  // namespace

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

// One tracer thread. It seizes its share when it starts, then obeys one
// command at a time: stop (interrupt and copy its share), stop more (seize,
// interrupt and copy threads found later), end. Ending resumes its threads:
// it holds them stopped until then, whatever happens in it (an error is
// kept for the caller, the threads stay held).
class Tracer {
 public:
  Tracer(int pid, int mem_fd, const std::vector<Mapping>& maps, std::vector<int> tids)
      : share_(std::move(tids)), copier_(pid, mem_fd, maps) {
    worker_ = std::thread([this] { run(); });
  }
  ~Tracer() { end(); join(); }
  Tracer(const Tracer&) = delete;
  Tracer& operator=(const Tracer&) = delete;

  // Waits until its share is seized; the first refused seize, if any.
  // Rethrows what preparing threw (nothing seized then).
  SeizeFailure wait_seized() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return seized_; });
    if (error_) std::rethrow_exception(std::exchange(error_, nullptr));
    return failure_;
  }
  // Seized threads: they stay held (seized or stopped) until it ends.
  const std::vector<int>& share() const { return share_; }

  // Commands: stop its share; seize and stop `more`. Then wait_done().
  void stop() { command(Cmd::stop, {}); }
  void stop_more(std::vector<int> more) { command(Cmd::stop_more, std::move(more)); }

  struct Done {
    std::size_t stopped = 0;   // threads copied by this command
    double interrupt_ms = 0, copy_ms = 0, read_ms = 0, interrupt_cpu_ms = 0, copy_cpu_ms = 0;
    std::size_t waited = 0;
    SeizeFailure failure;      // stop_more: a refused seize
  };
  // Waits for the command; rethrows what it threw.
  Done wait_done() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return cmd_ == Cmd::none && !busy_; });
    if (error_) std::rethrow_exception(std::exchange(error_, nullptr));
    return done_;
  }
  // When it sent its first interrupt (after stop()'s wait_done()).
  Clock::time_point first_interrupt() const { return first_interrupt_; }

  // Tells it to end (its threads resume as it ends), without waiting.
  void end() {
    if (!worker_.joinable()) return;
    command(Cmd::end, {});
  }
  // Waits until it is gone, i.e. the kernel has resumed all its threads.
  void join();

  void take(std::vector<RawThread>& threads, std::vector<StackCopy>& copies) { copier_.take(threads, copies); }

 private:
  enum class Cmd { none, stop, stop_more, end };

  void command(Cmd c, std::vector<int> more) {
    {
      std::lock_guard lock(mu_);
      cmd_ = c;
      more_ = std::move(more);
    }
    cv_.notify_all();
  }

  void run();
  Done stop_threads(const std::vector<int>& tids);

  std::vector<int> share_;
  ThreadCopier copier_;
  std::thread worker_;
  pid_t worker_tid_ = 0;
  Clock::time_point first_interrupt_{};
  std::mutex mu_;
  std::condition_variable cv_;
  bool seized_ = false;           // guarded by mu_
  SeizeFailure failure_;          // guarded by mu_
  Cmd cmd_ = Cmd::none;           // guarded by mu_: the command not yet taken
  bool busy_ = false;             // guarded by mu_: a command is being carried out
  std::vector<int> more_;         // guarded by mu_
  Done done_;                     // guarded by mu_
  std::exception_ptr error_;      // guarded by mu_
};

// Interrupts `tids` highest first, then copies each as it stops (a stopped
// thread's registers and stack no longer change, so copying it while the
// others stop is the same cut). Highest first: the kernel resumes an ending
// tracer's tracees latest-seized first, so each thread is resumed in the
// order it was interrupted and none is held much longer than the rest.
Tracer::Done Tracer::stop_threads(const std::vector<int>& tids) {
  if (first_interrupt_ == Clock::time_point{}) first_interrupt_ = Clock::now();
  auto t0 = Clock::now();
  double c0 = thread_cpu_ms();
  for (auto it = tids.rbegin(); it != tids.rend(); ++it)
    ::ptrace(PTRACE_INTERRUPT, *it, nullptr, nullptr);   // if it exited, the copy tells
  auto t1 = Clock::now();
  double c1 = thread_cpu_ms();
  Done done;
  copier_.waited = 0;
  copier_.read_ms = 0;
  for (auto it = tids.rbegin(); it != tids.rend(); ++it) done.stopped += copier_.copy(*it);
  copier_.flush();
  done.interrupt_ms = ms_between(t0, t1);
  done.copy_ms = ms_between(t1, Clock::now());
  done.read_ms = copier_.read_ms;
  done.interrupt_cpu_ms = c1 - c0;
  done.copy_cpu_ms = thread_cpu_ms() - c1;
  done.waited = copier_.waited;
  return done;
}

void Tracer::run() {
  worker_tid_ = ::gettid();
  std::exception_ptr error;
  try {
    copier_.prepare(share_.size());
  } catch (...) {
    error = std::current_exception();
  }
  SeizeFailure failure = error ? SeizeFailure{} : seize(share_);
  {
    std::lock_guard lock(mu_);
    seized_ = true;
    failure_ = failure;
    error_ = error;
  }
  cv_.notify_all();
  for (;;) {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return cmd_ != Cmd::none; });
    Cmd c = std::exchange(cmd_, Cmd::none);
    if (c == Cmd::end) return;   // the kernel resumes every tracee as this thread ends
    std::vector<int> more = std::move(more_);
    busy_ = true;
    lock.unlock();
    Done done;
    std::exception_ptr error;
    try {
      if (c == Cmd::stop_more) {
        done.failure = seize(more);
        share_.insert(share_.end(), more.begin(), more.end());
      }
      SeizeFailure f = done.failure;
      done = stop_threads(c == Cmd::stop ? share_ : more);
      done.failure = f;
    } catch (...) {
      error = std::current_exception();
    }
    lock.lock();
    done_ = done;
    error_ = error;
    busy_ = false;
    lock.unlock();
    cv_.notify_all();
  }
}

void Tracer::join() {
  if (!worker_.joinable()) return;
  worker_.join();
  // join() returns once the thread has released its memory, which may be
  // before the kernel has detached its tracees; its /proc entry goes after.
  const std::string task = "/proc/self/task/" + std::to_string(worker_tid_);
  for (int i = 0; i < 100000 && ::access(task.c_str(), F_OK) == 0; ++i) {
    timespec ts{0, 20000};
    ::nanosleep(&ts, nullptr);
  }
}

Freeze::Freeze(int pid, int mem_fd, const std::vector<Mapping>& maps, unsigned tracers) : pid_(pid) {
  auto t0 = Clock::now();
  std::vector<int> tids = list_tasks(pid);
  seen_ = tids;
  std::size_t n = tracers >= 2 && tids.size() >= kTwoTracersFrom ? 2 : 1;
  for (std::size_t i = 0; i < n; ++i) {
    auto from = tids.begin() + static_cast<std::ptrdiff_t>(tids.size() * i / n);
    auto to = tids.begin() + static_cast<std::ptrdiff_t>(tids.size() * (i + 1) / n);
    tracers_.push_back(std::make_unique<Tracer>(pid, mem_fd, maps, std::vector<int>(from, to)));
  }
  SeizeFailure failure;
  for (auto& t : tracers_)
    if (SeizeFailure f = t->wait_seized(); f.err && !failure.err) failure = f;
  times_.seize_ms = ms_between(t0, Clock::now());
  if (failure.err) {
    thaw();
    fail_seize(pid, failure.tid, failure.err);
  }
}

Freeze::~Freeze() { thaw(); }

void Freeze::stop_and_copy() {
  for (auto& t : tracers_) t->stop();
  std::size_t held = 0;
  for (auto& t : tracers_) {
    Tracer::Done d = t->wait_done();
    held += d.stopped;
    times_.tracers.push_back(fmt::format("{} threads: interrupting {:.1f} ms ({:.1f} ms CPU), registers and stacks {:.1f} ms "
                                         "({:.1f} ms CPU; stack reads {:.1f} ms, {} not stopped yet)",
                                         d.stopped, d.interrupt_ms, d.interrupt_cpu_ms, d.copy_ms, d.copy_cpu_ms, d.read_ms, d.waited));
  }
  first_interrupt_ = Clock::time_point::max();
  for (auto& t : tracers_) first_interrupt_ = std::min(first_interrupt_, t->first_interrupt());
  stopped_ = true;
  auto t1 = Clock::now();
  times_.stop_ms = ms_between(first_interrupt_, t1);
  stop_new_threads(held);
  times_.recheck_ms = ms_between(t1, Clock::now());
  for (auto& t : tracers_) t->take(threads, stacks);
  if (threads.empty()) throw Error(who(pid_) + ": process exited before it could be read", ErrorKind::target_vanished);
  std::sort(threads.begin(), threads.end(), [](const RawThread& a, const RawThread& b) { return a.tid < b.tid; });
}

// With every listed thread stopped, a thread created meanwhile (by one not
// stopped yet) would run on: when the kernel's count of live threads is not
// the number held, the task list is read again and the new threads stopped,
// until none appears.
void Freeze::stop_new_threads(std::size_t held) {
  for (int round = 0; round < kMaxRescans; ++round) {
    if (thread_count(pid_) == static_cast<long>(held)) return;
    std::vector<int> tids = list_tasks(pid_);
    ++times_.relists;
    std::vector<int> fresh;
    std::set_difference(tids.begin(), tids.end(), seen_.begin(), seen_.end(), std::back_inserter(fresh));
    if (fresh.empty()) return;   // the difference is threads that exited (zombies) or could not be read
    seen_.insert(seen_.end(), fresh.begin(), fresh.end());
    std::sort(seen_.begin(), seen_.end());
    tracers_.front()->stop_more(std::move(fresh));
    Tracer::Done d = tracers_.front()->wait_done();
    if (d.failure.err) fail_seize(pid_, d.failure.tid, d.failure.err);
    held += d.stopped;
  }
}

void Freeze::thaw() {
  if (thawed_) return;
  thawed_ = true;
  auto t0 = Clock::now();
  for (auto& t : tracers_) t->end();   // all at once
  for (auto& t : tracers_) t->join();
  if (stopped_) {
    times_.held_ms = ms_between(first_interrupt_, t0);
    times_.resume_ms = ms_between(t0, Clock::now());
  }
  tracers_.clear();
}

}  // namespace threadleak::detail
