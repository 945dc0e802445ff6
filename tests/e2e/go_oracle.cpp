#include "go_oracle.hpp"

#include <sstream>

namespace tl_test {
namespace {

// "main.GetResourceB({0x4e1aa0?, 0xc00009e180?}, 0x0?)" -> "main.GetResourceB"
std::string function_of(const std::string& line) {
  if (line.empty() || line.back() != ')') return line;
  int depth = 0;
  for (std::size_t i = line.size(); i-- > 0;) {
    if (line[i] == ')') ++depth;
    if (line[i] == '(' && --depth == 0) return line.substr(0, i);
  }
  return line;
}

std::string key(const std::string& state, const std::vector<std::string>& fns, const std::string& creator) {
  std::string k = state + " |";
  for (const auto& f : fns) k += " " + f + " >";
  return k + " | created by " + creator;
}

}  // namespace

std::vector<GoroutineSummary> parse_go_dump(const std::string& text) {
  std::vector<GoroutineSummary> out;
  std::istringstream in(text);
  std::string line;
  GoroutineSummary* cur = nullptr;
  bool next_is_creator_loc = false;
  while (std::getline(in, line)) {
    if (line.rfind("goroutine ", 0) == 0) {
      out.emplace_back();
      cur = &out.back();
      cur->goid = std::stol(line.substr(10));
      auto open = line.find('['), close = line.find(']');
      std::string st = line.substr(open + 1, close - open - 1);
      cur->state = st.substr(0, st.find(','));
      continue;
    }
    if (!cur || line.empty() || line[0] == '\t') continue;
    if (line.rfind("created by ", 0) == 0) {
      cur->created_by = line.substr(11);
      next_is_creator_loc = true;
      continue;
    }
    (void)next_is_creator_loc;
    cur->functions.push_back(function_of(line));
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
    for (const auto& id : g.at("goroutines"))
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

}  // namespace tl_test
