// `threadleak watch --pid PID --interval 30s [--count N] [-o DIR]`:
// snapshots of a live process on a schedule (each a short freeze, as the
// live source promises), saved to DIR, and a line whenever a group has grown
// across the last K snapshots. SIGINT and SIGTERM are blocked and only
// waited for between snapshots, so Ctrl-C never lands mid-freeze: the
// target is always thawed and detached before the command exits.
// --metrics-listen serves the latest snapshot's metrics over HTTP and
// --metrics-file writes them after every snapshot (docs/metrics.md).
#include <signal.h>

#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <deque>
#include <filesystem>
#include <memory>
#include <regex>

#include <fmt/format.h>

#include "commands.hpp"
#include "diagnostics.hpp"
#include "metrics_server.hpp"
#include "options.hpp"

namespace cli {
namespace {
namespace fs = std::filesystem;

// What `threadleak --help` says of it.
constexpr const char* kWatchHelp =
    "snapshot a live process on a schedule and report groups that keep "
    "growing; Ctrl-C stops (exit 1 if growth was reported)";

struct WatchArgs {
  InputArgs in;
  std::string interval = "30s";
  std::size_t count = 0;       // 0: until Ctrl-C
  std::string out_dir;
  std::size_t window = 3;      // K: a group must rise across the last K snapshots
  std::size_t min_growth = 1;
  std::string group_by = "pc";
  std::string metrics_listen;  // HOST:PORT
  std::string metrics_file;
  std::size_t metrics_top = 50;
  IgnoreArgs ignore;
};

// "30s", "500ms", "2m", "1h", "1.5s"; a bare number is seconds.
std::chrono::milliseconds parse_interval(const std::string& s) {
  static const std::regex re(R"(^([0-9]+(\.[0-9]+)?)(ms|s|m|h)?$)");
  std::smatch m;
  if (!std::regex_match(s, m, re)) throw threadleak::Error("--interval " + s + ": expected e.g. 30s, 500ms, 2m");
  double n = std::stod(m[1]);
  std::string unit = m[3];
  double ms = unit == "ms" ? n : unit == "m" ? n * 60e3 : unit == "h" ? n * 3600e3 : n * 1e3;
  if (ms < 10) throw threadleak::Error("--interval " + s + ": at least 10ms");
  return std::chrono::milliseconds(static_cast<long long>(std::llround(ms)));
}

std::string clock_now() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  localtime_r(&t, &tm);
  return fmt::format("{:02}:{:02}:{:02}", tm.tm_hour, tm.tm_min, tm.tm_sec);
}

void say(const std::string& line) {
  std::fputs((clock_now() + " " + line + "\n").c_str(), stdout);
  std::fflush(stdout);
}

// Sleeps for `d` unless SIGINT/SIGTERM comes (then returns the signal; 0 on timeout).
int wait_for_signal(const sigset_t& set, std::chrono::milliseconds d) {
  auto deadline = std::chrono::steady_clock::now() + d;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::nanoseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return 0;
    timespec ts{static_cast<time_t>(left.count() / 1000000000), static_cast<long>(left.count() % 1000000000)};
    int sig = ::sigtimedwait(&set, nullptr, &ts);
    if (sig > 0) return sig;
    if (errno != EINTR && errno != EAGAIN) return 0;
  }
}

// The first free DIR/PID-NNNN.json, so a restarted watch never overwrites.
class Saver {
 public:
  Saver(std::string dir, int pid) : dir_(std::move(dir)), pid_(pid) {
    if (dir_.empty()) return;
    std::error_code ec;
    fs::create_directories(dir_, ec);
    if (ec || !fs::is_directory(dir_)) throw threadleak::Error(dir_ + ": cannot create directory: " + ec.message());
    while (fs::exists(path(next_))) ++next_;
  }
  // Returns where the snapshot went, or "" when not saving.
  std::string save(const threadleak::Snapshot& snap) {
    if (dir_.empty()) return "";
    std::string p = path(next_++);
    write_output(threadleak::to_snapshot_json(snap), p);
    return p;
  }

 private:
  std::string path(int n) const { return fmt::format("{}/{}-{:04}.json", dir_, pid_, n); }
  std::string dir_;
  int pid_;
  int next_ = 1;
};

std::string arrows(const std::vector<std::size_t>& v) {
  std::string s;
  for (std::size_t i = 0; i < v.size(); ++i) s += fmt::format("{}{}", i ? " -> " : "", v[i]);
  return s;
}

std::string top_function(const threadleak::Group& g) {
  for (const auto& f : g.frames)
    if (f.own_code && !f.inlined) return f.function;
  return g.frames.empty() ? "(no frames)" : g.frames.front().function;
}

// Prints one line per group that rose across the window and grew just now.
// Where the latest snapshot's metrics go: an HTTP endpoint, a file, both or neither.
class MetricsOut {
 public:
  explicit MetricsOut(const WatchArgs& a) : file_(a.metrics_file), top_(a.metrics_top) {
    if (a.metrics_listen.empty()) return;
    server_ = std::make_unique<MetricsServer>(a.metrics_listen);
    say("serving metrics at " + server_->url());
  }
  void publish(const threadleak::Snapshot& snap, const std::vector<threadleak::Group>& groups) {
    if (!server_ && file_.empty()) return;
    threadleak::MetricsOptions o;
    o.top = top_;
    o.captured_unix_seconds =
        std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
    std::string prometheus = threadleak::render_metrics(snap, groups, o);
    if (!file_.empty()) write_atomically(file_, prometheus);
    if (!server_) return;
    o.openmetrics = true;
    server_->publish({std::move(prometheus), threadleak::render_metrics(snap, groups, o)});
  }

 private:
  std::string file_;
  std::size_t top_;
  std::unique_ptr<MetricsServer> server_;
};

bool report_growth(const std::deque<threadleak::Snapshot>& window, const threadleak::DiffOptions& opts,
                   const std::optional<threadleak::Expectations>& expect) {
  if (window.size() < 2) return false;
  threadleak::Series s = threadleak::series(std::vector<threadleak::Snapshot>(window.begin(), window.end()), opts);
  bool any = false;
  for (const auto& e : s.groups) {
    std::size_t n = e.counts.size();
    if (!e.grew || e.counts[n - 1] <= e.counts[n - 2]) continue;
    // A known group (--expect) within its limits is not reported; over one, the report names it.
    const threadleak::KnownGroup* known = expect ? expect->known(e.group) : nullptr;
    std::string broken = known ? known->broken(e.counts.back(), e.growth()) : "";
    if (known && broken.empty()) continue;
    std::string state = e.group.state == threadleak::State::syscall ? "syscall:" + e.group.syscall_name
                                                                     : threadleak::to_string(e.group.state);
    say(fmt::format("[{}] GREW +{} over the last {} snapshots: {} in state {}: {}", e.group.fingerprint, e.growth(), n,
                    arrows(e.counts), state, top_function(e.group)) +
        (known ? fmt::format(" ({}, {}:{})", broken, expect->file, known->line) : ""));
    any = true;
  }
  return any;
}

int run_watch(const WatchArgs& a) {
  auto interval = parse_interval(a.interval);
  threadleak::DiffOptions opts;
  opts.grouping.by = grouping_of(a.group_by);
  opts.min_growth = a.min_growth;
  a.ignore.apply_to(opts);
  std::optional<threadleak::Expectations> expect = a.ignore.expectations();
  if (expect) expect->apply_to(opts);
  threadleak::Verdict unwound;  // --expect: threads not unwound in any snapshot
  Saver saver(a.out_dir, a.in.pid);
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);  // before capture or the server starts any worker thread
  MetricsOut metrics(a);
  std::deque<threadleak::Snapshot> window;
  bool grew = false;
  std::size_t taken = 0;
  int sig = 0;
  while (a.count == 0 || taken < a.count) {
    threadleak::Snapshot snap = threadleak::capture(the_source(a.in));
    ++taken;
    warn_all(snap.warnings);
    std::string saved = saver.save(snap);
    auto groups = threadleak::group(snap, opts.grouping);
    metrics.publish(snap, groups);
    say(fmt::format("snapshot {}: {} threads in {} groups{}", taken, snap.threads.size(), groups.size(),
                    saved.empty() ? "" : ", saved to " + saved));
    if (expect) threadleak::check_unwound(snap, opts, unwound);
    window.push_back(std::move(snap));
    if (window.size() > a.window) window.pop_front();
    grew = report_growth(window, opts, expect) || grew;
    if (a.count && taken == a.count) break;
    if ((sig = wait_for_signal(stop, interval)) != 0) break;
  }
  note(fmt::format("watch stopped{} after {} snapshots; pid {} left running",
                   sig ? (sig == SIGINT ? " by SIGINT" : " by SIGTERM") : "", taken, a.in.pid));
  if (!grew && expect && !unwound.incomplete_threads.empty()) return verdict_status(unwound);
  return grew ? 1 : 0;
}

}  // namespace

Command add_watch_command(CLI::App& app) {
  auto [cmd, args] = new_command<WatchArgs>(app, "watch", kWatchHelp, Inputs::live);
  cmd->add_option("--interval", args->interval, "time between snapshots: 30s, 500ms, 2m, ...")
      ->capture_default_str();
  cmd->add_option("--count", args->count, "stop after N snapshots (default: until Ctrl-C)");
  cmd->add_option("-o,--output", args->out_dir, "save every snapshot as DIR/PID-NNNN.json (readable by diff)");
  cmd->add_option("--window", args->window, "K: report a group that rose across the last K snapshots")
      ->capture_default_str()
      ->check(CLI::Range(2, 1000));
  cmd->add_option("--min-growth", args->min_growth, "a rise of at least N across the window")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  add_group_by_option(cmd, args->group_by);
  cmd->add_option("--metrics-listen", args->metrics_listen,
                  "serve the latest snapshot's metrics at http://HOST:PORT/metrics (port 0: a free one, "
                  "printed); a scrape never triggers a capture (docs/metrics.md)");
  cmd->add_option("--metrics-file", args->metrics_file,
                  "after every snapshot, write its metrics to FILE atomically (node_exporter's textfile "
                  "collector: FILE in its directory, ending in .prom)");
  cmd->add_option("--metrics-top", args->metrics_top,
                  "the largest N groups get a series each; the rest are summed in fingerprint=\"other\"")
      ->capture_default_str()
      ->check(CLI::Range(1, 100000));
  add_ignore_options(cmd, args->ignore);
  return {cmd, [args] { return run_watch(*args); }};
}

}  // namespace cli
