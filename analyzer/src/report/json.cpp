// JSON output of `stacks` and `diff` (schemas: docs/schema/{stacks,diff}.schema.json).
#include <fmt/format.h>

#include "report/activity.hpp"
#include "report/hang_json.hpp"
#include "report/json_model.hpp"
#include "threadleak/threadleak.hpp"

namespace threadleak {
namespace detail {

nlohmann::json group_json(const Group& g) {
  nlohmann::json j = {{"count", g.count()},
                      {"state", state_label(g.state, g.syscall_name)},
                      {"signature", g.signature},
                      {"fingerprint", g.fingerprint},
                      {"kind", to_string(g.kind)},
                      {"frames", frames_json(g.frames)}};
  j["members"] = g.members;
  if (g.kind == Kind::goroutine) {
    j["wait_reason"] = g.wait_reason;
    if (g.created_by) j["created_by"] = frame_json(*g.created_by);
    if (g.leaked_by_gc) j["leaked_by_gc"] = true;
  } else {
    if (!g.start_kind.empty()) j["start_kind"] = g.start_kind;
    if (g.created_by) j["created_by"] = frame_json(*g.created_by);
  }
  if (g.go_runtime) j["go_runtime"] = true;
  if (!g.waits_on.empty()) {
    nlohmann::json ws = nlohmann::json::array();
    for (const DescriptorWait& w : g.waits_on) {
      nlohmann::json ds = nlohmann::json::array();
      for (const Descriptor& d : w.descriptors) {
        ds.push_back({{"fd", d.fd}, {"kind", d.kind}, {"description", d.description}});
        if (d.watched_by) ds.back()["watched_by"] = *d.watched_by;
        if (!d.peers.empty()) ds.back()["peers"] = peers_json(d.peers);
      }
      ws.push_back({{"members", w.members}, {"descriptors", std::move(ds)}});
    }
    j["waits_on"] = std::move(ws);
  }
  if (g.activity) j["activity"] = activity_json(*g.activity);
  return j;
}

}  // namespace detail

namespace {

nlohmann::json process_json(const Snapshot& s) {
  nlohmann::json j = {{"source", s.source}, {"origin", s.origin}, {"pid", s.pid},
                      {"executable", s.executable}, {"total", s.threads.size()}};
  if (!s.captured_at.empty()) j["captured_at"] = s.captured_at;
  if (!s.captured_at_from.empty()) j["captured_at_from"] = s.captured_at_from;
  if (!s.cpu_from.empty()) j["cpu_from"] = s.cpu_from;
  if (s.crash) {
    j["crash"] = {{"tid", s.crash->tid}, {"signal", s.crash->signal},
                  {"signal_name", s.crash->signal_name}};
    if (s.crash->address) j["crash"]["address"] = fmt::format("{:#x}", *s.crash->address);
  }
  if (s.coredump)
    j["coredump"] = {{"comm", s.coredump->comm}, {"uid", s.coredump->uid}, {"pid", s.coredump->pid},
                     {"boot_id", s.coredump->boot_id}, {"time", s.coredump->time}};
  return j;
}

nlohmann::json entry_json(const DiffEntry& e) {
  nlohmann::json j = detail::group_json(e.group);
  j.erase("count");
  j["baseline"] = e.baseline;
  j["current"] = e.current;
  if (!e.new_members.empty()) j["new_members"] = e.new_members;
  return j;
}
}  // namespace

namespace {
nlohmann::json stacks_json(const Snapshot& snap, const std::vector<Group>& groups) {
  nlohmann::json j = {{"version", detail::kReportVersion}, {"kind", "stacks"}, {"process", process_json(snap)},
                      {"warnings", snap.warnings}};
  if (!snap.notes.empty()) j["notes"] = snap.notes;
  nlohmann::json gs = nlohmann::json::array();
  for (const auto& g : groups) gs.push_back(detail::group_json(g));
  j["groups"] = std::move(gs);
  return j;
}
}  // namespace

std::string render_json(const Snapshot& snap, const std::vector<Group>& groups) {
  return detail::json_text(stacks_json(snap, groups), 2) + "\n";
}

std::string render_json(const Snapshot& snap, const std::vector<Group>& groups, const HangReport& h) {
  nlohmann::json j = stacks_json(snap, groups);
  j["hang"] = detail::hang_json(snap, h);
  return detail::json_text(j, 2) + "\n";
}

std::string render_json(const Diff& d) {
  nlohmann::json j = {{"version", detail::kReportVersion}, {"kind", "diff"},
                      {"same_process", d.same_process},
                      {"baseline_total", d.baseline_total},
                      {"current_total", d.current_total},
                      {"ignored", d.ignored},
                      {"grew", d.grew()},
                      {"warnings", d.warnings}};
  nlohmann::json grown = nlohmann::json::array(), shrunk = nlohmann::json::array();
  for (const auto& e : d.grown) grown.push_back(entry_json(e));
  for (const auto& e : d.shrunk) shrunk.push_back(entry_json(e));
  j["grown"] = std::move(grown);
  j["shrunk"] = std::move(shrunk);
  if (d.activity.one_process) {
    std::vector<const Group*> groups;
    for (const Group& g : d.current_groups) groups.push_back(&g);
    j["activity"] = detail::activity_json(d.activity, groups);
  }
  return detail::json_text(j, 2) + "\n";
}

}  // namespace threadleak
