// A glibc thread's descriptor, struct pthread, is its TCB: on x86-64 the
// thread pointer (fs_base, in NT_PRSTATUS and PTRACE_GETREGS) points at it,
// its header.self points back at it and its tid is the thread's. A thread
// whose fs_base fails either check has no descriptor of its own (a clone()
// that kept its parent's thread pointer, another libc, Go's runtime).
// Field offsets: glibc_layout.hpp.
//
// std::thread: libstdc++ passes pthread_create its execute_native_thread_routine
// (a static function, nameless in a stripped libstdc++) and, as arg, the
// std::thread::_State it owns until the thread ends. The _State's vtable
// holds ~_State (two slots) then _M_run, whose symbol names the
// _State_impl<_Invoker<std::tuple<F, Args...>>> it belongs to. When F is a
// function pointer, the pointer itself is one of the words of the object:
// the one that is the entry of a function whose parameters are F's (the
// tuple keeps F last, so the last such word); created_by then names that
// function. Otherwise (a lambda, a functor) created_by is _M_run, whose
// name holds the callable's type.
#include "source/thread_start.hpp"

#include <cxxabi.h>
#include <gelf.h>
#include <sys/stat.h>

#include <cstdlib>
#include <algorithm>
#include <memory>
#include <unordered_map>

#include <fmt/format.h>

#include "source/glibc_layout.hpp"
#include "source/memory.hpp"

namespace threadleak::detail {
namespace {

constexpr std::size_t kMaxStateWords = 16;   // words of a _State_impl searched for the function pointer

template <typename T>
std::optional<T> read_as(Memory& mem, std::uint64_t addr) {
  T v{};
  if (mem.read(addr, &v, sizeof v) != sizeof v) return std::nullopt;
  return v;
}

std::string demangled(const char* name) {
  if (!name) return {};
  int status = 0;
  std::unique_ptr<char, decltype(&std::free)> d(abi::__cxa_demangle(name, nullptr, nullptr, &status), &std::free);
  return status == 0 && d ? std::string(d.get()) : std::string(name);
}

// The function whose entry is exactly `pc`, demangled; "" if none.
std::string function_at_entry(Dwfl* dwfl, std::uint64_t pc) {
  Dwfl_Module* mod = dwfl_addrmodule(dwfl, pc);
  if (!mod) return {};
  GElf_Off off = 0;
  GElf_Sym sym;
  const char* name = dwfl_module_addrinfo(mod, pc, &off, &sym, nullptr, nullptr, nullptr);
  if (!name || off != 0 || GELF_ST_TYPE(sym.st_info) != STT_FUNC) return {};
  return demangled(name);
}

// The first template argument of the std::tuple in an _M_run's name
// ("void (*)(int)" of "..._Invoker<std::tuple<void (*)(int), int> > >::_M_run()").
std::string callable_type(const std::string& run) {
  std::size_t pos = run.find("std::tuple<");
  if (pos == std::string::npos) return {};
  pos += 11;
  int depth = 0;
  for (std::size_t i = pos; i < run.size(); ++i) {
    char c = run[i];
    if (c == '<' || c == '(' || c == '[') ++depth;
    else if ((c == '>' || c == ')' || c == ']') && depth > 0) --depth;
    else if ((c == ',' || c == '>') && depth == 0) return run.substr(pos, i - pos);
  }
  return {};
}

// "(int)" of a function pointer type "void (*)(int)" or a member function
// pointer type "void (Pool::*)(int)"; "" for any other type.
std::string pointer_params(const std::string& type) {
  std::size_t star = type.find("*)(");
  if (star == std::string::npos) return {};
  return type.substr(star + 2);
}

// A std::thread's callable: the function pointer it holds, else _M_run.
std::uint64_t std_thread_callable(Dwfl* dwfl, Memory& mem, std::uint64_t state) {
  auto vptr = read_as<std::uint64_t>(mem, state);
  if (!vptr) return 0;
  auto run = read_as<std::uint64_t>(mem, *vptr + 16);
  if (!run || !dwfl_addrmodule(dwfl, *run)) return 0;
  std::string run_name = function_at_entry(dwfl, *run);
  if (run_name.empty()) return *run;   // a stripped executable: module+offset
  if (!run_name.starts_with("std::thread::_State_impl<")) return 0;
  std::string params = pointer_params(callable_type(run_name));
  if (params.empty()) return *run;
  // malloc's chunk size bounds the object (glibc: the word before it).
  std::size_t words = kMaxStateWords;
  if (auto chunk = read_as<std::uint64_t>(mem, state - 8)) words = std::min<std::size_t>(words, (*chunk & ~7ull) / 8);
  std::uint64_t found = 0;
  for (std::size_t i = 1; i < words; ++i) {
    auto w = read_as<std::uint64_t>(mem, state + 8 * i);
    if (!w || *w == *run) continue;
    std::string fn = function_at_entry(dwfl, *w);
    if (fn.size() > params.size() && fn.ends_with(params)) found = *w;
  }
  return found ? found : *run;
}

bool in_libstdcxx(Dwfl* dwfl, std::uint64_t pc) {
  Dwfl_Module* mod = dwfl_addrmodule(dwfl, pc);
  const char* name = mod ? dwfl_module_info(mod, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr)
                         : nullptr;
  return name && std::string_view(name).find("libstdc++") != std::string_view::npos;
}

bool task_exists(int pid, int tid) {
  struct stat st;
  return ::stat(fmt::format("/proc/{}/task/{}", pid, tid).c_str(), &st) == 0;
}

// Caches what a routine resolves to: a pool's threads share one routine,
// and std::thread's are resolved per object (their arg differs).
class StartReader {
 public:
  StartReader(const Target& t, Memory& mem) : t_(t), mem_(mem), layouts_(t.dwfl.get()) {}

  ThreadStart read(const RawThread& raw, const Thread& th) {
    if (raw.tid == t_.pid) return {"main", 0};
    if (!raw.regs) return {};
    std::uint64_t tp = raw.regs->fs_base;
    if (tp == 0) return {};   // not given (a debugger feed without fs_base)
    const PthreadLayout& l = layouts_.pthread(th.frames);
    auto self = read_as<std::uint64_t>(mem_, tp + l.self);
    auto tid = read_as<std::int32_t>(mem_, tp + l.tid);
    if (!self || !tid) return {};   // not in the core, or gone
    if (*self != tp || *tid != raw.tid) {
      // Live, read after the thaw: a thread that ended meanwhile may have
      // left its descriptor to a new one. Only a thread still there has none.
      if (t_.kind == "live" && !task_exists(t_.pid, raw.tid)) return {};
      return {"not-pthread", 0};
    }
    auto routine = read_as<std::uint64_t>(mem_, tp + l.start_routine);
    auto arg = read_as<std::uint64_t>(mem_, tp + l.arg);
    if (!routine || !arg) return {};
    if (*routine == 0) return {"main", 0};   // glibc's initial thread (a core without its pid)
    auto [it, fresh] = libstdcxx_.try_emplace(*routine, false);
    if (fresh) it->second = in_libstdcxx(t_.dwfl.get(), *routine);
    if (it->second)
      if (std::uint64_t pc = std_thread_callable(t_.dwfl.get(), mem_, *arg)) return {"std::thread", pc};
    return {"pthread", *routine};
  }

 private:
  const Target& t_;
  Memory& mem_;
  GlibcLayouts layouts_;
  std::unordered_map<std::uint64_t, bool> libstdcxx_;
};

// Copies first, then the reader underneath.
class Overlay : public Memory {
 public:
  Overlay(std::vector<CopiedMemory::Copy> copies, Memory& rest) : copies_(std::move(copies)), rest_(rest) {}
  std::size_t read(std::uint64_t addr, void* buf, std::size_t len) override {
    if (copies_.read(addr, buf, len) == len) return len;
    return rest_.read(addr, buf, len);
  }

 private:
  CopiedMemory copies_;
  Memory& rest_;
};

}  // namespace

void DescriptorPeek::add(std::size_t i, Memory& reader) {
  const RawThread& raw = t_.threads[i];
  if (i >= per_thread_.size() || !raw.regs || raw.regs->fs_base == 0 || raw.tid == t_.pid) return;
  // One read from header.self to arg, at the fallback's offsets (another
  // layout reads past the copies); the page it is on is not read whole.
  using L = PthreadLayout;
  static_assert(L::kSelf < L::kTid && L::kTid < L::kStartRoutine && L::kArg == L::kStartRoutine + 8);
  std::uint64_t tp = raw.regs->fs_base;
  char span[L::kArg + 8 - L::kSelf];
  if (reader.read_once(tp + L::kSelf, span, sizeof span) != sizeof span) return;
  for (auto [off, len] : {std::pair{L::kSelf, 8}, {L::kTid, 4}, {L::kStartRoutine, 16}})
    per_thread_[i].push_back({tp + off, std::string(span + (off - L::kSelf), static_cast<std::size_t>(len))});
}

std::unique_ptr<Memory> DescriptorPeek::over(Memory& rest) {
  std::vector<CopiedMemory::Copy> all;
  for (auto& copies : per_thread_)
    for (auto& c : copies) all.push_back(std::move(c));
  per_thread_.clear();
  return std::make_unique<Overlay>(std::move(all), rest);
}

std::vector<ThreadStart> read_thread_starts(const Target& t, Memory& mem, const Snapshot& snap) {
  std::vector<ThreadStart> out(t.threads.size());
  StartReader reader(t, mem);
  for (std::size_t i = 0; i < t.threads.size() && i < snap.threads.size(); ++i)
    if (snap.threads[i].tid == t.threads[i].tid && snap.threads[i].kind == Kind::thread)
      out[i] = reader.read(t.threads[i], snap.threads[i]);
  return out;
}

}  // namespace threadleak::detail
