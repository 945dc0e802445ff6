#include "classify.hpp"

#include <algorithm>
#include <array>
#include <string_view>

#include "syscalls.hpp"

namespace threadleak::detail {
namespace {

// x86-64 system call numbers by the state they mean.
constexpr long kSleep[] = {35 /*nanosleep*/, 230 /*clock_nanosleep*/};
constexpr long kIo[] = {0 /*read*/, 1 /*write*/, 17 /*pread64*/, 18 /*pwrite64*/, 19 /*readv*/,
                        20 /*writev*/, 42 /*connect*/, 43 /*accept*/, 44 /*sendto*/,
                        45 /*recvfrom*/, 46 /*sendmsg*/, 47 /*recvmsg*/, 288 /*accept4*/,
                        295 /*preadv*/, 296 /*pwritev*/, 299 /*recvmmsg*/, 307 /*sendmmsg*/,
                        327 /*preadv2*/, 328 /*pwritev2*/};
constexpr long kPoll[] = {7 /*poll*/, 23 /*select*/, 232 /*epoll_wait*/, 270 /*pselect6*/,
                          271 /*ppoll*/, 281 /*epoll_pwait*/, 441 /*epoll_pwait2*/};
constexpr long kSignalWait[] = {34 /*pause*/, 128 /*rt_sigtimedwait*/, 130 /*rt_sigsuspend*/};
constexpr long kFutex = 202;
constexpr long kRestartSyscall = 219;
constexpr std::size_t kTopFrames = 10;   // how deep to look for the blocking call

template <std::size_t N>
bool in(const long (&set)[N], long nr) {
  return std::find(std::begin(set), std::end(set), nr) != std::end(set);
}

struct Pattern { std::string_view needle; State state; };
// Looked for in function names, innermost frame first; the first hit wins,
// so a condvar waiter re-taking its mutex (__lll_lock_wait) is a mutex waiter.
constexpr std::array<Pattern, 18> kFutexPatterns{{
    {"__lll_lock_wait", State::mutex},
    {"pthread_mutex_lock", State::mutex},
    {"pthread_mutex_timedlock", State::mutex},
    {"pthread_mutex_clocklock", State::mutex},
    {"__pthread_mutex_cond_lock", State::mutex},
    {"std::mutex::lock", State::mutex},
    {"pthread_cond_wait", State::condvar},
    {"pthread_cond_timedwait", State::condvar},
    {"pthread_cond_clockwait", State::condvar},
    {"std::condition_variable::wait", State::condvar},
    {"pthread_rwlock_", State::rwlock},
    {"sem_wait", State::sem},
    {"sem_timedwait", State::sem},
    {"sem_clockwait", State::sem},
    {"pthread_join", State::join},
    {"pthread_clockjoin", State::join},
    {"pthread_timedjoin", State::join},
    {"std::thread::join", State::join},
}};

std::optional<State> from_frames(const std::vector<Frame>& frames) {
  std::size_t n = std::min(frames.size(), kTopFrames);
  for (std::size_t i = 0; i < n; ++i)
    for (const Pattern& p : kFutexPatterns)
      if (frames[i].function.find(p.needle) != std::string::npos) return p.state;
  return std::nullopt;
}

// A system call interrupted by a stop (a debugger, our own freeze, a signal)
// resumes as restart_syscall, which hides the original number; the libc
// wrapper on top of the stack still tells what it was.
struct Wrapper { std::string_view function; long nr; };
constexpr std::array<Wrapper, 8> kWrappers{{
    {"clock_nanosleep", 230}, {"nanosleep", 35}, {"epoll_wait", 232}, {"epoll_pwait", 281},
    {"ppoll", 271}, {"poll", 7}, {"select", 23}, {"futex", kFutex},
}};

long original_syscall(const std::vector<Frame>& frames, long nr) {
  std::size_t n = std::min<std::size_t>(frames.size(), 3);
  for (std::size_t i = 0; i < n; ++i)
    for (const Wrapper& w : kWrappers)
      if (frames[i].function.find(w.function) != std::string::npos) return w.nr;
  if (from_frames(frames)) return kFutex;
  return nr;
}

}  // namespace

void classify(Thread& t, std::optional<long> syscall_nr, bool crashed) {
  t.syscall_name.clear();
  if (crashed) { t.state = State::crashed; return; }
  if (!syscall_nr) { t.state = State::unknown; return; }
  long nr = *syscall_nr;
  if (nr < 0) { t.state = State::running; return; }
  if (nr == kRestartSyscall) nr = original_syscall(t.frames, nr);
  t.syscall_name = syscall_name(nr);
  if (nr == kFutex) {
    if (auto s = from_frames(t.frames)) { t.state = *s; return; }
  }
  if (in(kSleep, nr)) t.state = State::sleep;
  else if (in(kIo, nr)) t.state = State::io;
  else if (in(kPoll, nr)) t.state = State::poll;
  else if (in(kSignalWait, nr)) t.state = State::signal_wait;
  else t.state = State::syscall;
}

}  // namespace threadleak::detail
