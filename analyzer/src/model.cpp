#include <array>
#include <cerrno>
#include <tuple>
#include <utility>

#include "threadleak/snapshot.hpp"
#include "threadleak/threadleak.hpp"

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

Snapshot without_threads(const Snapshot& s) {
  Snapshot out;
  std::tie(out.source, out.origin, out.pid, out.executable, out.captured_at, out.captured_at_from, out.cpu_from,
           out.cpu_missing, out.modules, out.crash, out.coredump, out.warnings, out.notes, out.go_timers, out.cost) =
      std::tie(s.source, s.origin, s.pid, s.executable, s.captured_at, s.captured_at_from, s.cpu_from, s.cpu_missing,
               s.modules, s.crash, s.coredump, s.warnings, s.notes, s.go_timers, s.cost);
  // Every field but threads is listed above; a field added to Snapshot
  // changes its size (x86-64, libstdc++) and stops the build here.
  static_assert(sizeof(Snapshot) == 552, "a field was added to Snapshot: copy it in without_threads");
  return out;
}

const char* to_string(ErrorKind k) {
  switch (k) {
    case ErrorKind::bad_input: return "bad_input";
    case ErrorKind::not_found: return "not_found";
    case ErrorKind::permission: return "permission";
    case ErrorKind::target_vanished: return "target_vanished";
    case ErrorKind::internal: return "internal";
  }
  return "internal";
}

ErrorKind error_kind_of_errno(int err) {
  switch (err) {
    case ENOENT:
    case ESRCH: return ErrorKind::not_found;
    case EACCES:
    case EPERM: return ErrorKind::permission;
    default: return ErrorKind::bad_input;
  }
}

}  // namespace threadleak
