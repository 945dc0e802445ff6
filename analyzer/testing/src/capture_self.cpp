// A snapshot of this very process, taken by a helper process: the threadleak
// CLI, `threadleak snapshot --pid OURS -o -`, forked and exec'ed from here.
//
// Why a helper: the live source freezes its target with ptrace, which a
// process cannot do to itself; ptrace stops every thread whatever its signal
// mask and interrupts long system calls, and the unwinding happens after the
// thaw, on copies. Between fork and exec the child only calls
// async-signal-safe functions (read, alarm, dup2, execv, _exit): the parent
// has other threads that may hold locks.
//
// Yama (ptrace_scope 1) lets a process trace only its descendants; the
// helper is our child, the wrong way round, so the parent names it with
// PR_SET_PTRACER before letting it exec (it waits for a byte on a pipe).
// alarm() survives exec: a helper stuck for `timeout` dies, and the kernel
// then detaches it from our threads.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <mutex>

#include <nlohmann/json.hpp>

#include "internal.hpp"

namespace threadleak {
namespace testing_detail {
namespace {

// The path compiled in as THREADLEAK_CLI_PATH, set from consumers' static
// initializers: a function-local static, so initialization order is no issue.
struct DefaultCli {
  std::mutex mu;
  std::string path;
};
DefaultCli& default_cli() {
  static DefaultCli d;
  return d;
}

bool executable(const std::string& p) {
  struct stat st;
  return !p.empty() && ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(p.c_str(), X_OK) == 0;
}

std::string on_path(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::string rest = path ? path : "";
  for (std::size_t pos = 0; pos <= rest.size();) {
    std::size_t end = rest.find(':', pos);
    if (end == std::string::npos) end = rest.size();
    std::string cand = rest.substr(pos, end - pos) + "/" + name;
    if (end > pos && executable(cand)) return cand;
    pos = end + 1;
  }
  return "";
}

struct Pipe {
  int r = -1, w = -1;
  Pipe() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) throw Error(std::string("threadleak testing: pipe: ") + std::strerror(errno));
    r = fds[0];
    w = fds[1];
  }
  ~Pipe() { close_r(); close_w(); }
  void close_r() { if (r >= 0) ::close(r); r = -1; }
  void close_w() { if (w >= 0) ::close(w); w = -1; }
};

// Runs only async-signal-safe calls; never returns.
[[noreturn]] void child(Pipe& go, Pipe& out, Pipe& err, char* const* argv, unsigned timeout_s) {
  char c;
  while (::read(go.r, &c, 1) < 0 && errno == EINTR) {}
  ::alarm(timeout_s);
  ::dup2(out.w, 1);
  ::dup2(err.w, 2);
  ::execv(argv[0], argv);
  static const char msg[] = "threadleak testing: cannot exec the threadleak CLI\n";
  (void)!::write(2, msg, sizeof msg - 1);
  ::_exit(127);
}

// Reads both pipes to EOF, or until the deadline (then kills the child).
void drain(pid_t pid, Pipe& out, Pipe& err, std::string& o, std::string& e, std::chrono::seconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout + std::chrono::seconds(2);
  char buf[65536];
  while (out.r >= 0 || err.r >= 0) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) { ::kill(pid, SIGKILL); e += "helper timed out; killed\n"; return; }
    pollfd fds[2] = {{out.r, POLLIN, 0}, {err.r, POLLIN, 0}};
    int n = ::poll(fds, 2, static_cast<int>(left.count()));
    if (n < 0 && errno != EINTR) return;
    for (int i = 0; i < 2 && n > 0; ++i) {
      if (!fds[i].revents) continue;
      Pipe& p = i == 0 ? out : err;
      ssize_t got = ::read(p.r, buf, sizeof buf);
      if (got > 0) (i == 0 ? o : e).append(buf, static_cast<std::size_t>(got));
      else if (got == 0 || errno != EINTR) p.close_r();
    }
  }
}

// The helper's error line (--diagnostics json): its message and kind; the
// first line as it is when the helper said something else (a crash, a shell).
std::pair<std::string, ErrorKind> helper_error(const std::string& err) {
  std::size_t pos = 0;
  while (pos < err.size()) {
    std::size_t end = std::min(err.find('\n', pos), err.size());
    nlohmann::json j = nlohmann::json::parse(err.substr(pos, end - pos), nullptr, false);
    if (j.is_object() && j.value("level", "") == "error") {
      std::string kind = j.value("kind", "");
      for (ErrorKind k : {ErrorKind::bad_input, ErrorKind::not_found, ErrorKind::permission,
                          ErrorKind::target_vanished, ErrorKind::internal})
        if (kind == to_string(k)) return {j.value("message", "no message"), k};
      return {j.value("message", "no message"), ErrorKind::internal};
    }
    pos = end + 1;
  }
  std::string l = err.substr(0, err.find('\n'));
  return {l.empty() ? "no message" : l, ErrorKind::internal};
}

int wait_child(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return -1;  // e.g. SIGCHLD ignored: the status is lost
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return 128 + WTERMSIG(status);
}

}  // namespace

std::string find_cli() {
  if (const char* env = std::getenv("THREADLEAK_CLI"); env && *env) return executable(env) ? env : "";
  {
    std::lock_guard lock(default_cli().mu);
    if (executable(default_cli().path)) return default_cli().path;
  }
  return on_path("threadleak");
}

Snapshot capture_self(std::chrono::seconds timeout) {
  std::string cli = find_cli();
  if (cli.empty())
    throw Error("threadleak CLI not found (set THREADLEAK_CLI, or put `threadleak` on PATH)");
  std::string pid = std::to_string(::getpid());
  std::vector<std::string> args = {cli, "--diagnostics", "json", "snapshot", "--pid", pid, "-o", "-"};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  Pipe go, out, err;
  pid_t child_pid = ::fork();
  if (child_pid < 0) throw Error(std::string("threadleak testing: fork: ") + std::strerror(errno));
  if (child_pid == 0) child(go, out, err, argv.data(), static_cast<unsigned>(timeout.count()));
  ::prctl(PR_SET_PTRACER, static_cast<unsigned long>(child_pid), 0, 0, 0);  // EINVAL without Yama: fine
  go.close_r();
  out.close_w();
  err.close_w();
  (void)!::write(go.w, "g", 1);
  go.close_w();
  std::string o, e;
  drain(child_pid, out, err, o, e, timeout);
  int status = wait_child(child_pid);
  ::prctl(PR_SET_PTRACER, 0UL, 0, 0, 0);
  std::string what = cli + " snapshot --pid " + pid;
  if (status != 0 && !(status == -1 && !o.empty())) {
    auto [message, kind] = helper_error(e);
    throw Error(what + " failed (exit status " + std::to_string(status) + "): " + message, kind);
  }
  Snapshot snap = from_snapshot_json(o, what);
  snap.source = "live";  // as taken, not as carried
  snap.origin = "pid " + pid;
  return snap;
}

Snapshot proc_only_snapshot(const std::vector<Task>& tasks, const std::string& why) {
  Snapshot s;
  s.source = "live";
  s.origin = "pid " + std::to_string(::getpid());
  s.pid = ::getpid();
  s.warnings.push_back("no stacks: " + why);
  for (const Task& t : tasks) {
    Thread th;
    th.tid = t.tid;
    th.name = t.name;
    th.state = State::unknown;
    th.error = std::string("no stack (kernel state ") + t.kernel_state + ")";
    s.threads.push_back(std::move(th));
  }
  return s;
}

}  // namespace testing_detail

bool detail::set_default_cli(const char* path) {
  auto& d = testing_detail::default_cli();
  std::lock_guard lock(d.mu);
  d.path = path ? path : "";
  return true;
}

std::string helper_path() { return testing_detail::find_cli(); }

}  // namespace threadleak
