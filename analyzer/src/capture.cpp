// capture(): source -> unwind -> symbolize -> classify, into a Snapshot.
#include <chrono>
#include <exception>
#include <functional>
#include <thread>
#include <tuple>
#include <unordered_map>

#include <fmt/format.h>

#include "classify.hpp"
#include "golang/go_snapshot.hpp"
#include "golang/goroutines.hpp"
#include "source/coredump_name.hpp"
#include "source/debuginfod.hpp"
#include "source/debugger_feed.hpp"
#include "source/descriptors.hpp"
#include "source/open.hpp"
#include "source/socket_peers.hpp"
#include "source/thread_start.hpp"
#include "source/wait_targets.hpp"
#include "symbol_preload.hpp"
#include "symbolize.hpp"
#include "target.hpp"
#include "unwind.hpp"

namespace threadleak {
namespace detail {
namespace {

std::vector<Module> list_modules(Dwfl* dwfl) {
  std::vector<Module> mods;
  auto cb = [](Dwfl_Module* mod, void**, const char* name, Dwarf_Addr start, void* arg) -> int {
    Module m;
    const char* mainfile = nullptr;
    const char* debugfile = nullptr;
    dwfl_module_info(mod, nullptr, nullptr, &m.end, nullptr, nullptr, &mainfile, &debugfile);
    m.name = name ? name : "";
    m.path = mainfile ? mainfile : "";
    m.start = start;
    const unsigned char* bits = nullptr;
    GElf_Addr vaddr;
    int n = dwfl_module_build_id(mod, &bits, &vaddr);
    if (n > 0) m.build_id = hex_bytes(bits, n);
    if (log_enabled())
      log(fmt::format("module {} [{:#x}-{:#x}] file {} debug info {}", m.name, m.start, m.end,
                      mainfile ? mainfile : "(none)", debugfile ? debugfile : "(none)"));
    static_cast<std::vector<Module>*>(arg)->push_back(std::move(m));
    return DWARF_CB_OK;
  };
  dwfl_getmodules(dwfl, cb, &mods, 0);
  std::sort(mods.begin(), mods.end(), [](const Module& a, const Module& b) { return a.start < b.start; });
  return mods;
}

// Runs work(begin, end) over [0, n): the second half on another thread when
// n is large enough to pay for one.
void in_two_halves(std::size_t n, const std::function<void(std::size_t, std::size_t)>& work) {
  constexpr std::size_t kWorthASecondThread = 2000;
  if (n < kWorthASecondThread) {
    work(0, n);
    return;
  }
  std::size_t mid = n / 2;
  std::exception_ptr failed;
  std::thread second([&] {
    try {
      work(mid, n);
    } catch (...) {
      failed = std::current_exception();
    }
  });
  try {
    work(0, mid);
  } catch (...) {
    second.join();
    throw;
  }
  second.join();
  if (failed) std::rethrow_exception(failed);
}

std::vector<std::uint64_t> current_pcs(const Target& t) {
  std::vector<std::uint64_t> pcs;
  for (const RawThread& th : t.threads)
    if (th.regs) pcs.push_back(th.regs->rip);
  return pcs;
}

// start_kind and created_by of the OS threads: how each was started, its
// start routine symbolized (a pool's threads share one: looked up once).
void add_thread_starts(Target& t, Snapshot& s, Symbolizer& sym, DescriptorPeek& peek) {
  Memory* mem = t.settled_memory ? t.settled_memory.get() : t.memory.get();
  if (!mem) return;
  std::unique_ptr<Memory> peeked = peek.over(*mem);
  std::vector<ThreadStart> starts = read_thread_starts(t, *peeked, s);
  std::unordered_map<std::uint64_t, std::optional<Frame>> functions;
  for (std::size_t i = 0; i < starts.size(); ++i) {
    if (starts[i].kind.empty()) continue;
    Thread& th = s.threads[i];
    th.start_kind = starts[i].kind;
    if (!starts[i].pc) continue;
    auto [it, fresh] = functions.try_emplace(starts[i].pc);
    if (fresh) {
      std::vector<RawFrame> raw{{starts[i].pc, true}};
      std::vector<Frame> frames;
      sym.prepare(raw);
      sym.append(raw.front(), frames);
      // The function itself (outermost), not a call inlined at its entry.
      if (!frames.empty()) it->second = frames.back();
    }
    th.created_by = it->second;
  }
}

Snapshot analyze_target(Target& t, const CaptureOptions& opts) {
  PhaseTimer timer;
  std::vector<RawStack> stacks;
  // A live Go program's executable DWARF is already loaded (read while
  // frozen): symbolize through that Dwfl rather than load it twice.
  std::optional<SymbolPreload::Result> preloaded;
  DescriptorPeek peek(t);
  auto meanwhile = [&] {
    if (!t.read_meanwhile) return;
    t.read_meanwhile(t);
    timer.mark("read meanwhile");
  };
  if (t.go) {
    stacks = unwind_all(t, opts.max_frames);
    timer.mark("unwind");
    meanwhile();
  } else {
    // A core may have started loading debug info already (open_core).
    std::shared_ptr<SymbolPreload> preload = std::move(t.preload);
    if (!preload) preload = std::make_shared<SymbolPreload>(t, current_pcs(t));
    stacks = unwind_all(t, opts.max_frames, [&](std::size_t i, const RawStack& st, Memory& reader) {
      preload->add(st.frames);   // both: safe on two unwinding threads at once
      peek.add(i, reader);
    });
    timer.mark("unwind");
    meanwhile();
    preloaded = preload->take();
    timer.mark("wait for the symbolizing thread");
  }
  std::unique_ptr<Symbolizer> own;
  if (preloaded) {
    t.unwound_with = std::move(t.dwfl);
    t.dwfl = std::move(preloaded->dwfl);
  } else {
    own = std::make_unique<Symbolizer>(t.dwfl.get(), t.entry);
  }
  Symbolizer& sym = preloaded ? *preloaded->symbolizer : *own;
  Snapshot s;
  std::tie(s.source, s.origin, s.pid, s.executable, s.captured_at, s.captured_at_from, s.cpu_from, s.cpu_missing,
           s.crash) = std::tie(t.kind, t.origin, t.pid, t.executable, t.captured_at, t.captured_at_from, t.cpu_from,
                               t.cpu_missing, t.crash);
  if (t.longest_pause_ms) s.cost = Snapshot::Cost{0, *t.longest_pause_ms / 1e3};
  s.modules = list_modules(t.dwfl.get());
  for (const RawStack& st : stacks) sym.prepare(st.frames);   // whatever the worker has not seen
  timer.mark("symbolize distinct pcs");
  // The rest is copying frames out of the symbolizer's cache and reading
  // syscall numbers: no libdw, so both cores can share it.
  s.threads.resize(t.threads.size());
  auto build = [&](std::size_t begin, std::size_t end) {
    std::vector<Frame> frames;   // built here, then copied at its exact size: 10,000 stacks of ~12 frames
    for (std::size_t i = begin; i < end; ++i) {
      const RawThread& raw = t.threads[i];
      Thread& th = s.threads[i];
      th.tid = raw.tid;
      th.name = raw.name;
      th.cpu_ns = raw.cpu_ns;
      frames.clear();
      for (const RawFrame& f : stacks[i].frames) sym.append(f, frames);
      th.frames = frames;
      th.error = stacks[i].error;
      th.truncated = stacks[i].truncated;
      std::optional<long> nr;
      if (raw.regs) nr = static_cast<long>(raw.regs->orig_rax);
      classify(th, nr, t.crash && t.crash->tid == raw.tid);
    }
  };
  in_two_halves(t.threads.size(), build);
  timer.mark("symbolize and classify");
  if (t.kind == "core" && !t.go) {
    t.go = golang::open_go_for_core(t);
    if (t.go) golang::read_goroutines(*t.go, *t.memory, opts.max_frames, t.threads);
  }
  if (t.go) golang::add_goroutines(s, t, *t.go, stacks);
  timer.mark("goroutines");
  find_wait_targets(t, s);
  timer.mark("wait targets");
  SocketWaits sockets = find_descriptors(t, s);   // a live process is running again by now: /proc is read after the thaw
  timer.mark("descriptors");
  find_socket_peers(s, sockets);
  timer.mark("socket peers");
  add_thread_starts(t, s, sym, peek);
  timer.mark("thread starts");
  for (std::string& w : take_debuginfod_warnings()) t.warnings.push_back(std::move(w));
  s.warnings.insert(s.warnings.begin(), t.warnings.begin(), t.warnings.end());
  if (log_enabled())
    log(fmt::format("{}: {} threads, {} distinct pcs", t.origin, s.threads.size(), sym.distinct_pcs()));
  return s;
}

}  // namespace
}  // namespace detail

namespace {

Capture capture_untimed(const Source& src, const CaptureOptions& opts) {
  using namespace detail;
  Capture c;
  switch (src.kind) {
    case Source::Kind::debugger: {
      auto t = open_debugger_feed(src);
      // The debugger holds the inferior stopped: its goroutines are read now,
      // through the same descriptor as the stacks.
      t->go = golang::open_go_for_core(*t);
      if (t->go) golang::read_goroutines(*t->go, *t->memory, opts.max_frames, t->threads);
      c.snapshot = analyze_target(*t, opts);
      return c;
    }
    case Source::Kind::live:
      c.snapshot = analyze_target(*open_live(src), opts);
      return c;
    case Source::Kind::file:
      break;
  }
  if (detect_input(src.file) == InputKind::snapshot) {
    c.snapshot = load_snapshot_file(src.file);
    return c;
  }
  std::shared_ptr<Target> t = open_core(src, [](const Target& target) {
    return std::make_shared<SymbolPreload>(target, std::vector<std::uint64_t>{});
  });
  c.snapshot = analyze_target(*t, opts);
  c.snapshot.coredump = coredump_from_name(src.file);
  c.held = std::move(t);
  return c;
}

}  // namespace

Capture capture_holding(const Source& src, const CaptureOptions& opts) {
  auto t0 = std::chrono::steady_clock::now();
  Capture c = capture_untimed(src, opts);
  if (c.snapshot.source != "snapshot") {
    Snapshot::Cost cost;
    cost.capture_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (c.snapshot.cost) cost.longest_pause_seconds = c.snapshot.cost->longest_pause_seconds;
    c.snapshot.cost = cost;
  }
  return c;
}

Snapshot capture(const Source& src, const CaptureOptions& opts) {
  Capture c = capture_holding(src, opts);
  detail::PhaseTimer timer;
  c.held.reset();
  timer.mark("release the core");
  return std::move(c.snapshot);
}

}  // namespace threadleak
