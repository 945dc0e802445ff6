// Folded stacks ("outermost;...;innermost COUNT"), the input format of
// flamegraph.pl, inferno and speedscope. Groups that fold to the same line
// (same functions, other offsets) are one line.
#include <algorithm>
#include <map>

#include <fmt/format.h>

#include "report/names.hpp"
#include "threadleak/threadleak.hpp"

namespace threadleak {
namespace {

// ';' separates frames and a newline ends the line: neither may appear in a name.
std::string clean(std::string s) {
  std::replace(s.begin(), s.end(), ';', ':');
  std::replace(s.begin(), s.end(), '\n', ' ');
  return s;
}

std::string fold(const std::vector<Frame>& frames) {
  std::string line;
  for (auto it = frames.rbegin(); it != frames.rend(); ++it) {
    if (!line.empty()) line += ';';
    line += clean(detail::frame_name(*it));
  }
  return line.empty() ? "(no frames)" : line;
}

using Lines = std::map<std::string, std::size_t>;

std::string emit(const Lines& lines) {
  std::vector<std::pair<std::string, std::size_t>> v(lines.begin(), lines.end());
  std::stable_sort(v.begin(), v.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  std::string out;
  for (const auto& [stack, n] : v) out += fmt::format("{} {}\n", stack, n);
  return out;
}

}  // namespace

std::string render_folded(const Snapshot&, const std::vector<Group>& groups) {
  Lines lines;
  for (const Group& g : groups) lines[fold(g.frames)] += g.count();
  return emit(lines);
}

std::string render_folded(const Diff& d) {
  Lines lines;
  for (const DiffEntry& e : d.grown) lines[fold(e.group.frames)] += detail::growth(d, e);
  return emit(lines);
}

std::string render_folded(const Series& s) {
  Lines lines;
  for (const SeriesEntry& e : s.groups)
    if (e.grew) lines[fold(e.group.frames)] += e.growth();
  return emit(lines);
}

}  // namespace threadleak
