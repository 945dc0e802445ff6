#include "source/debuginfod.hpp"

#include <dlfcn.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>

#include <elfutils/debuginfod.h>
#include <fmt/format.h>

#include "util.hpp"

namespace threadleak::detail {
namespace {

using Clock = std::chrono::steady_clock;
constexpr long kDefaultTimeoutS = 5;
constexpr long kBudgetInTimeouts = 6;
constexpr auto kSuspension = std::chrono::seconds(60);

// The few libdebuginfod entry points we use, found with dlsym: linking the
// library would load it (and libcurl's ~30 libraries) into every run.
struct Api {
  decltype(&debuginfod_begin) begin = nullptr;
  decltype(&debuginfod_find_debuginfo) find_debuginfo = nullptr;
  decltype(&debuginfod_find_executable) find_executable = nullptr;
  decltype(&debuginfod_set_progressfn) set_progressfn = nullptr;
  decltype(&debuginfod_get_url) get_url = nullptr;
};

// The fetch in progress on this thread, as on_progress sees it.
struct Progress {
  const Api* api = nullptr;
  Clock::time_point last_byte;    // the start, or when the byte count last grew
  Clock::time_point budget_end;
  std::chrono::seconds stall{kDefaultTimeoutS};
  long bytes = -1;
  enum class Stop { no, stalled, budget } stop = Stop::no;
};
thread_local Progress* t_progress = nullptr;

// libdebuginfod calls this about once a second while it waits; non-zero
// cancels the fetch.
int on_progress(debuginfod_client* c, long a, long) {
  Progress& p = *t_progress;
  Clock::time_point now = Clock::now();
  // Until a server starts sending, `a` counts polling rounds; then bytes.
  if (p.api->get_url(c) && a > p.bytes) {
    p.bytes = a;
    p.last_byte = now;
  }
  if (now - p.last_byte >= p.stall) p.stop = Progress::Stop::stalled;
  else if (now >= p.budget_end) p.stop = Progress::Stop::budget;
  return p.stop != Progress::Stop::no;
}

// DEBUGINFOD_TIMEOUT as libdebuginfod reads it (whole seconds), with our default.
long timeout_s() {
  const char* v = std::getenv("DEBUGINFOD_TIMEOUT");
  long t = v ? std::atol(v) : 0;
  return t > 0 ? t : kDefaultTimeoutS;
}

std::string env_or(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::string(v) : fallback;
}

// libdebuginfod 0.188's cache directory, chosen as it chooses it.
std::string cache_dir() {
  std::string set = env_or("DEBUGINFOD_CACHE_PATH", "");
  if (!set.empty()) return set;
  std::string home = env_or("HOME", "/");
  struct stat st;
  if (::stat((home + "/.debuginfod_client_cache").c_str(), &st) == 0) return home + "/.debuginfod_client_cache";
  return env_or("XDG_CACHE_HOME", home + "/.cache") + "/debuginfod_client";
}

const char* kind_name(DebuginfodKind kind) {
  return kind == DebuginfodKind::executable ? "executable" : "debuginfo";
}

// libdebuginfod 0.188 records a cancelled fetch as "not on the server"
// (an empty file, believed for 10 minutes): remove it, or the next run
// would not ask even when the server is back.
void forget_cancelled_miss(DebuginfodKind kind, const std::string& hex) {
  std::string path = cache_dir() + "/" + hex + "/" + kind_name(kind);
  struct stat st;
  if (::lstat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 0) ::unlink(path.c_str());
}

std::string what(DebuginfodKind kind, const std::string& module, const std::string& hex) {
  return fmt::format("{} {} (build-id {})", kind == DebuginfodKind::executable ? "the executable of" : "the debug info of",
                     module, hex);
}

class Fetcher {
 public:
  std::optional<std::string> fetch(DebuginfodKind kind, const std::vector<unsigned char>& id,
                                   const std::string& module);
  std::vector<std::string> take_warnings();

 private:
  bool load();
  bool suspended(Clock::time_point now);
  std::optional<std::string> ask(DebuginfodKind kind, const std::vector<unsigned char>& id,
                                 const std::string& what);
  void fail(const std::string& reason, const std::string& what);

  std::mutex mu_;   // guards everything below; held for a whole fetch
  bool tried_load_ = false;
  Api api_;
  debuginfod_client* client_ = nullptr;
  std::map<std::string, std::optional<std::string>> known_;   // "kind/hex" -> path, or nullopt: not there
  Clock::time_point suspended_until_{};
  Clock::duration spent_{};
  std::vector<std::string> warnings_;
  std::vector<std::string> failed_;    // what the warnings name: not listed again as skipped
  std::vector<std::string> skipped_;
};

bool Fetcher::load() {
  if (tried_load_) return client_ != nullptr;
  tried_load_ = true;
  void* lib = ::dlopen(DEBUGINFOD_SONAME, RTLD_NOW | RTLD_LOCAL);
  auto sym = [lib](const char* name) { return lib ? ::dlsym(lib, name) : nullptr; };
  api_.begin = reinterpret_cast<decltype(api_.begin)>(sym("debuginfod_begin"));
  api_.find_debuginfo = reinterpret_cast<decltype(api_.find_debuginfo)>(sym("debuginfod_find_debuginfo"));
  api_.find_executable = reinterpret_cast<decltype(api_.find_executable)>(sym("debuginfod_find_executable"));
  api_.set_progressfn = reinterpret_cast<decltype(api_.set_progressfn)>(sym("debuginfod_set_progressfn"));
  api_.get_url = reinterpret_cast<decltype(api_.get_url)>(sym("debuginfod_get_url"));
  bool complete = api_.begin && api_.find_debuginfo && api_.find_executable && api_.set_progressfn && api_.get_url;
  if (complete) client_ = api_.begin();
  if (!client_) {
    warnings_.push_back(fmt::format("DEBUGINFOD_URLS is set but {} could not be {} ({}); nothing is fetched "
                                    "(install libdebuginfod1)",
                                    DEBUGINFOD_SONAME, lib ? "used" : "loaded", lib ? "no client" : ::dlerror()));
    return false;
  }
  api_.set_progressfn(client_, on_progress);
  if (log_enabled())
    log(fmt::format("debuginfod: asking {} (a fetch stops after {} s without data, all fetches after {} s), cache {}",
                    env_or("DEBUGINFOD_URLS", ""), timeout_s(), timeout_s() * kBudgetInTimeouts, cache_dir()));
  return true;
}

// After a failure, nothing is asked until the suspension ends; then the
// budget starts afresh.
bool Fetcher::suspended(Clock::time_point now) {
  if (suspended_until_ == Clock::time_point{}) return false;
  if (now < suspended_until_) return true;
  suspended_until_ = {};
  spent_ = {};
  return false;
}

void Fetcher::fail(const std::string& reason, const std::string& what) {
  warnings_.push_back(fmt::format("debuginfod {}: {} for {}; not asked again for {} s: frames without local debug "
                                  "info show as module+offset or .dynsym names",
                                  env_or("DEBUGINFOD_URLS", ""), reason, what, kSuspension.count()));
  failed_.push_back(what);
  suspended_until_ = Clock::now() + kSuspension;
}

std::optional<std::string> Fetcher::ask(DebuginfodKind kind, const std::vector<unsigned char>& id,
                                        const std::string& what) {
  Clock::time_point start = Clock::now();
  Progress p;
  p.api = &api_;
  p.last_byte = start;
  p.stall = std::chrono::seconds(timeout_s());
  p.budget_end = start + (p.stall * kBudgetInTimeouts - spent_);
  char* path = nullptr;
  t_progress = &p;
  auto find = kind == DebuginfodKind::executable ? api_.find_executable : api_.find_debuginfo;
  int rc = find(client_, id.data(), static_cast<int>(id.size()), &path);
  t_progress = nullptr;
  Clock::duration took = Clock::now() - start;
  spent_ += took;
  double secs = std::chrono::duration<double>(took).count();
  if (rc >= 0) {
    ::close(rc);
    std::string out = path ? path : "";
    std::free(path);
    const char* url = api_.get_url(client_);   // null: served from the cache
    if (log_enabled())
      log(fmt::format("debuginfod: {} {} in {:.2f} s: {}", what, url ? fmt::format("fetched from {}", url) : "found in the cache",
                      secs, out));
    return out;
  }
  std::string hex = hex_bytes(id.data(), static_cast<int>(id.size()));
  if (p.stop != Progress::Stop::no) {
    forget_cancelled_miss(kind, hex);
    fail(p.stop == Progress::Stop::stalled
             ? fmt::format("no answer within {} s (DEBUGINFOD_TIMEOUT)", p.stall.count())
             : fmt::format("the {} s allowed for all fetches ran out", p.stall.count() * kBudgetInTimeouts),
         what);
  } else if (rc == -ENOENT) {
    if (log_enabled()) log(fmt::format("debuginfod: {} is not on the servers ({:.2f} s)", what, secs));
  } else {
    fail(fmt::format("failed after {:.1f} s ({})", secs, std::strerror(-rc)), what);
  }
  return std::nullopt;
}

std::optional<std::string> Fetcher::fetch(DebuginfodKind kind, const std::vector<unsigned char>& id,
                                          const std::string& module) {
  // libdebuginfod takes build-ids of 1 to 63 bytes; a hostile core may say anything.
  if (id.empty() || id.size() >= 64) return std::nullopt;
  std::string hex = hex_bytes(id.data(), static_cast<int>(id.size()));
  std::string key = std::string(kind_name(kind)) + "/" + hex;
  std::lock_guard lock(mu_);
  if (auto it = known_.find(key); it != known_.end()) return it->second;
  std::string item = what(kind, module, hex);
  if (suspended(Clock::now())) {
    bool named = std::find(skipped_.begin(), skipped_.end(), item) != skipped_.end() ||
                 std::find(failed_.begin(), failed_.end(), item) != failed_.end();
    if (!named) skipped_.push_back(item);
    return std::nullopt;
  }
  if (!load()) return std::nullopt;
  std::optional<std::string> got = ask(kind, id, item);
  if (got || suspended_until_ == Clock::time_point{}) known_[key] = got;   // a failure is asked again later
  return got;
}

std::vector<std::string> Fetcher::take_warnings() {
  std::lock_guard lock(mu_);
  std::vector<std::string> out = std::move(warnings_);
  warnings_.clear();
  if (!skipped_.empty()) {
    constexpr std::size_t kNamed = 6;
    std::string list;
    for (std::size_t i = 0; i < skipped_.size() && i < kNamed; ++i) list += (i ? ", " : "") + skipped_[i];
    if (skipped_.size() > kNamed) list += fmt::format(" and {} more", skipped_.size() - kNamed);
    out.push_back("debuginfod: after that failure, not asked for " + list);
    skipped_.clear();
  }
  failed_.clear();
  return out;
}

// Lives as long as the process: the client is never ended, the library never
// unloaded (a capture in another thread may still use them at exit).
Fetcher& fetcher() {
  static Fetcher* f = new Fetcher;
  return *f;
}

}  // namespace

bool debuginfod_configured() {
  const char* urls = std::getenv("DEBUGINFOD_URLS");
  return urls && *urls;
}

std::optional<std::string> debuginfod_fetch(DebuginfodKind kind, const std::vector<unsigned char>& build_id,
                                            const std::string& module) {
  if (!debuginfod_configured()) return std::nullopt;
  return fetcher().fetch(kind, build_id, module);
}

std::vector<std::string> take_debuginfod_warnings() {
  if (!debuginfod_configured()) return {};
  return fetcher().take_warnings();
}

}  // namespace threadleak::detail
