// Source: a live process that a debugger (gdb, lldb) holds stopped and feeds.
//
// While a debugger is the tracer, threadleak cannot ptrace the process, and
// only the tracer gets the registers from the kernel. So the debugger hands
// over what only it has:
//   - the registers of every thread, as text (see parse_feed below), in a
//     file or on stdin;
//   - an open descriptor of /proc/PID/mem. The kernel checks permission when
//     the file is opened, so a descriptor the debugger opened reads fine even
//     where threadleak could not open the file itself (another user's view,
//     Yama ptrace_scope=1).
// Memory is read lazily, one page at a time, with pread on that descriptor
// (PagedMemory, memory.hpp): a read never crosses into an unmapped page, the
// unwinder touches only the few pages it needs, and a 4 GiB heap costs
// nothing. Modules come from /proc/PID/maps. Nothing is written, nothing is stopped or resumed here:
// the debugger keeps the process stopped and resumes it when the user says so.
#include "source/debugger_feed.hpp"
#include "source/memory.hpp"
#include "source/proc_facts.hpp"
#include "source/thread_cpu.hpp"

#include <elf.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <iostream>
#include <sstream>

#include <fmt/format.h>

namespace threadleak::detail {
namespace {

constexpr std::size_t kMaxThreads = 1u << 20;
constexpr std::size_t kMaxFeedBytes = 256u << 20;

// Where each register name lands in UserRegs.
std::uint64_t* reg_slot(UserRegs& r, const std::string& name) {
  static const std::pair<const char*, std::uint64_t UserRegs::*> kNames[] = {
      {"r15", &UserRegs::r15}, {"r14", &UserRegs::r14}, {"r13", &UserRegs::r13},
      {"r12", &UserRegs::r12}, {"rbp", &UserRegs::rbp}, {"rbx", &UserRegs::rbx},
      {"r11", &UserRegs::r11}, {"r10", &UserRegs::r10}, {"r9", &UserRegs::r9},
      {"r8", &UserRegs::r8},   {"rax", &UserRegs::rax}, {"rcx", &UserRegs::rcx},
      {"rdx", &UserRegs::rdx}, {"rsi", &UserRegs::rsi}, {"rdi", &UserRegs::rdi},
      {"orig_rax", &UserRegs::orig_rax}, {"rip", &UserRegs::rip}, {"cs", &UserRegs::cs},
      {"eflags", &UserRegs::eflags}, {"rsp", &UserRegs::rsp}, {"ss", &UserRegs::ss},
      {"fs_base", &UserRegs::fs_base}, {"gs_base", &UserRegs::gs_base}, {"ds", &UserRegs::ds},
      {"es", &UserRegs::es}, {"fs", &UserRegs::fs}, {"gs", &UserRegs::gs}};
  for (const auto& [n, member] : kNames)
    if (name == n) return &(r.*member);
  return nullptr;
}

// The syscall a stopped thread is in, from /proc when the debugger did not
// give orig_rax: "-1 ..." or "running" mean none.
std::uint64_t syscall_from_proc(int pid, int tid) {
  std::string s = read_small_file(fmt::format("/proc/{}/task/{}/syscall", pid, tid), 256);
  long nr = -1;
  if (std::sscanf(s.c_str(), "%ld", &nr) != 1) nr = -1;
  return static_cast<std::uint64_t>(nr);
}

// One line: "TID NAME=HEX NAME=HEX ...". rip and rsp are required.
RawThread parse_line(const std::string& line, const std::string& where, int pid) {
  std::istringstream in(line);
  long tid = 0;
  if (!(in >> tid) || tid <= 0 || tid > INT32_MAX) throw Error(where + ": expected a thread id first");
  UserRegs regs{};
  bool have_rip = false, have_rsp = false, have_orig = false;
  std::string item;
  while (in >> item) {
    auto eq = item.find('=');
    if (eq == std::string::npos) throw Error(where + ": expected NAME=VALUE, got '" + item + "'");
    std::string name = item.substr(0, eq), value = item.substr(eq + 1);
    std::uint64_t* slot = reg_slot(regs, name);
    if (!slot) continue;  // a register threadleak does not use
    char* end = nullptr;
    errno = 0;
    std::uint64_t v = std::strtoull(value.c_str(), &end, 0);
    if (value.empty() || errno || *end) throw Error(where + ": bad value for " + name + ": '" + value + "'");
    *slot = v;
    have_rip |= name == "rip";
    have_rsp |= name == "rsp";
    have_orig |= name == "orig_rax";
  }
  if (!have_rip || !have_rsp) throw Error(where + ": thread " + std::to_string(tid) + " lacks rip or rsp");
  if (!have_orig) regs.orig_rax = syscall_from_proc(pid, static_cast<int>(tid));
  RawThread t;
  t.tid = static_cast<int>(tid);
  t.regs = regs;
  return t;
}

std::string read_feed(const std::string& path) {
  std::ostringstream buf;
  if (path == "-") {
    buf << std::cin.rdbuf();
  } else {
    std::ifstream f(path, std::ios::binary);
    if (!f) throw Error(path + ": cannot read registers: " + errno_text(errno), error_kind_of_errno(errno));
    buf << f.rdbuf();
  }
  std::string text = buf.str();
  if (text.size() > kMaxFeedBytes) throw Error(path + ": register feed too large");
  return text;
}

// The feed: one line per thread, '#' comments and blank lines ignored.
std::vector<RawThread> parse_feed(const std::string& text, const std::string& origin, int pid) {
  std::vector<RawThread> threads;
  std::istringstream in(text);
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    auto first = line.find_first_not_of(" \t\r");
    if (first == std::string::npos || line[first] == '#') continue;
    if (threads.size() >= kMaxThreads) throw Error(origin + ": too many threads");
    threads.push_back(parse_line(line, fmt::format("{}: line {}", origin, n), pid));
  }
  if (threads.empty()) throw Error(origin + ": no threads in the register feed");
  std::sort(threads.begin(), threads.end(), [](auto& a, auto& b) { return a.tid < b.tid; });
  for (std::size_t i = 1; i < threads.size(); ++i)
    if (threads[i].tid == threads[i - 1].tid)
      throw Error(fmt::format("{}: thread {} given twice", origin, threads[i].tid));
  return threads;
}

void report_modules(Target& t, const Source& src, const std::string& proc) {
  std::string maps = read_small_file(proc + "/maps", 64u << 20);
  if (maps.empty()) throw Error(t.origin + ": cannot read " + proc + "/maps");
  report_maps_modules(t, src, maps, *t.memory);
}

void check_mem_fd(int fd, int pid) {
  struct stat st;
  if (fd < 0 || ::fstat(fd, &st) != 0)
    throw Error(fmt::format("pid {}: --mem-fd {} is not an open descriptor", pid, fd));
}

}  // namespace

std::unique_ptr<Target> open_debugger_feed(const Source& src) {
  elf_version(EV_CURRENT);
  const int pid = src.pid;
  const std::string proc = "/proc/" + std::to_string(pid);
  if (pid <= 0 || ::access(proc.c_str(), F_OK) != 0)
    throw Error(fmt::format("pid {}: no such process", pid), ErrorKind::not_found);
  check_mem_fd(src.mem_fd, pid);
  auto t = std::make_unique<Target>();
  t->kind = "live";
  t->origin = fmt::format("pid {}", pid);
  t->pid = pid;
  read_process_facts(*t, proc);
  t->threads = parse_feed(read_feed(src.regs_file), src.regs_file == "-" ? "registers on stdin" : src.regs_file, pid);
  read_thread_names(*t, proc);
  read_thread_cpu(*t, proc);   // the debugger holds the threads stopped: their times stand still
  t->memory = PagedMemory::of_process(src.mem_fd);   // the fd stays the debugger's: never closed here
  report_modules(*t, src, proc);
  check_modules(t->dwfl.get(), t->warnings);
  return t;
}

}  // namespace threadleak::detail
