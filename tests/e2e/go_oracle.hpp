// The Go runtime's own view of a program's goroutines: a full
// runtime.Stack(buf, true) dump, parsed into the same summary threadleak's
// JSON gives, so the two can be compared exactly.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace tl_test {

struct GoroutineSummary {
  long goid = 0;
  std::string state;                    // "sleep", "chan receive", "syscall", ...
  std::vector<std::string> functions;   // innermost first, inlined calls included
  std::string created_by;               // "" for goroutine 1
};

// Parses a runtime.Stack dump.
std::vector<GoroutineSummary> parse_go_dump(const std::string& text);

// "STATE | f1 > f2 > ... | created by F" -> count, leaving out `skip_goid`.
std::map<std::string, int> oracle_groups(const std::vector<GoroutineSummary>& gs, long skip_goid);
// The same from threadleak's JSON groups (user goroutines only: the
// runtime's own are omitted by runtime.Stack too).
std::map<std::string, int> threadleak_groups(const nlohmann::json& groups, long skip_goid);

// Goroutines per state, from either side.
std::map<std::string, int> per_state(const std::map<std::string, int>& groups);

}  // namespace tl_test
