// Leaks::report(): a summary line, one line per leaked thread, then the
// groups as `threadleak stacks` prints them.
#include <cstdio>

#include "internal.hpp"

namespace threadleak {
namespace {

std::string state_text(const Thread& t) {
  if (t.state == State::syscall && !t.syscall_name.empty()) return "syscall:" + t.syscall_name;
  return to_string(t.state);
}

std::string seconds(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f s", s);
  return buf;
}

}  // namespace

std::string Leaks::report() const {
  if (!*this) return "threadleak: no leaked threads\n";
  std::size_t n = snapshot_.threads.size();
  std::string out = "threadleak: " + std::to_string(n) + " leaked thread" + (n == 1 ? "" : "s") +
                    " (not at the baseline, still alive after waiting " + seconds(waited_s_) + "):\n";
  for (const Thread& t : snapshot_.threads) {
    out += "  TID " + std::to_string(t.tid) + " \"" + t.name + "\" " + state_text(t);
    if (!t.error.empty()) out += " (" + t.error + ")";
    out += "\n";
  }
  TextOptions o;
  o.max_tids = 64;
  return out + render_text(snapshot_, groups_, o);
}

}  // namespace threadleak
