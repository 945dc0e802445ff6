// ANSI colours for the text reports. The front end decides whether colour
// is wanted (a terminal, --color, NO_COLOR); these only paint.
#pragma once

#include <string>

#include "threadleak/snapshot.hpp"

namespace threadleak::detail {

enum class Paint { none, bold, dim, red, green, yellow, blue, magenta, cyan };

// `s` wrapped in the escape sequences of `p` when `on`, else `s` unchanged.
std::string paint(const std::string& s, Paint p, bool on);

// The colour a state is drawn in (text here; the HTML report uses the same hues).
Paint state_paint(State s);

}  // namespace threadleak::detail
