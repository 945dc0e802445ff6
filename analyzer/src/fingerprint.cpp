// Group fingerprints: a short, stable name for a stack. The hash is written
// out here (FNV-1a, 64 bits) rather than taken from std::hash, whose values
// the standard leaves to each library and each run: a fingerprint kept in a
// CI file must mean the same group next year. What is hashed, byte for byte,
// is documented in docs/threadleak.md#fingerprints; change it only with a
// new tag (and the docs), never silently.
#include <algorithm>
#include <cctype>
#include <cstdint>
#include <string_view>

#include <fmt/format.h>

#include "model_json.hpp"
#include "threadleak/analysis.hpp"

namespace threadleak {
namespace {

class Fnv1a64 {
 public:
  void add(std::string_view s) {
    for (unsigned char c : s) {
      h_ ^= c;
      h_ *= 0x100000001b3ULL;
    }
  }
  std::uint64_t value() const { return h_; }

 private:
  std::uint64_t h_ = 0xcbf29ce484222325ULL;
};

// A frame that lies in a module but under no symbol (a stripped program's
// own code, a static function of a stripped library): fp1 wrote it as
// "MODULE?", which gave every such stack of a stripped service one
// fingerprint. Such stacks are now written as fp2, with the offset.
bool unnamed_in_module(const Frame& f) { return f.function.empty() && !f.module.empty(); }

// One line per frame: "f NAME" for a real call, "i NAME" for an inlined
// one; NAME is the function, else (fp2) "MODULE+0xREL_PC", the pc relative
// to the module's load address, or "?" outside every module.
void add_frame(Fnv1a64& h, const Frame& f) {
  h.add(f.inlined ? "\ni " : "\nf ");
  if (!f.function.empty()) {
    h.add(f.function);
    return;
  }
  if (!f.module.empty()) {
    h.add(f.module);
    h.add(fmt::format("+{:#x}", f.rel_pc));
    return;
  }
  h.add("?");
}

}  // namespace

std::string fingerprint_of(const Thread& t) {
  Fnv1a64 h;
  bool fp2 = std::any_of(t.frames.begin(), t.frames.end(), unnamed_in_module) ||
             (t.created_by && unnamed_in_module(*t.created_by));
  h.add(fp2 ? "fp2\n" : "fp1\n");
  h.add(to_string(t.kind));
  h.add("\n");
  h.add(detail::state_label(t.state, t.syscall_name));
  if (t.kind == Kind::goroutine) {
    h.add("\n");
    h.add(t.wait_reason);
  }
  for (const Frame& f : t.frames) add_frame(h, f);
  if (t.created_by) {
    h.add("\ncreated by");
    add_frame(h, *t.created_by);
  }
  return fmt::format("{:016x}", h.value()).substr(0, 12);
}

bool is_fingerprint_prefix(const std::string& s) {
  return s.size() >= 4 && s.size() <= 12 &&
         std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isxdigit(c) != 0; });
}

bool fingerprint_matches(const std::string& fingerprint, const std::string& wanted) {
  if (!is_fingerprint_prefix(wanted) || wanted.size() > fingerprint.size()) return false;
  for (std::size_t i = 0; i < wanted.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(wanted[i])) != fingerprint[i]) return false;
  return true;
}

}  // namespace threadleak
