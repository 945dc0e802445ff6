#include "unwind.hpp"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <optional>
#include <thread>

#include "fast_unwind.hpp"

namespace threadleak::detail {
namespace {

struct Context {
  Target* target;
  unsigned max_frames;
  std::vector<RawStack>* out;
  const std::vector<char>* done;   // threads the fast path unwound
  const OnStack* on_stack;
  UnwindStats stats;
};

thread_local UnwindStats g_last_stats;   // per calling thread: captures may run side by side
// set_initial_registers gets no pointer to the Dwfl's argument: the Context
// of the unwind running on this thread is found here.
thread_local Context* tl_context = nullptr;

std::ptrdiff_t index_of(const Target& t, pid_t tid) {
  auto it = std::lower_bound(t.threads.begin(), t.threads.end(), tid,
                             [](const RawThread& th, pid_t id) { return th.tid < id; });
  if (it == t.threads.end() || it->tid != tid) return -1;
  return it - t.threads.begin();
}

// Threads without registers are skipped here; they keep their error.
pid_t next_thread(Dwfl*, void* arg, void** thread_argp) {
  auto* c = static_cast<Context*>(arg);
  ++c->stats.next_thread_calls;
  auto i = reinterpret_cast<std::uintptr_t>(*thread_argp);  // next index + 1; 0 = start
  const auto& threads = c->target->threads;
  std::size_t idx = i == 0 ? 0 : i;
  while (idx < threads.size() && (!threads[idx].regs || (*c->done)[idx])) ++idx;
  if (idx >= threads.size()) return 0;
  *thread_argp = reinterpret_cast<void*>(static_cast<std::uintptr_t>(idx + 1));
  return threads[idx].tid;
}

bool get_thread(Dwfl*, pid_t tid, void* arg, void** thread_argp) {
  auto* c = static_cast<Context*>(arg);
  ++c->stats.get_thread_calls;
  auto idx = index_of(*c->target, tid);
  if (idx < 0 || !c->target->threads[static_cast<std::size_t>(idx)].regs) return false;
  *thread_argp = reinterpret_cast<void*>(static_cast<std::uintptr_t>(idx + 1));
  return true;
}

bool memory_read(Dwfl*, Dwarf_Addr addr, Dwarf_Word* result, void* arg) {
  auto* c = static_cast<Context*>(arg);
  ++c->stats.memory_reads;
  return c->target->memory->read(addr, result, sizeof *result) == sizeof *result;
}

bool set_initial_registers(Dwfl_Thread* thread, void* thread_arg) {
  // The thread argument is the index + 1 into the Target's threads.
  ++tl_context->stats.set_registers_calls;
  auto idx = reinterpret_cast<std::uintptr_t>(thread_arg) - 1;
  const auto& regs = *tl_context->target->threads[idx].regs;
  auto dw = dwarf_regs(regs);
  return dwfl_thread_state_registers(thread, 0, dw.size(), dw.data());
}

}  // namespace

std::array<std::uint64_t, 17> dwarf_regs(const UserRegs& r) {
  return {r.rax, r.rdx, r.rcx, r.rbx, r.rsi, r.rdi, r.rbp, r.rsp,
          r.r8, r.r9, r.r10, r.r11, r.r12, r.r13, r.r14, r.r15, r.rip};
}

namespace {

int frame_cb(Dwfl_Frame* state, void* arg) {
  auto* stack = static_cast<std::pair<RawStack*, unsigned>*>(arg);
  Dwarf_Addr pc;
  bool activation = false;
  if (!dwfl_frame_pc(state, &pc, &activation)) {
    stack->first->error = dwfl_error();
    return DWARF_CB_ABORT;
  }
  if (stack->first->frames.size() >= stack->second) {
    stack->first->truncated = true;
    return DWARF_CB_ABORT;
  }
  stack->first->frames.push_back({pc, activation});
  return DWARF_CB_OK;
}

int thread_cb(Dwfl_Thread* thread, void* arg) {
  auto* c = static_cast<Context*>(arg);
  auto idx = index_of(*c->target, dwfl_thread_tid(thread));
  if (idx < 0) return DWARF_CB_OK;
  RawStack& stack = (*c->out)[static_cast<std::size_t>(idx)];
  std::pair<RawStack*, unsigned> fa{&stack, c->max_frames};
  int rc = dwfl_thread_getframes(thread, frame_cb, &fa);
  if (rc == -1 && stack.error.empty()) stack.error = dwfl_error();
  if (*c->on_stack) (*c->on_stack)(static_cast<std::size_t>(idx), stack, *c->target->memory);
  return DWARF_CB_OK;
}

// THREADLEAK_UNWINDER=libdwfl turns the per-PC cache off (to compare).
bool fast_path_wanted() {
  const char* v = std::getenv("THREADLEAK_UNWINDER");
  return !(v && std::strcmp(v, "libdwfl") == 0);
}

}  // namespace

std::vector<RawStack> unwind_all(Target& t, unsigned max_frames, const OnStack& on_stack) {
  static const Dwfl_Thread_Callbacks callbacks = {
      next_thread, get_thread, memory_read, set_initial_registers, nullptr, nullptr};
  std::vector<RawStack> out(t.threads.size());
  std::vector<char> done(t.threads.size(), 0);
  Context ctx{&t, max_frames, &out, &done, &on_stack, {}};
  const bool use_fast = fast_path_wanted();
  const std::size_t n = t.threads.size();
  // On a core, the fast path runs in two halves on two threads, each with
  // its own reader and rule cache (libdw asked once per PC, under one lock);
  // below a few hundred threads a thread costs more than it saves.
  std::unique_ptr<Memory> second_memory = use_fast && n >= 512 ? t.memory->another_reader() : nullptr;
  FastUnwinder::Shared shared;
  const std::size_t mid = second_memory ? n / 2 : n;
  auto fast_pass = [&](FastUnwinder& u, Memory& reader, std::size_t begin, std::size_t end) {
    for (std::size_t i = begin; i < end; ++i) {
      const RawThread& th = t.threads[i];
      if (!th.regs) {
        out[i].error = th.error;
      } else if (use_fast && u.unwind(*th.regs, max_frames, out[i])) {
        done[i] = 1;
        if (on_stack) on_stack(i, out[i], reader);
      }
    }
  };
  FastUnwinder fast(t.dwfl.get(), *t.memory, second_memory ? &shared : nullptr);
  std::optional<FastUnwinder> fast2;
  std::thread second;
  std::exception_ptr failed;
  if (second_memory) {
    fast2.emplace(t.dwfl.get(), *second_memory, &shared);
    second = std::thread([&] {
      try {
        fast_pass(*fast2, *second_memory, mid, n);
      } catch (...) {
        failed = std::current_exception();
      }
    });
  }
  try {
    fast_pass(fast, *t.memory, 0, mid);
  } catch (...) {
    if (second.joinable()) second.join();
    throw;
  }
  if (second.joinable()) second.join();
  if (failed) std::rethrow_exception(failed);
  std::size_t left = 0;
  for (std::size_t i = 0; i < n; ++i) left += t.threads[i].regs && !done[i];
  ctx.stats.fast_threads = static_cast<std::uint64_t>(std::count(done.begin(), done.end(), 1));
  ctx.stats.cfi_lookups = fast.cfi_lookups();   // shared: both halves'
  ctx.stats.memory_reads = fast.memory_reads() + (fast2 ? fast2->memory_reads() : 0);
  if (left > 0) {
    tl_context = &ctx;
    if (!dwfl_attach_state(t.dwfl.get(), t.elf.get(), t.pid, &callbacks, &ctx)) {
      tl_context = nullptr;
      throw Error(t.origin + ": cannot unwind: dwfl_attach_state: " + dwfl_error());
    }
    int rc = dwfl_getthreads(t.dwfl.get(), thread_cb, &ctx);
    tl_context = nullptr;
    if (rc == -1) t.warnings.push_back("unwinding stopped early: " + dwfl_error());
  }
  g_last_stats = ctx.stats;
  return out;
}

UnwindStats last_unwind_stats() { return g_last_stats; }

}  // namespace threadleak::detail
