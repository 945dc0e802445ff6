// Grouping: threads with the same state and the same stack signature.
#include <algorithm>
#include <iterator>
#include <unordered_map>

#include <fmt/format.h>

#include "model_json.hpp"
#include "threadleak/analysis.hpp"

namespace threadleak {
namespace {

// Module identity: the build-id where known (names differ between a core's
// NT_FILE and the file on disk), else the module's file name.
const Interned& module_key(const Frame& f) { return f.build_id.empty() ? f.module : f.build_id; }

void append_frame_signature(std::string& out, const Frame& f, GroupBy by) {
  out += module_key(f).str();
  if (by == GroupBy::function && !f.function.empty()) {
    out += '!';
    out += f.function.str();
    return;
  }
  fmt::format_to(std::back_inserter(out), "+{:x}{}", f.rel_pc, f.inlined ? "i" : "");
}

std::string signature(const Thread& t, GroupBy by) {
  std::string sig = detail::state_label(t.state, t.syscall_name);
  // Goroutines: the runtime's wait reason and the creating `go` statement
  // belong to the stack as the runtime prints it.
  if (t.kind == Kind::goroutine) sig = "goroutine " + t.wait_reason + "|" + sig;
  for (const Frame& f : t.frames) {
    sig += ';';
    append_frame_signature(sig, f, by);
  }
  if (t.created_by) {
    sig += ";created by ";
    append_frame_signature(sig, *t.created_by, GroupBy::function);
  }
  // OS threads: how they were started ("pthread": created_by says by what).
  if (!t.start_kind.empty() && t.start_kind != "pthread") sig += ";start " + t.start_kind;
  return sig;
}

// The same information as signature(), as bytes that are cheap to build and
// hash: a frame's strings by their Interned ids (equal ids = equal
// strings). Threads with equal keys have equal signatures, and the other
// way round; the signature text is then built once per group, not per
// thread (10,000 threads: ~20 ms -> ~2 ms).
void append_frame_key(std::string& key, const Frame& f, GroupBy by) {
  auto put = [&key](const auto& v) { key.append(reinterpret_cast<const char*>(&v), sizeof v); };
  put(module_key(f).id());
  if (by == GroupBy::function && !f.function.empty()) {
    put(f.function.id());
    return;
  }
  put(f.rel_pc);
  put(static_cast<std::uint64_t>(f.inlined ? 1 : 2));   // never a function's id
}

std::string grouping_key(const Thread& t, GroupBy by) {
  std::string key = detail::state_label(t.state, t.syscall_name);
  key += '\0';
  if (t.kind == Kind::goroutine) {
    key += t.wait_reason;
    key += '\0';
  }
  key.reserve(key.size() + 24 * (t.frames.size() + 1) + 1);
  for (const Frame& f : t.frames) append_frame_key(key, f, by);
  key += t.created_by ? 'c' : 'n';
  if (t.created_by) append_frame_key(key, *t.created_by, GroupBy::function);
  if (!t.start_kind.empty() && t.start_kind != "pthread") key += t.start_kind;
  return key;
}

// The members waiting on exactly the same descriptors share an entry of
// Group::waits_on; `index` finds it by group and descriptor set.
void add_wait(Group& g, const Thread& t, std::unordered_map<std::string, std::size_t>& index) {
  std::string key = fmt::format("{}", fmt::ptr(&g));
  for (const Descriptor& d : t.descriptors) {
    fmt::format_to(std::back_inserter(key), "\n{}\t{}\t{}\t{}", d.fd, d.kind, d.description, d.watched_by.value_or(-1));
    for (const SocketPeer& p : d.peers) fmt::format_to(std::back_inserter(key), "\t{}/{}", p.pid, p.fd);
  }
  auto [it, fresh] = index.try_emplace(std::move(key), g.waits_on.size());
  if (fresh) g.waits_on.push_back({t.descriptors, {}});
  g.waits_on[it->second].members.push_back(t.member_id());
}

void sort_waits(std::vector<DescriptorWait>& waits) {
  for (DescriptorWait& w : waits) std::sort(w.members.begin(), w.members.end());
  std::sort(waits.begin(), waits.end(), [](const DescriptorWait& a, const DescriptorWait& b) {
    return a.members.size() != b.members.size() ? a.members.size() > b.members.size() : a.members < b.members;
  });
}

}  // namespace

std::vector<Group> group(const Snapshot& snap, const GroupOptions& opts) {
  // Hashed, not ordered: keys of one stack shape share long prefixes, which
  // an ordered map compares over and over.
  std::unordered_map<std::string, Group> by_key;
  std::unordered_map<std::string, std::size_t> waits;   // add_wait's index
  for (const Thread& t : snap.threads) {
    auto [it, fresh] = by_key.try_emplace(grouping_key(t, opts.by));
    Group& g = it->second;
    std::int64_t id = t.member_id();
    if (fresh) {
      g.signature = signature(t, opts.by);
      g.fingerprint = fingerprint_of(t);
    }
    if (fresh || id < g.members.front()) {
      g.state = t.state;
      g.syscall_name = t.syscall_name;
      g.frames = t.frames;
      g.kind = t.kind;
      g.wait_reason = t.wait_reason;
      g.created_by = t.created_by;
      g.start_kind = t.start_kind;
      g.leaked_by_gc = t.leaked_by_gc;
    }
    g.go_runtime = (fresh || g.go_runtime) && t.go_runtime;
    g.members.push_back(id);
    if (!t.descriptors.empty()) add_wait(g, t, waits);
  }
  std::vector<Group> out;
  out.reserve(by_key.size());
  for (auto& [key, g] : by_key) {
    std::sort(g.members.begin(), g.members.end());
    sort_waits(g.waits_on);
    out.push_back(std::move(g));
  }
  // Largest first; ties in signature order, so the output is deterministic.
  std::sort(out.begin(), out.end(), [](const Group& a, const Group& b) {
    return a.count() != b.count() ? a.count() > b.count() : a.signature < b.signature;
  });
  return out;
}

const Frame* first_own_frame(const std::vector<Frame>& frames) {
  for (const Frame& f : frames)
    if (f.own_code) return &f;
  return nullptr;
}

}  // namespace threadleak
