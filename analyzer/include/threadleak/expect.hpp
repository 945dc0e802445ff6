// An expectations file (docs/expect.md): ignore rules and known groups with
// limits, read from TOML, for `diff --expect`, `watch --expect` and the
// testing library's threadleak::Expect. A known group that stays within its
// limits is not a leak; one over a limit is, and the verdict says which.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "threadleak/analysis.hpp"

namespace threadleak {

struct KnownGroup {
  std::string fingerprint;       // a prefix of the group's fingerprint (is_fingerprint_prefix), or ""
  std::string function;          // a frame's function (matched as DiffOptions::ignore_any), or ""
  std::optional<std::size_t> max_count;   // at most this many members now
  std::optional<std::size_t> max_growth;  // grown by at most this much
  std::string comment;
  std::size_t line = 0;          // where it is in the file
  bool matches(const Group& g) const;
  // The limit a group of `count` members that grew by `growth` breaks
  // ("over max_growth 2"), or "" when it stays within them.
  std::string broken(std::size_t count, std::size_t growth) const;
};

struct Expectations {
  std::string file;
  std::vector<std::string> ignore_top, ignore_any, ignore_created_by, ignore_module, ignore_groups;
  std::vector<KnownGroup> groups;
  // Adds the [ignore] rules to `o` (after what is there).
  void apply_to(DiffOptions& o) const;
  // The first known group `g` is, or nullptr.
  const KnownGroup* known(const Group& g) const;
};

// Reads and checks a file. Throws Error "FILE:LINE: problem" when it cannot be
// read, is not TOML, or has an unknown key or a value of the wrong type.
Expectations load_expectations(const std::string& path);

// What a diff or series comes to under expectations.
struct Verdict {
  enum Status { ok = 0, leak = 1, incomplete = 3 };
  Status status = ok;
  std::vector<std::string> leaks;      // one line per group reported as a leak (with the limit it broke)
  std::vector<std::string> allowed;    // one line per grown group the expectations allow
  std::vector<std::string> incomplete_threads;  // compared threads that could not be unwound
};

// A leak (1) wins over an incomplete analysis (3): a found leak stays found.
Verdict judge(const Diff& d, const Expectations& e);
Verdict judge(const Series& s, const Expectations& e);
// The compared (not ignored) threads of `snap` whose unwinding failed with at
// most one frame: "tid N: ERROR". Adds them to v.incomplete_threads and, when
// any, makes an ok verdict incomplete.
void check_unwound(const Snapshot& snap, const DiffOptions& o, Verdict& v);

}  // namespace threadleak
