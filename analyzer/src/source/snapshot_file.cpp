// Source: a snapshot file, the JSON `threadleak snapshot` writes.
//
// Layout (docs/snapshot.md): process facts, a table of distinct frames, a
// table of distinct stacks (lists of frame indices, innermost first), and
// threads that name their stack by index. Thousands of threads share a few
// stacks, so the file stays small. Every field is checked on reading: the
// file may be truncated, hand-edited or hostile.
#include <fcntl.h>
#include <sys/stat.h>

#include <cerrno>
#include <map>
#include <tuple>

#include <fmt/format.h>

#include "model_json.hpp"
#include "target.hpp"

namespace threadleak {
namespace {

constexpr const char* kFormat = "threadleak-snapshot";
constexpr std::uint64_t kMaxFileBytes = 1ull << 30;

using nlohmann::json;

// A frame's identity in the frame table: every field, the strings by their
// Interned ids (equal ids = equal strings). Only equality matters here: the
// table lists frames in the order first met.
using FrameKey = std::tuple<std::uint64_t, std::uint64_t, const void*, const void*, const void*, std::uint64_t,
                            const void*, int, bool, bool>;

FrameKey frame_key(const Frame& f) {
  return {f.pc, f.rel_pc, f.module.id(), f.build_id.id(), f.function.id(), f.offset,
          f.file.id(), f.line, f.inlined, f.own_code};
}

json modules_json(const std::vector<Module>& mods) {
  json a = json::array();
  for (const auto& m : mods)
    a.push_back({{"name", m.name}, {"path", m.path}, {"build_id", m.build_id},
                 {"start", fmt::format("{:#x}", m.start)}, {"end", fmt::format("{:#x}", m.end)}});
  return a;
}

void read_process(const json& j, Snapshot& s) {
  s.pid = j.at("pid").get<int>();
  s.executable = j.at("executable").get<std::string>();
  s.captured_at = j.value("captured_at", "");
  s.captured_at_from = j.value("captured_at_from", "");
  s.cpu_from = j.value("cpu_from", "");
  s.cpu_missing = j.value("cpu_missing", "");
  if (j.contains("go_timers")) s.go_timers = j.at("go_timers").get<std::uint64_t>();
  s.warnings = j.value("warnings", std::vector<std::string>{});
  s.notes = j.value("notes", std::vector<std::string>{});
  for (const auto& m : j.value("modules", json::array()))
    s.modules.push_back({m.at("name").get<std::string>(), m.value("path", ""),
                         m.value("build_id", ""), detail::hex_from_json(m.at("start")), detail::hex_from_json(m.at("end"))});
  if (j.contains("crash")) {
    const json& c = j.at("crash");
    CrashInfo ci{c.at("tid").get<int>(), c.at("signal").get<int>(), c.value("signal_name", ""), {}};
    if (c.contains("address")) ci.address = detail::hex_from_json(c.at("address"));
    s.crash = ci;
  }
}

// Goroutine fields (absent for OS threads of older files).
void read_go_fields(const json& j, Thread& t) {
  std::string kind = j.value("kind", "thread");
  if (kind != "thread" && kind != "goroutine") throw std::invalid_argument("unknown kind '" + kind + "'");
  t.kind = kind == "goroutine" ? Kind::goroutine : Kind::thread;
  t.goid = j.value("goid", std::int64_t{0});
  t.wait_reason = j.value("wait_reason", "");
  if (j.contains("wait_minutes")) t.wait_minutes = j.at("wait_minutes").get<std::int64_t>();
  if (j.contains("created_by")) t.created_by = detail::frame_from_json(j.at("created_by"));
  t.go_runtime = j.value("go_runtime", false);
  t.leaked_by_gc = j.value("leaked_by_gc", false);
  t.start_kind = j.value("start_kind", "");
}

void write_go_fields(const Thread& t, json& tj) {
  if (!t.start_kind.empty()) tj["start_kind"] = t.start_kind;
  if (t.kind == Kind::thread && !t.go_runtime) return;
  tj["kind"] = to_string(t.kind);
  if (t.kind == Kind::goroutine) {
    tj["goid"] = t.goid;
    tj["wait_reason"] = t.wait_reason;
  }
  if (t.wait_minutes) tj["wait_minutes"] = *t.wait_minutes;
  if (t.kind == Kind::goroutine && t.created_by) tj["created_by"] = detail::frame_json(*t.created_by);
  if (t.go_runtime) tj["go_runtime"] = true;
  if (t.leaked_by_gc) tj["leaked_by_gc"] = true;
}

json wait_target_json(const WaitTarget& w) {
  json j = {{"kind", w.kind}, {"address", fmt::format("{:#x}", w.address)},
            {"futex", fmt::format("{:#x}", w.futex)}, {"layout", w.layout}};
  if (w.owner) j["owner"] = *w.owner;
  if (w.mutex_kind) j["mutex_kind"] = *w.mutex_kind;
  return j;
}

WaitTarget wait_target_from(const json& j) {
  WaitTarget w;
  w.kind = j.at("kind").get<std::string>();
  w.address = detail::hex_from_json(j.at("address"));
  w.futex = detail::hex_from_json(j.at("futex"));
  w.layout = j.value("layout", "");
  if (j.contains("owner")) w.owner = j.at("owner").get<int>();
  if (j.contains("mutex_kind")) w.mutex_kind = j.at("mutex_kind").get<int>();
  return w;
}

json descriptor_json(const Descriptor& d) {
  json j = {{"fd", d.fd}, {"kind", d.kind}, {"description", d.description}};
  if (d.watched_by) j["watched_by"] = *d.watched_by;
  if (!d.peers.empty()) j["peers"] = detail::peers_json(d.peers);
  return j;
}

Descriptor descriptor_from(const json& j) {
  Descriptor d{j.at("fd").get<int>(), j.at("kind").get<std::string>(), j.value("description", ""), std::nullopt, {}};
  if (j.contains("watched_by")) d.watched_by = j.at("watched_by").get<int>();
  if (j.contains("peers"))
    for (const json& p : j.at("peers"))
      d.peers.push_back({p.at("pid").get<int>(), p.at("comm").get<std::string>(), p.at("fd").get<int>()});
  return d;
}

Thread thread_from(const json& j, const std::vector<Frame>& frames, const std::vector<std::vector<Frame>>& stacks) {
  Thread t;
  t.tid = j.at("tid").get<int>();
  t.name = j.value("name", "");
  std::string label = j.at("state").get<std::string>();
  auto st = state_from_string(label);
  if (!st) throw std::invalid_argument("unknown state '" + label + "'");
  t.state = *st;
  if (t.state == State::syscall) t.syscall_name = label.substr(8);
  else t.syscall_name = j.value("syscall", "");
  auto idx = j.at("stack").get<std::size_t>();
  if (idx >= stacks.size()) throw std::out_of_range("thread names a stack that does not exist");
  t.frames = stacks[idx];
  t.error = j.value("error", "");
  t.truncated = j.value("truncated", false);
  read_go_fields(j, t);
  if (j.contains("created_by_frame")) {
    auto idx = j.at("created_by_frame").get<std::size_t>();
    if (idx >= frames.size()) throw std::out_of_range("a thread's created_by_frame does not exist");
    t.created_by = frames[idx];
  }
  if (j.contains("waiting_on")) t.waiting_on = wait_target_from(j.at("waiting_on"));
  if (j.contains("descriptors"))
    for (const auto& d : j.at("descriptors")) t.descriptors.push_back(descriptor_from(d));
  if (j.contains("cpu_ns")) t.cpu_ns = j.at("cpu_ns").get<std::uint64_t>();
  return t;
}

}  // namespace

std::string to_snapshot_json(const Snapshot& s) {
  json frames = json::array(), stacks = json::array(), threads = json::array();
  std::map<FrameKey, std::size_t> frame_ids;
  std::map<std::vector<std::size_t>, std::size_t> stack_ids;
  for (const auto& t : s.threads) {
    std::vector<std::size_t> ids;
    for (const auto& f : t.frames) {
      auto [it, fresh] = frame_ids.emplace(frame_key(f), frame_ids.size());
      if (fresh) frames.push_back(detail::frame_json(f));
      ids.push_back(it->second);
    }
    auto [sit, fresh] = stack_ids.emplace(ids, stack_ids.size());
    if (fresh) stacks.push_back(ids);
    json tj = {{"tid", t.tid}, {"name", t.name}, {"state", detail::state_label(t.state, t.syscall_name)},
               {"stack", sit->second}};
    if (!t.syscall_name.empty()) tj["syscall"] = t.syscall_name;
    if (!t.error.empty()) tj["error"] = t.error;
    if (t.truncated) tj["truncated"] = true;
    write_go_fields(t, tj);
    // An OS thread's start routine: an index into frames (a pool's threads share one).
    if (t.kind == Kind::thread && t.created_by) {
      auto [cit, cfresh] = frame_ids.emplace(frame_key(*t.created_by), frame_ids.size());
      if (cfresh) frames.push_back(detail::frame_json(*t.created_by));
      tj["created_by_frame"] = cit->second;
    }
    if (t.waiting_on) tj["waiting_on"] = wait_target_json(*t.waiting_on);
    if (!t.descriptors.empty()) {
      json ds = json::array();
      for (const Descriptor& d : t.descriptors) ds.push_back(descriptor_json(d));
      tj["descriptors"] = std::move(ds);
    }
    if (t.cpu_ns) tj["cpu_ns"] = *t.cpu_ns;
    threads.push_back(std::move(tj));
  }
  json proc = {{"source", s.source}, {"origin", s.origin}, {"pid", s.pid},
               {"executable", s.executable}, {"captured_at", s.captured_at},
               {"warnings", s.warnings}, {"modules", modules_json(s.modules)}};
  if (s.go_timers) proc["go_timers"] = *s.go_timers;
  if (!s.notes.empty()) proc["notes"] = s.notes;
  if (!s.captured_at_from.empty()) proc["captured_at_from"] = s.captured_at_from;
  if (!s.cpu_from.empty()) proc["cpu_from"] = s.cpu_from;
  if (!s.cpu_missing.empty()) proc["cpu_missing"] = s.cpu_missing;
  if (s.crash) {
    proc["crash"] = {{"tid", s.crash->tid}, {"signal", s.crash->signal}, {"signal_name", s.crash->signal_name}};
    if (s.crash->address) proc["crash"]["address"] = fmt::format("{:#x}", *s.crash->address);
  }
  json j = {{"format", kFormat}, {"version", Snapshot::kFormatVersion}, {"process", proc},
            {"frames", frames}, {"stacks", stacks}, {"threads", threads}};
  return detail::json_text(j, 1) + "\n";
}

Snapshot from_snapshot_json(const std::string& text, const std::string& origin) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded()) throw Error(origin + ": malformed snapshot file (not valid JSON)");
  try {
    if (!j.is_object() || j.value("format", "") != kFormat)
      throw Error(origin + ": not a threadleak snapshot file (no \"format\": \"" + kFormat + "\")");
    int version = j.at("version").get<int>();
    if (version > Snapshot::kFormatVersion)
      throw Error(fmt::format("{}: snapshot format version {} is newer than this threadleak reads ({}); "
                              "upgrade threadleak", origin, version, Snapshot::kFormatVersion));
    if (version < 1) throw Error(fmt::format("{}: snapshot format version {} is invalid", origin, version));
    Snapshot s;
    s.source = "snapshot";
    s.origin = origin;
    read_process(j.at("process"), s);
    std::vector<Frame> frames;
    for (const auto& f : j.at("frames")) frames.push_back(detail::frame_from_json(f));
    std::vector<std::vector<Frame>> stacks;
    for (const auto& st : j.at("stacks")) {
      std::vector<Frame> fs;
      for (const auto& i : st) {
        auto idx = i.get<std::size_t>();
        if (idx >= frames.size()) throw std::out_of_range("a stack names a frame that does not exist");
        fs.push_back(frames[idx]);
      }
      stacks.push_back(std::move(fs));
    }
    for (const auto& t : j.at("threads")) s.threads.push_back(thread_from(t, frames, stacks));
    return s;
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    throw Error(origin + ": malformed snapshot file: " + e.what());
  }
}

namespace detail {

Snapshot load_snapshot_file(const std::string& path) {
  std::string text = read_small_file(path, kMaxFileBytes + 1);
  if (text.size() > kMaxFileBytes) throw Error(path + ": snapshot file larger than 1 GiB");
  return from_snapshot_json(text, path);
}

}  // namespace detail
}  // namespace threadleak
