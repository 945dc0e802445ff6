#include <array>
#include <utility>

#include "threadleak/snapshot.hpp"

namespace threadleak {
namespace {
constexpr std::array<std::pair<State, const char*>, 14> kNames{{
    {State::running, "running"},   {State::crashed, "crashed"}, {State::mutex, "mutex"},
    {State::condvar, "condvar"},   {State::rwlock, "rwlock"},   {State::sem, "sem"},
    {State::join, "join"},         {State::sleep, "sleep"},     {State::io, "io"},
    {State::poll, "poll"},         {State::signal_wait, "signal-wait"},
    {State::syscall, "syscall"},   {State::unknown, "unknown"},   {State::waiting, "waiting"},
}};
}  // namespace

std::string to_string(State s) {
  for (const auto& [st, name] : kNames)
    if (st == s) return name;
  return "unknown";
}

std::optional<State> state_from_string(const std::string& s) {
  if (s.starts_with("syscall:")) return State::syscall;
  for (const auto& [st, name] : kNames)
    if (s == name) return st;
  return std::nullopt;
}

std::string to_string(Kind k) { return k == Kind::goroutine ? "goroutine" : "thread"; }

}  // namespace threadleak
