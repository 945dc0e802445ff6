// `threadleak hang --json` (schema: docs/schema/hang.schema.json). Addresses are
// hex strings like everywhere else in threadleak's JSON.
#include <fmt/format.h>

#include "report/hang_json.hpp"
#include "report/json_model.hpp"

namespace threadleak {
namespace detail {
namespace {

using nlohmann::json;

std::string hex(std::uint64_t a) { return fmt::format("{:#x}", a); }

json hex_list(const std::vector<std::uint64_t>& v) {
  json a = json::array();
  for (auto x : v) a.push_back(hex(x));
  return a;
}

const Thread* find_thread(const Snapshot& s, int tid) {
  auto it = std::lower_bound(s.threads.begin(), s.threads.end(), tid,
                             [](const Thread& t, int x) { return t.tid < x; });
  return it != s.threads.end() && it->tid == tid ? &*it : nullptr;
}

json wait_json(const WaitTarget& w) {
  json j = {{"kind", w.kind}, {"address", hex(w.address)}, {"futex", hex(w.futex)},
            {"owner", w.owner ? json(*w.owner) : json(nullptr)}, {"layout", w.layout}};
  if (w.mutex_kind) j["mutex_kind"] = *w.mutex_kind;
  return j;
}

// tid, name, state, what it waits on, frames.
json thread_json(const Snapshot& s, int tid) {
  json j = {{"tid", tid}};
  const Thread* t = find_thread(s, tid);
  if (!t) return j;
  j["name"] = t->name;
  j["state"] = state_label(t->state, t->syscall_name);
  j["waiting_on"] = t->waiting_on ? wait_json(*t->waiting_on) : json(nullptr);
  j["frames"] = frames_json(t->frames);
  return j;
}

json deadlock_json(const Snapshot& s, const Deadlock& d) {
  json members = json::array();
  for (int tid : d.threads) members.push_back(thread_json(s, tid));
  return {{"threads", d.threads}, {"locks", hex_list(d.locks)}, {"kinds", d.kinds}, {"members", members}};
}

json blocker_json(const Snapshot& s, const Blocker& b) {
  json j = thread_json(s, b.tid);
  j["waiters"] = b.waiters;
  j["transitive_waiters"] = b.transitive_waiters;
  j["locks"] = hex_list(b.locks);
  j["in_deadlock"] = b.in_deadlock;
  return j;
}

json go_json(const GoAsleep& a) {
  return {{"goroutines", a.goroutines}, {"asleep", a.asleep}, {"awake", a.awake},
          {"timers", a.timers ? json(*a.timers) : json(nullptr)}, {"signal_watcher", a.signal_watcher},
          {"all_asleep", a.all_asleep}};
}

json crash_json(const Snapshot& s, const CrashContext& c) {
  json j = thread_json(s, c.tid);
  j["signal"] = c.signal;
  j["signal_name"] = c.signal_name;
  j["address"] = c.address ? json(hex(*c.address)) : json(nullptr);
  j["held_locks"] = hex_list(c.held_locks);
  j["waiters"] = c.waiters;
  return j;
}

}  // namespace

json hang_json(const Snapshot& s, const HangReport& h) {
  json deadlocks = json::array(), blockers = json::array(), orphaned = json::array(),
       selfs = json::array(), objects = json::array();
  for (const auto& d : h.deadlocks) deadlocks.push_back(deadlock_json(s, d));
  for (const auto& b : h.blockers) blockers.push_back(blocker_json(s, b));
  for (const auto& o : h.orphaned)
    orphaned.push_back({{"lock", hex(o.lock)}, {"kind", o.kind}, {"owner", o.owner}, {"waiters", o.waiters}});
  for (const auto& d : h.self_deadlocks) {
    json j = thread_json(s, d.tid);
    j["lock"] = hex(d.lock);
    selfs.push_back(std::move(j));
  }
  for (const auto& o : h.objects)
    objects.push_back({{"kind", o.kind}, {"address", hex(o.address)},
                       {"owner", o.owner ? json(*o.owner) : json(nullptr)}, {"waiters", o.waiters},
                       {"goroutines", o.goroutines}});
  return {{"deadlocked", h.deadlocked()}, {"deadlocks", deadlocks}, {"blockers", blockers},
          {"orphaned", orphaned}, {"self_deadlocks", selfs}, {"objects", objects},
          {"crash", h.crash ? crash_json(s, *h.crash) : json(nullptr)},
          {"lock_waiters", h.lock_waiters}, {"located", h.located},
          {"go", h.go ? go_json(*h.go) : json(nullptr)}};
}

}  // namespace detail

std::string render_hang_json(const Snapshot& s, const HangReport& h) {
  nlohmann::json j = {{"version", detail::kReportVersion}, {"kind", "hang"},
                      {"process", {{"source", s.source}, {"origin", s.origin}, {"pid", s.pid},
                                   {"executable", s.executable}, {"total", s.threads.size()}}},
                      {"warnings", s.warnings}};
  j.update(detail::hang_json(s, h));
  return detail::json_text(j, 2) + "\n";
}

}  // namespace threadleak
