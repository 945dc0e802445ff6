// ANSI colours for the text reports.
#include "report/color.hpp"

namespace threadleak::detail {
namespace {

const char* code(Paint p) {
  switch (p) {
    case Paint::bold: return "1";
    case Paint::dim: return "2";
    case Paint::red: return "1;31";
    case Paint::green: return "32";
    case Paint::yellow: return "33";
    case Paint::blue: return "34";
    case Paint::magenta: return "35";
    case Paint::cyan: return "36";
    case Paint::none: break;
  }
  return nullptr;
}

}  // namespace

std::string paint(const std::string& s, Paint p, bool on) {
  const char* c = code(p);
  if (!on || !c) return s;
  return std::string("\x1b[") + c + "m" + s + "\x1b[0m";
}

Paint state_paint(State s) {
  switch (s) {
    case State::crashed: return Paint::red;
    case State::mutex:
    case State::rwlock:
    case State::sem:
    case State::join: return Paint::magenta;
    case State::condvar: return Paint::blue;
    case State::sleep: return Paint::cyan;
    case State::io:
    case State::poll: return Paint::green;
    case State::running: return Paint::yellow;
    default: return Paint::none;
  }
}

}  // namespace threadleak::detail
