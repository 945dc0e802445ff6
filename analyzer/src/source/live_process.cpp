// Source: a live process, frozen for as short a time as possible.
//
// Freeze: PTRACE_SEIZE + PTRACE_INTERRUPT every thread (re-listing the task
// directory until no new thread appears). Copy: registers (PTRACE_GETREGS),
// the used part of each stack (from just below rsp to the end of its
// mapping, through /proc/PID/mem) and /proc/PID/maps. Thaw: PTRACE_DETACH.
// Unwinding and symbolizing happen afterwards, offline, on the copies.
//
// Never harm the target: no writes; a detach guard resumes every thread on
// every path; PTRACE_SEIZE (without PTRACE_O_EXITKILL) means the kernel
// detaches the threads if threadleak itself is killed mid-way.
#include <dirent.h>
#include <elf.h>
#include <fcntl.h>
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

#include "target.hpp"

namespace threadleak::detail {
namespace {

constexpr std::uint64_t kRedZone = 128;               // below rsp, used by leaf functions
constexpr std::uint64_t kMaxStackCopy = 1ull << 20;   // per thread; deeper stacks are cut
constexpr int kMaxRescans = 50;                       // task-list re-reads while threads spawn

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

  bool has(int tid) const { return stopped_.count(tid) != 0; }
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

class LiveMemory : public Memory {
 public:
  explicit LiveMemory(std::vector<StackCopy> copies) : copies_(std::move(copies)) {
    std::sort(copies_.begin(), copies_.end(),
              [](const StackCopy& a, const StackCopy& b) { return a.start < b.start; });
  }
  std::size_t read(std::uint64_t addr, void* buf, std::size_t len) override {
    auto it = std::upper_bound(copies_.begin(), copies_.end(), addr,
                               [](std::uint64_t a, const StackCopy& c) { return a < c.start; });
    if (it == copies_.begin()) return 0;
    --it;
    std::uint64_t rel = addr - it->start;
    if (rel >= it->bytes.size()) return 0;
    std::size_t n = std::min<std::uint64_t>(len, it->bytes.size() - rel);
    std::memcpy(buf, it->bytes.data() + rel, n);
    return n;
  }

 private:
  std::vector<StackCopy> copies_;
};

std::string copy_stack(int mem_fd, const std::vector<Mapping>& maps, std::uint64_t sp,
                       std::uint64_t& start) {
  auto it = std::upper_bound(maps.begin(), maps.end(), sp,
                             [](std::uint64_t a, const Mapping& m) { return a < m.start; });
  if (it == maps.begin()) return {};
  --it;
  if (sp >= it->end) return {};
  start = std::max(it->start, sp > kRedZone ? sp - kRedZone : 0);
  std::uint64_t len = std::min(it->end - start, kMaxStackCopy);
  std::string buf(len, '\0');
  ssize_t n = ::pread(mem_fd, buf.data(), len, static_cast<off_t>(start));
  buf.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
  return buf;
}

std::uint64_t read_entry(int pid) {
  std::string auxv = read_small_file("/proc/" + std::to_string(pid) + "/auxv");
  for (std::size_t off = 0; off + 16 <= auxv.size(); off += 16) {
    std::uint64_t key, val;
    std::memcpy(&key, auxv.data() + off, 8);
    std::memcpy(&val, auxv.data() + off + 8, 8);
    if (key == AT_ENTRY) return val;
  }
  return 0;
}

[[noreturn]] void fail_seize(int pid, int tid, int err) {
  if (err == EPERM)
    throw Error(fmt::format("{}: not permitted to trace thread {} ({}); is a debugger attached, "
                            "or is ptrace restricted? try as the process's owner or root",
                            who(pid), tid, errno_text(err)));
  throw Error(fmt::format("{}: cannot trace thread {}: {}", who(pid), tid, errno_text(err)));
}

// Seizes every thread, re-listing tasks until the set is stable.
void freeze_all(int pid, Freezer& fr) {
  std::set<int> seen;
  for (int round = 0; round < kMaxRescans; ++round) {
    bool added = false;
    for (int tid : list_tasks(pid)) {
      if (!seen.insert(tid).second) continue;
      added = true;
      int err = fr.seize(tid);
      if (err == ESRCH) continue;       // exited between listing and seizing
      if (err) fail_seize(pid, tid, err);
      fr.wait_stopped(tid);
    }
    if (!added) return;
  }
}

std::string iso_now() {
  char buf[32];
  time_t t = std::time(nullptr);
  struct tm tm;
  gmtime_r(&t, &tm);
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

void report_live_modules(Target& t, const Source& src, const std::string& maps) {
  t.setup = std::make_unique<DwflSetup>();
  init_callbacks(*t.setup, src, true);
  t.dwfl.reset(dwfl_begin(&t.setup->callbacks));
  if (!t.dwfl) throw Error(t.origin + ": dwfl_begin: " + dwfl_error());
  std::string copy = maps;
  FILE* f = ::fmemopen(copy.data(), copy.size(), "r");
  if (!f) throw Error(t.origin + ": fmemopen: " + errno_text(errno));
  int rc = dwfl_linux_proc_maps_report(t.dwfl.get(), f);
  std::fclose(f);
  if (rc != 0) t.warnings.push_back("could not list all modules: " + dwfl_error());
  if (dwfl_report_end(t.dwfl.get(), nullptr, nullptr) != 0)
    throw Error(t.origin + ": dwfl_report_end: " + dwfl_error());
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
  char exe[4096];
  ssize_t n = ::readlink((proc + "/exe").c_str(), exe, sizeof exe - 1);
  t->executable = n > 0 ? std::string(exe, static_cast<std::size_t>(n)) : "";
  t->entry = read_entry(pid);
  t->captured_at = iso_now();
  Fd mem(::open((proc + "/mem").c_str(), O_RDONLY | O_CLOEXEC));
  if (!mem) throw Error(who(pid) + ": cannot read memory: " + errno_text(errno));

  std::string maps;
  std::vector<StackCopy> copies;
  {
    Freezer fr;
    freeze_all(pid, fr);
    if (fr.size() == 0) throw Error(who(pid) + ": process exited before it could be read");
    maps = read_small_file(proc + "/maps", 64u << 20);
    auto mappings = parse_maps(maps);
    for (int tid : list_tasks(pid)) {
      if (!fr.has(tid)) continue;
      RawThread th;
      th.tid = tid;
      UserRegs regs;
      if (::ptrace(PTRACE_GETREGS, tid, nullptr, &regs) != 0) continue;
      th.regs = regs;
      std::uint64_t start = 0;
      std::string bytes = copy_stack(mem.get(), mappings, regs.rsp, start);
      if (!bytes.empty()) copies.push_back({start, std::move(bytes)});
      t->threads.push_back(std::move(th));
    }
  }  // thaw
  if (t->threads.empty()) throw Error(who(pid) + ": process exited during the snapshot");
  for (auto& th : t->threads) {
    th.name = read_small_file(proc + "/task/" + std::to_string(th.tid) + "/comm", 64);
    if (!th.name.empty() && th.name.back() == '\n') th.name.pop_back();
  }
  t->memory = std::make_unique<LiveMemory>(std::move(copies));
  report_live_modules(*t, src, maps);
  check_modules(t->dwfl.get(), t->warnings);
  return t;
}

}  // namespace threadleak::detail
