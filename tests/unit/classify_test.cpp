#include <gtest/gtest.h>

#include "builders.hpp"
#include "classify.hpp"

using namespace threadleak;
using tl_unit::frame;

namespace {
Thread classified(std::vector<std::string> fns, std::optional<long> nr, bool crashed = false) {
  Thread t;
  for (auto& f : fns) t.frames.push_back(frame(f, 0));
  detail::classify(t, nr, crashed);
  return t;
}
}  // namespace

TEST(Classify, NotInASyscallIsRunning) { EXPECT_EQ(classified({"spin"}, -1).state, State::running); }

TEST(Classify, CrashedWins) { EXPECT_EQ(classified({"__lll_lock_wait"}, 202, true).state, State::crashed); }

TEST(Classify, NoRegistersIsUnknown) { EXPECT_EQ(classified({}, std::nullopt).state, State::unknown); }

TEST(Classify, FutexByFrames) {
  EXPECT_EQ(classified({"futex_wait", "__GI___lll_lock_wait", "___pthread_mutex_lock"}, 202).state, State::mutex);
  EXPECT_EQ(classified({"__futex_abstimed_wait_common", "___pthread_cond_wait"}, 202).state, State::condvar);
  EXPECT_EQ(classified({"__futex_abstimed_wait_common", "__pthread_rwlock_rdlock_full"}, 202).state,
            State::rwlock);
  EXPECT_EQ(classified({"__futex_abstimed_wait_common", "__new_sem_wait_slow64", "sem_wait"}, 202).state,
            State::sem);
  EXPECT_EQ(classified({"__futex_abstimed_wait_common", "__pthread_clockjoin_ex", "std::thread::join()"}, 202).state,
            State::join);
}

TEST(Classify, CondvarWaiterRetakingItsMutexIsAMutexWaiter) {
  EXPECT_EQ(classified({"__lll_lock_wait", "__pthread_mutex_cond_lock", "___pthread_cond_wait"}, 202).state,
            State::mutex);
}

TEST(Classify, BareFutexIsASyscall) {
  Thread t = classified({"my_own_futex_loop"}, 202);
  EXPECT_EQ(t.state, State::syscall);
  EXPECT_EQ(t.syscall_name, "futex");
}

TEST(Classify, BySyscallNumber) {
  EXPECT_EQ(classified({}, 230).state, State::sleep);
  EXPECT_EQ(classified({}, 35).state, State::sleep);
  EXPECT_EQ(classified({}, 0).state, State::io);
  EXPECT_EQ(classified({}, 288).state, State::io);
  EXPECT_EQ(classified({}, 232).state, State::poll);
  EXPECT_EQ(classified({}, 7).state, State::poll);
  EXPECT_EQ(classified({}, 128).state, State::signal_wait);
  Thread t = classified({}, 61);
  EXPECT_EQ(t.state, State::syscall);
  EXPECT_EQ(t.syscall_name, "wait4");
}

TEST(Classify, RestartedSyscallTakesItsWrappersMeaning) {
  EXPECT_EQ(classified({"clock_nanosleep@GLIBC_2.2.5", "__nanosleep"}, 219).state, State::sleep);
  EXPECT_EQ(classified({"epoll_wait"}, 219).state, State::poll);
  EXPECT_EQ(classified({"futex_wait", "__GI___lll_lock_wait"}, 219).state, State::mutex);
  Thread t = classified({"mystery"}, 219);
  EXPECT_EQ(t.state, State::syscall);
  EXPECT_EQ(t.syscall_name, "restart_syscall");
}

TEST(Classify, StateNamesRoundTrip) {
  for (State s : {State::running, State::crashed, State::mutex, State::condvar, State::rwlock, State::sem,
                  State::join, State::sleep, State::io, State::poll, State::signal_wait, State::unknown})
    EXPECT_EQ(state_from_string(to_string(s)), s);
  EXPECT_EQ(to_string(State::signal_wait), "signal-wait");
  EXPECT_EQ(state_from_string("syscall:wait4"), State::syscall);
  EXPECT_EQ(state_from_string("nonsense"), std::nullopt);
}
