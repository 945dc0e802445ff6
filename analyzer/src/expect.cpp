// Expectations files (docs/expect.md): TOML read with toml++, checked
// strictly (an unknown key is an error, not a silent no-op), and the verdict
// of a diff or series under them.
#include "threadleak/expect.hpp"

#include <algorithm>
#include <functional>
#include <unordered_set>
#include <fmt/format.h>
#include <toml++/toml.h>

#include "ignore.hpp"
#include "threadleak/threadleak.hpp"

namespace threadleak {
namespace {

class Reader {
 public:
  explicit Reader(std::string file) : file_(std::move(file)) {}

  [[noreturn]] void fail(const toml::source_region& where, const std::string& problem) const {
    throw Error(file_ + ":" + std::to_string(where.begin.line) + ": " + problem);
  }

  std::vector<std::string> strings(const toml::node& n, const std::string& what) const {
    const toml::array* a = n.as_array();
    if (!a) fail(n.source(), what + ": expected an array of strings");
    std::vector<std::string> out;
    for (const toml::node& v : *a) {
      auto s = v.value<std::string>();
      if (!s || !v.is_string()) fail(v.source(), what + ": expected an array of strings");
      if (s->empty()) fail(v.source(), what + ": an empty string matches nothing");
      out.push_back(*s);
    }
    return out;
  }

  std::string string(const toml::node& n, const std::string& what) const {
    if (!n.is_string()) fail(n.source(), what + ": expected a string");
    return *n.value<std::string>();
  }

  std::size_t count(const toml::node& n, const std::string& what) const {
    if (!n.is_integer() || *n.value<std::int64_t>() < 0) fail(n.source(), what + ": expected a whole number, 0 or more");
    return static_cast<std::size_t>(*n.value<std::int64_t>());
  }

  std::string fingerprint(const toml::node& n, const std::string& what) const {
    std::string s = string(n, what);
    if (!is_fingerprint_prefix(s)) fail(n.source(), what + ": '" + s + "' is not a group fingerprint (4 to 12 hex digits)");
    return s;
  }

  // One key of a table: its name and what reading its value does.
  struct Key {
    const char* name;
    std::function<void(const toml::node&, const std::string&)> read;
  };

  // Reads every key of `t` through `keys`; a key not among them is an error
  // that lists the ones `section` takes.
  void read_keys(const toml::table& t, const std::string& section, const std::vector<Key>& keys) const {
    for (auto&& [key, v] : t) {
      std::string k(key.str());
      auto it = std::find_if(keys.begin(), keys.end(), [&](const Key& x) { return k == x.name; });
      if (it == keys.end()) {
        std::string names;
        for (const Key& x : keys) names += (names.empty() ? "" : ", ") + std::string(x.name);
        fail(key.source(), "unknown key '" + k + "' in " + section + " (" + names + ")");
      }
      it->read(v, section + " " + k);
    }
  }

  void ignore(const toml::table& t, Expectations& e) const {
    auto list = [this](std::vector<std::string>& into) {
      return [this, &into](const toml::node& v, const std::string& what) { into = strings(v, what); };
    };
    read_keys(t, "[ignore]",
              {{"top", list(e.ignore_top)},
               {"any", list(e.ignore_any)},
               {"created_by", list(e.ignore_created_by)},
               {"module", list(e.ignore_module)},
               {"groups", [&](const toml::node& v, const std::string& what) {
                  e.ignore_groups = strings(v, what);
                  for (const toml::node& g : *v.as_array()) fingerprint(g, what);
                }}});
  }

  KnownGroup group(const toml::table& t) const {
    KnownGroup g;
    g.line = t.source().begin.line;
    using N = const toml::node&;
    using W = const std::string&;
    read_keys(t, "[[group]]",
              {{"fingerprint", [&](N v, W what) { g.fingerprint = fingerprint(v, what); }},
               {"function", [&](N v, W what) { g.function = string(v, what); }},
               {"max_count", [&](N v, W what) { g.max_count = count(v, what); }},
               {"max_growth", [&](N v, W what) { g.max_growth = count(v, what); }},
               {"comment", [&](N v, W what) { g.comment = string(v, what); }}});
    if (g.fingerprint.empty() && g.function.empty()) fail(t.source(), "[[group]]: give a fingerprint or a function");
    if (!g.max_count && !g.max_growth) fail(t.source(), "[[group]]: give max_count or max_growth (or both)");
    return g;
  }

 private:
  std::string file_;
};

std::string top_of(const Group& g) {
  const Frame* f = first_own_frame(g.frames);
  if (!f && !g.frames.empty()) f = &g.frames.front();
  return f ? f->function.str() : std::string("??");
}

void weigh(const Expectations& e, const Group& g, std::size_t from, std::size_t to, bool grew, Verdict& v) {
  std::string what = "[" + g.fingerprint + "] " + std::to_string(from) + " -> " + std::to_string(to) + ": " + top_of(g);
  std::size_t growth = to > from ? to - from : 0;
  const KnownGroup* k = e.known(g);
  if (!k) {
    if (grew) v.leaks.push_back(what + ": not in the expectations");
    return;
  }
  std::string where = " (" + e.file + ":" + std::to_string(k->line) + ")";
  std::string broken = k->broken(to, growth);
  if (!broken.empty()) v.leaks.push_back(what + ": " + broken + where);
  else if (grew) v.allowed.push_back(what + ": within its limits" + where);
}

void settle(Verdict& v) {
  if (!v.leaks.empty()) v.status = Verdict::leak;
  else if (!v.incomplete_threads.empty()) v.status = Verdict::incomplete;
  else v.status = Verdict::ok;
}

// Why a thread's stack is not known, "" when it is: no frame beyond the
// registers' pc, or an outermost frame in no module (the unwind followed a
// return address into memory no module covers: a damaged stack or code
// generated at run time), after which its callers are unknown.
std::string not_unwound(const Thread& t) {
  if (t.frames.size() <= 1 && !t.error.empty()) return t.error;
  if (t.frames.empty()) return "no frames";
  const Frame& last = t.frames.back();
  if (last.module.empty() && last.function.empty())
    return fmt::format("the unwind left every module at {:#x}{}", last.pc, t.error.empty() ? "" : " (" + t.error + ")");
  return "";
}

}  // namespace

bool KnownGroup::matches(const Group& g) const {
  if (!fingerprint.empty() && !fingerprint_matches(g.fingerprint, fingerprint)) return false;
  if (!function.empty() && std::none_of(g.frames.begin(), g.frames.end(), [&](const Frame& f) {
        return detail::function_matches(f.function, function);
      }))
    return false;
  return true;
}

std::string KnownGroup::broken(std::size_t count, std::size_t growth) const {
  if (max_count && count > *max_count) return "over max_count " + std::to_string(*max_count);
  if (max_growth && growth > *max_growth) return "over max_growth " + std::to_string(*max_growth);
  return "";
}

const KnownGroup* Expectations::known(const Group& g) const {
  for (const KnownGroup& k : groups)
    if (k.matches(g)) return &k;
  return nullptr;
}

void Expectations::apply_to(DiffOptions& o) const {
  auto add = [](std::vector<std::string>& to, const std::vector<std::string>& from) {
    to.insert(to.end(), from.begin(), from.end());
  };
  add(o.ignore_top, ignore_top);
  add(o.ignore_any, ignore_any);
  add(o.ignore_created_by, ignore_created_by);
  add(o.ignore_module, ignore_module);
  add(o.ignore_groups, ignore_groups);
}

Expectations load_expectations(const std::string& path) {
  toml::table root;
  try {
    root = toml::parse_file(path);
  } catch (const toml::parse_error& err) {
    std::string d(err.description());
    if (err.source().begin.line == 0) throw Error(path + ": " + d, ErrorKind::not_found);
    throw Error(path + ":" + std::to_string(err.source().begin.line) + ": " + d);
  }
  Reader r(path);
  Expectations e;
  e.file = path;
  for (auto&& [key, v] : root) {
    std::string k(key.str());
    if (k == "ignore") {
      if (!v.is_table()) r.fail(v.source(), "ignore: expected a table, [ignore]");
      r.ignore(*v.as_table(), e);
    } else if (k == "group") {
      const toml::array* a = v.as_array();
      if (!a || !a->is_array_of_tables()) r.fail(v.source(), "group: expected tables, [[group]]");
      for (const toml::node& t : *a) e.groups.push_back(r.group(*t.as_table()));
    } else {
      r.fail(key.source(), "unknown key '" + k + "' ([ignore] and [[group]] are known)");
    }
  }
  return e;
}

Verdict judge(const Diff& d, const Expectations& e) {
  Verdict v;
  for (const DiffEntry& g : d.grown) weigh(e, g.group, g.baseline, g.current, true, v);
  for (const Group& g : d.current_groups) {
    bool grown = std::any_of(d.grown.begin(), d.grown.end(), [&](const DiffEntry& x) { return x.group.signature == g.signature; });
    if (!grown) weigh(e, g, g.count(), g.count(), false, v);
  }
  settle(v);
  return v;
}

Verdict judge(const Series& s, const Expectations& e) {
  Verdict v;
  for (const SeriesEntry& g : s.groups)
    if (!g.counts.empty()) weigh(e, g.group, g.counts.front(), g.counts.back(), g.grew, v);
  settle(v);
  return v;
}

void check_unwound(const Snapshot& snap, const DiffOptions& o, Verdict& v) {
  std::size_t dropped = 0;
  Snapshot kept = detail::filtered(snap, o, dropped);
  std::unordered_set<std::string> listed(v.incomplete_threads.begin(), v.incomplete_threads.end());
  for (const Thread& t : kept.threads) {
    std::string why = not_unwound(t);
    if (why.empty()) continue;
    std::string line = fmt::format("{} {}: {}", to_string(t.kind), t.tid, why);
    if (listed.insert(line).second) v.incomplete_threads.push_back(std::move(line));  // once, in however many snapshots
  }
  if (v.status == Verdict::ok && !v.incomplete_threads.empty()) v.status = Verdict::incomplete;
}

}  // namespace threadleak
