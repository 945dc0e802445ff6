// Goroutines into the Snapshot: symbolized, filtered and worded the way the
// runtime's own traceback (runtime.Stack) shows them.
#include <algorithm>
#include <cctype>
#include <cstring>

#include <fmt/format.h>

#include "golang/go_reader.hpp"
#include "golang/go_symbolize.hpp"
#include "golang/go_snapshot.hpp"
#include "symbolize.hpp"

namespace threadleak::detail::golang {
namespace {

constexpr std::uint32_t kLeaked = 10;   // _Gleaked (Go 1.26+): the GC proved no one can wake it

// gStatusStrings of the runtime; the codes are part of its ABI. A leaked
// goroutine keeps the reason it was parked for.
std::string status_text(const RawGoroutine& g) {
  if (g.status == kLeaked) return (g.wait_text.empty() ? std::string("waiting") : g.wait_text) + " (leaked)";
  if (g.status == 4 && !g.wait_text.empty()) return g.wait_text;
  static const char* const kNames[] = {"idle", "runnable", "running", "syscall", "waiting",
                                       "moribund", "dead", "enqueue", "copystack", "preempted"};
  return g.status < std::size(kNames) ? kNames[g.status] : fmt::format("status {}", g.status);
}

State state_of(const std::string& reason) {
  if (reason == "sleep") return State::sleep;
  if (reason == "IO wait") return State::io;
  if (reason == "running" || reason == "runnable" || reason == "preempted") return State::running;
  if (reason == "semacquire" || reason.starts_with("sync.Mutex") || reason.starts_with("sync.RWMutex"))
    return State::mutex;
  if (reason == "sync.Cond.Wait") return State::condvar;
  return State::waiting;
}

// The runtime's showframe at its default level: exported runtime functions
// and everything outside the runtime are shown; runtime internals and
// compiler wrappers (unless they called a panic) are not.
bool shown(const GoFrame& f, const std::string& callee) {
  const std::string& n = f.frame.function;
  if (f.wrapper) return callee == "runtime.gopanic" || callee == "runtime.sigpanic" || callee == "runtime.panicwrap";
  if (n == "runtime.gopanic") return true;
  if (n.find('.') == std::string::npos) return false;
  if (!n.starts_with("runtime.")) return true;
  return n.size() > 8 && std::isupper(static_cast<unsigned char>(n[8]));
}

GoModule exe_module(const Target& t) {
  GoModule m;
  Dwfl_Module* mod = t.dwfl && t.entry ? dwfl_addrmodule(t.dwfl.get(), t.entry) : nullptr;
  if (!mod) return m;
  Dwarf_Addr start = 0;
  const char* name = dwfl_module_info(mod, nullptr, &start, nullptr, nullptr, nullptr, nullptr, nullptr);
  if (name) {
    const char* slash = std::strrchr(name, '/');
    m.name = slash ? slash + 1 : name;
  }
  m.start = start;
  const unsigned char* bits = nullptr;
  GElf_Addr vaddr;
  int n = dwfl_module_build_id(mod, &bits, &vaddr);
  if (n > 0) m.build_id = hex_bytes(bits, n);
  return m;
}

const Thread* os_thread(const Snapshot& s, int tid) {
  for (const Thread& t : s.threads)
    if (t.kind == Kind::thread && t.tid == tid) return &t;
  return nullptr;
}

// The innermost sync lock function on the stack, and the one it was called
// from ("" if none): sync.(*RWMutex).Lock takes the RWMutex's inner Mutex.
std::pair<std::string, std::string> sync_callers(const Thread& th) {
  static const char* const kLocks[] = {"sync.(*Mutex).lockSlow", "sync.(*Mutex).Lock", "sync.(*RWMutex).Lock",
                                       "sync.(*RWMutex).RLock", "sync.(*WaitGroup).Wait"};
  auto is_lock = [](const std::string& f) { return std::find(std::begin(kLocks), std::end(kLocks), f) != std::end(kLocks); };
  for (std::size_t i = 0; i < th.frames.size(); ++i) {
    if (!is_lock(th.frames[i].function)) continue;
    std::size_t j = i;
    while (j < th.frames.size() && th.frames[j].function.starts_with("sync.(*Mutex)")) ++j;
    return {th.frames[i].function, j < th.frames.size() && j != i ? th.frames[j].function : ""};
  }
  return {};
}

// The lock a goroutine parked on runtime semaphore `sema` waits for: its
// sync.Mutex, RWMutex or WaitGroup when its stack says which, else the
// semaphore itself. None of them records an owner.
std::optional<WaitTarget> go_wait_target(const Thread& th, std::uint64_t sema, const SemaLayout& l) {
  if (!sema) return std::nullopt;
  WaitTarget w{"go-sema", sema, sema, std::nullopt, std::nullopt, "go-dwarf"};
  auto [fn, caller] = sync_callers(th);
  auto at = [&](const char* kind, std::optional<std::uint64_t> offset) {
    if (offset) w.kind = kind, w.address = sema - *offset;
  };
  auto off = [](const std::optional<Field>& f) { return f ? std::optional(f->offset) : std::nullopt; };
  if (fn.starts_with("sync.(*Mutex)") && caller == "sync.(*RWMutex).Lock") {
    if (l.mutex_sema && l.rw_w) at("go-rwmutex", l.rw_w->offset + l.mutex_sema->offset);  // another writer holds w
  } else if (fn.starts_with("sync.(*Mutex)")) {
    at("go-mutex", off(l.mutex_sema));
  } else if (fn == "sync.(*RWMutex).Lock") {
    at("go-rwmutex", off(l.rw_writer_sem));  // readers still hold it
  } else if (fn == "sync.(*RWMutex).RLock") {
    at("go-rwmutex", off(l.rw_reader_sem));
  } else if (fn == "sync.(*WaitGroup).Wait") {
    at("go-waitgroup", off(l.wg_sema));
  }
  return w;
}

constexpr unsigned kMaxOsFrames = 256;

// An OS thread stopped in Go code of a binary without CFI: libdw's
// frame-pointer fallback skips the caller of a frameless assembly function
// (runtime.futex, whose caller's bp is still in rbp). The pclntab's pcsp
// gives every Go function's frame size at every pc, so walk by it: the
// return address is at sp + delta, the caller's sp just above it. Stops at
// the first pc outside Go code; the caller then keeps libdw's frames from
// that pc on.
std::vector<RawFrame> pcsp_walk(const GoSymbols& sym, std::uint64_t bias, const UserRegs& regs, Memory& mem) {
  std::vector<RawFrame> out;
  std::uint64_t pc = regs.rip, sp = regs.rsp;
  for (bool first = true; out.size() < kMaxOsFrames; first = false) {
    std::uint64_t lookup = first ? pc - bias : pc - bias - 1;
    std::int32_t delta = sym.function_at(lookup) ? sym.sp_delta(lookup).value_or(-1) : -1;
    out.push_back({pc, first});
    if (delta < 0 || delta > (1 << 20)) break;
    std::uint64_t ret = 0;
    if (mem.read(sp + static_cast<std::uint64_t>(delta), &ret, 8) != 8 || ret == 0) break;
    pc = ret;
    sp += static_cast<std::uint64_t>(delta) + 8;
    if (!sym.function_at(pc - bias - 1)) { out.push_back({pc, false}); break; }
  }
  return out;
}

// libdw's frames after the pcsp walk's last pc, when it ended outside Go.
void append_rest(std::vector<RawFrame>& walked, const std::vector<RawFrame>& libdw) {
  for (std::size_t i = 0; i < libdw.size(); ++i)
    if (libdw[i].pc == walked.back().pc) {
      walked.insert(walked.end(), libdw.begin() + static_cast<std::ptrdiff_t>(i) + 1, libdw.end());
      return;
    }
}

// Where the runtime's own traceback stops an OS thread's stack: the
// functions that begin a stack (a thread's, or g0's after mcall switched
// to it). Below them is another stack or nothing, and unwinders read
// garbage there; both paths drop it alike.
void cut_at_top_frame(std::vector<Frame>& frames) {
  static const std::string_view kTop[] = {"runtime.mcall", "runtime.mstart", "runtime.goexit", "runtime.rt0_go",
                                          "runtime.morestack"};
  for (std::size_t i = 0; i < frames.size(); ++i)
    if (std::find(std::begin(kTop), std::end(kTop), std::string_view(frames[i].function)) != std::end(kTop)) {
      frames.resize(i + 1);
      return;
    }
}

struct Builder {
  const Target& t;
  GoCapture& go;
  const std::vector<RawStack>& stacks;
  GoSymbolizer sym;
  Symbolizer other;   // pcs outside Go code (vdso, C libraries)

  // Raw pcs (return addresses but a running thread's innermost) -> frames.
  std::vector<Frame> frames(const std::vector<std::pair<std::uint64_t, bool>>& pcs, bool all) {
    std::vector<Frame> out;
    std::string callee;
    for (const auto& [pc, ret] : pcs) {
      if (!go.symbols->function_at(pc - go.bias)) {
        RawFrame raw{pc, !ret};
        other.prepare({raw});
        other.append(raw, out);
        callee = out.empty() ? "" : out.back().function;
        continue;
      }
      for (GoFrame& f : sym.frames(pc, ret)) {
        if (all || shown(f, callee)) out.push_back(f.frame);
        callee = f.frame.function;
      }
    }
    return out;
  }

  std::vector<std::pair<std::uint64_t, bool>> raw_pcs(const RawGoroutine& g) {
    std::vector<std::pair<std::uint64_t, bool>> pcs;
    if (g.on_thread_stack) {
      for (std::size_t i = 0; i < t.threads.size(); ++i)
        if (t.threads[i].tid == g.tid && i < stacks.size())
          for (const RawFrame& f : stacks[i].frames) pcs.emplace_back(f.pc, !f.activation);
      return pcs;
    }
    for (std::uint64_t pc : g.pcs) pcs.emplace_back(pc, true);
    return pcs;
  }

  bool is_system(const RawGoroutine& g) {
    auto f = go.symbols->function_at(g.startpc - go.bias);
    if (!f) return false;
    std::string_view n = f->name;
    return n.starts_with("runtime.") && n != "runtime.main";
  }

  Thread goroutine(const RawGoroutine& g, const Snapshot& s) {
    Thread th;
    th.kind = Kind::goroutine;
    th.goid = g.goid;
    th.tid = g.tid;
    th.wait_reason = status_text(g);
    th.leaked_by_gc = g.status == kLeaked;
    th.state = state_of(th.leaked_by_gc ? g.wait_text : th.wait_reason);
    th.go_runtime = is_system(g);
    th.frames = frames(raw_pcs(g), th.go_runtime);
    th.error = g.error;
    th.truncated = g.truncated;
    if (g.status == 3) {
      const Thread* os = g.tid ? os_thread(s, g.tid) : nullptr;
      th.state = os ? os->state : State::syscall;
      th.syscall_name = os ? os->syscall_name : "";
    }
    if (go.sema) th.waiting_on = go_wait_target(th, g.sema, *go.sema);
    if (g.gopc && g.goid != 1) th.created_by = sym.creator(g.gopc);
    if (g.wait_since > 0 && go.now_ns && *go.now_ns > g.wait_since) {
      std::int64_t minutes = (*go.now_ns - g.wait_since) / 60'000'000'000;
      if (minutes >= 1) th.wait_minutes = minutes;
    }
    return th;
  }
};

}  // namespace

void add_goroutines(Snapshot& snap, const Target& t, GoCapture& go, const std::vector<RawStack>& stacks) {
  Builder b{t, go, stacks, GoSymbolizer(*go.symbols, go.bias, exe_module(t)), Symbolizer(t.dwfl.get(), t.entry)};
  // Without DWARF, libdw names nothing in Go code, and a program whose
  // runtime was not understood has no Ms: every OS thread is redone.
  bool all = !go.dwarf || !go.layout_known;
  for (std::size_t i = 0; i < snap.threads.size(); ++i) {
    Thread& th = snap.threads[i];
    bool m = go.m_tids.count(th.tid) > 0;
    if (!m && !all) continue;
    th.go_runtime = m;
    // Libdw finds no lines in Go code (no .debug_aranges): redo the frames.
    if (i < stacks.size() && t.threads[i].tid == th.tid) {
      const std::vector<RawFrame>* raw = &stacks[i].frames;
      std::vector<RawFrame> walked;
      if (!go.dwarf && t.threads[i].regs && t.memory && go.symbols->function_at(t.threads[i].regs->rip - go.bias)) {
        walked = pcsp_walk(*go.symbols, go.bias, *t.threads[i].regs, *t.memory);
        append_rest(walked, stacks[i].frames);
        raw = &walked;
      }
      std::vector<std::pair<std::uint64_t, bool>> pcs;
      for (const RawFrame& f : *raw) pcs.emplace_back(f.pc, !f.activation);
      th.frames = b.frames(pcs, true);
      cut_at_top_frame(th.frames);
    }
  }
  snap.threads.reserve(snap.threads.size() + go.goroutines.size());
  for (const RawGoroutine& g : go.goroutines) snap.threads.push_back(b.goroutine(g, snap));
  snap.go_timers = go.timers;
  for (std::string& w : go.warnings) snap.warnings.push_back(std::move(w));
  go.warnings.clear();
}

}  // namespace threadleak::detail::golang
