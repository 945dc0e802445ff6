// The icicle graph of the HTML report: all threads, outermost frame on top,
// each box as wide as the threads that pass through it, coloured by state.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "threadleak/analysis.hpp"

namespace threadleak::detail {

// An inline <svg> element. Groups whose signature is in `marked` (the grown
// groups of a diff) have their boxes outlined.
std::string icicle_svg(const std::vector<Group>& groups, const std::set<std::string>& marked = {});

// HTML-escapes & < > " '.
std::string html_escape(const std::string& s);

// The CSS class of a state's colour: "s-sleep", "s-mutex", ...
std::string state_class(State s);

}  // namespace threadleak::detail
