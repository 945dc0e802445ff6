#include "go_oracle.hpp"

#include <signal.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <set>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

namespace tl_test {
namespace {

// "main.GetResourceB({0x4e1aa0?, 0xc00009e180?}, 0x0?)" -> "main.GetResourceB";
// "" for a line that is not a frame (register dumps, "...frames elided...").
std::string function_of(const std::string& line) {
  if (line.empty() || line.back() != ')') return "";
  int depth = 0;
  for (std::size_t i = line.size(); i-- > 0;) {
    if (line[i] == ')') ++depth;
    if (line[i] == '(' && --depth == 0) return line.substr(0, i);
  }
  return "";
}

std::string key(const std::string& state, const std::vector<std::string>& fns, const std::string& creator) {
  std::string k = state + " |";
  for (const auto& f : fns) k += " " + f + " >";
  return k + " | created by " + creator;
}

// "goroutine 7 gp=0xc000007340 m=nil [chan receive, 2 minutes]:" -> 7, "chan receive"
bool parse_header(const std::string& line, GoroutineSummary& g) {
  auto open = line.find('['), close = line.rfind(']');
  if (line.rfind("goroutine ", 0) != 0 || open == std::string::npos || close < open) return false;
  g.goid = std::stol(line.substr(10));
  std::string st = line.substr(open + 1, close - open - 1);
  g.state = st.substr(0, st.find(','));
  return true;
}

bool in_package_runtime(const std::string& f) {
  return f.starts_with("runtime.") || f.starts_with("runtime/") || f.starts_with("internal/runtime/");
}

std::string first_outside_runtime(const std::vector<std::string>& fns) {
  for (const auto& f : fns)
    if (!in_package_runtime(f)) return f;
  return "";
}

struct Seen {
  std::string state, function;
  bool has_stack = true;
};

std::map<long, Seen> by_goid(const std::vector<GoroutineSummary>& traceback) {
  std::map<long, Seen> m;
  for (const auto& g : traceback)
    m[g.goid] = {g.state, first_outside_runtime(g.functions), !g.functions.empty()};
  return m;
}

std::map<long, Seen> by_goid(const nlohmann::json& groups) {
  std::map<long, Seen> m;
  for (const auto& g : groups) {
    if (g.value("kind", "") != "goroutine") continue;
    std::vector<std::string> fns;
    for (const auto& f : g.at("frames")) fns.push_back(f.value("function", ""));
    Seen s{g.value("wait_reason", g.value("state", "")), first_outside_runtime(fns)};
    for (const auto& id : g.at("members")) m[id.get<long>()] = s;
  }
  return m;
}

std::string describe(const Seen& s) {
  if (!s.has_stack) return s.state + " | (stack unavailable)";
  return s.state + " | " + (s.function.empty() ? "(runtime only)" : s.function);
}

std::string slurp(const std::string& path) {
  std::ifstream f(path);
  return {std::istreambuf_iterator<char>(f), {}};
}

}  // namespace

std::vector<GoroutineSummary> parse_go_dump(const std::string& text) {
  std::vector<GoroutineSummary> out;
  std::istringstream in(text);
  std::string line;
  bool in_goroutine = false;
  while (std::getline(in, line)) {
    GoroutineSummary g;
    if (parse_header(line, g)) {
      in_goroutine = g.goid != 0;  // goroutine 0: an M's g0, not a goroutine
      if (in_goroutine) out.push_back(g);
      continue;
    }
    if (line.empty()) in_goroutine = false;  // blank line: end of the goroutine's block
    if (!in_goroutine || line[0] == '\t') continue;
    if (line.rfind("created by ", 0) == 0) {
      std::string c = line.substr(11);
      out.back().created_by = c.substr(0, c.find(" in goroutine "));
      continue;
    }
    if (std::string f = function_of(line); !f.empty()) out.back().functions.push_back(f);
  }
  return out;
}

std::map<std::string, int> oracle_groups(const std::vector<GoroutineSummary>& gs, long skip_goid) {
  std::map<std::string, int> m;
  for (const auto& g : gs)
    if (g.goid != skip_goid) ++m[key(g.state, g.functions, g.created_by)];
  return m;
}

std::map<std::string, int> threadleak_groups(const nlohmann::json& groups, long skip_goid) {
  std::map<std::string, int> m;
  for (const auto& g : groups) {
    if (g.value("kind", "") != "goroutine" || g.value("go_runtime", false)) continue;
    int n = g.at("count").get<int>();
    for (const auto& id : g.at("members"))
      if (id.get<long>() == skip_goid) --n;
    if (n == 0) continue;
    std::vector<std::string> fns;
    for (const auto& f : g.at("frames")) fns.push_back(f.value("function", ""));
    std::string creator = g.contains("created_by") ? g["created_by"].value("function", "") : "";
    m[key(g.at("wait_reason").get<std::string>(), fns, creator)] += n;
  }
  return m;
}

std::map<std::string, int> per_state(const std::map<std::string, int>& groups) {
  std::map<std::string, int> m;
  for (const auto& [k, n] : groups) m[k.substr(0, k.find(" |"))] += n;
  return m;
}

void expect_matches_dump(const nlohmann::json& j, const std::vector<GoroutineSummary>& dump, long skip_goid) {
  auto want = oracle_groups(dump, skip_goid);
  auto got = threadleak_groups(j.at("groups"), skip_goid);
  EXPECT_EQ(per_state(got), per_state(want));
  EXPECT_EQ(got, want);
}

Agreement compare_with_traceback(const nlohmann::json& groups, const std::vector<GoroutineSummary>& traceback) {
  auto theirs = by_goid(traceback), ours = by_goid(groups);
  std::set<long> goids;
  for (const auto& [id, _] : theirs) goids.insert(id);
  for (const auto& [id, _] : ours) goids.insert(id);
  Agreement a;
  for (long id : goids) {
    ++a.total;
    auto t = theirs.find(id), o = ours.find(id);
    std::string where = "goroutine " + std::to_string(id) + ": ";
    if (t == theirs.end()) {
      a.differences.push_back(where + "only threadleak has it (" + describe(o->second) + ")");
    } else if (o == ours.end()) {
      a.differences.push_back(where + "only the traceback has it (" + describe(t->second) + ")");
    } else if (t->second.state != o->second.state ||
               (t->second.has_stack && t->second.function != o->second.function)) {
      a.differences.push_back(where + "threadleak '" + describe(o->second) + "', traceback '" +
                              describe(t->second) + "'");
    } else {
      ++a.agree;
    }
  }
  return a;
}

Agreement expect_agrees_with_traceback(const std::string& label, const nlohmann::json& groups,
                                       const std::vector<GoroutineSummary>& traceback) {
  Agreement a = compare_with_traceback(groups, traceback);
  std::cout << label << ": " << a.agree << "/" << a.total << " goroutines agree with the runtime's traceback\n";
  std::string all;
  for (const auto& d : a.differences) all += "  " + d + "\n";
  EXPECT_TRUE(a.differences.empty()) << label << ":\n" << all;
  EXPECT_GT(a.total, 0) << label << ": no goroutine on either side";
  return a;
}

CoreFile::~CoreFile() {
  std::error_code ec;
  if (!path_.empty()) std::filesystem::remove(path_, ec);
}

GoProcess::GoProcess(const std::vector<std::string>& argv, const std::vector<std::string>& env)
    : GoProcess(argv, env, temp_dir()) {}

GoProcess::GoProcess(const std::vector<std::string>& argv, const std::vector<std::string>& env,
                     const std::string& dir)
    : Proc(argv, [&] {
        ProcOptions o{env, dir + "/stderr"};
        o.env.push_back("GOTRACEBACK=all");
        return o;
      }()),
      dir_(dir) {}

CoreAndTraceback GoProcess::core_then_traceback(int sig) {
  CoreFile core(gcore(pid(), dir_));
  // gcore held every thread: timers that expired meanwhile fire now. Signalled
  // at once, the traceback would catch their goroutines half awake
  // ("runnable"); a moment later they wait where the core shows them again.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  return {std::move(core), traceback(sig)};
}

std::vector<GoroutineSummary> GoProcess::traceback(int sig) {
  ::kill(pid(), sig);
  wait_exit(60);
  std::string text = slurp(dir_ + "/stderr");
  auto tb = parse_go_dump(text);
  EXPECT_FALSE(tb.empty()) << "no traceback in the program's stderr:\n" << text;
  return tb;
}

}  // namespace tl_test
