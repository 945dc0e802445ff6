// render_pprof round trip: hand-built snapshots rendered, gunzipped with
// zlib and parsed with the same profile.proto; every field threadleak
// writes checked exactly (the e2e pprof_test reads real cores' profiles
// with the real go tool pprof).
#include <zlib.h>

#include <gtest/gtest.h>

#include "builders.hpp"
#include "report/profile.pb.h"

namespace pb = perftools::profiles;
using threadleak::Frame;
using threadleak::State;

namespace {

std::string gunzip(const std::string& gz) {
  z_stream z{};
  EXPECT_EQ(inflateInit2(&z, 15 + 16), Z_OK);
  std::string out;
  char buf[4096];
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(gz.data()));
  z.avail_in = static_cast<uInt>(gz.size());
  int rc = Z_OK;
  while (rc == Z_OK) {
    z.next_out = reinterpret_cast<Bytef*>(buf);
    z.avail_out = sizeof buf;
    rc = inflate(&z, Z_NO_FLUSH);
    out.append(buf, sizeof buf - z.avail_out);
  }
  inflateEnd(&z);
  EXPECT_EQ(rc, Z_STREAM_END);
  return out;
}

pb::Profile parse(const std::string& gz) {
  pb::Profile p;
  EXPECT_TRUE(p.ParseFromString(gunzip(gz)));
  return p;
}

const std::string& str(const pb::Profile& p, std::int64_t i) { return p.string_table(static_cast<int>(i)); }

std::vector<std::string> sample_types(const pb::Profile& p) {
  std::vector<std::string> v;
  for (const auto& t : p.sample_type()) v.push_back(str(p, t.type()) + "/" + str(p, t.unit()));
  return v;
}

const pb::Location& location(const pb::Profile& p, std::uint64_t id) { return p.location(static_cast<int>(id - 1)); }
const pb::Function& function(const pb::Profile& p, std::uint64_t id) { return p.function(static_cast<int>(id - 1)); }
const pb::Mapping& mapping(const pb::Profile& p, std::uint64_t id) { return p.mapping(static_cast<int>(id - 1)); }

// A sample's stack as "function file:line", inlined calls in their
// location marked with "(inline)", innermost first.
std::vector<std::string> stack(const pb::Profile& p, const pb::Sample& s) {
  std::vector<std::string> v;
  for (std::uint64_t id : s.location_id()) {
    const pb::Location& l = location(p, id);
    for (int i = 0; i < l.line_size(); ++i) {
      const pb::Function& f = function(p, l.line(i).function_id());
      std::string where = str(p, f.filename()).empty() ? "" : " " + str(p, f.filename()) + ":" + std::to_string(l.line(i).line());
      v.push_back(str(p, f.name()) + where + (i + 1 < l.line_size() ? " (inline)" : ""));
    }
  }
  return v;
}

std::map<std::string, std::string> labels(const pb::Profile& p, const pb::Sample& s) {
  std::map<std::string, std::string> m;
  for (const auto& l : s.label()) m[str(p, l.key())] = str(p, l.str());
  return m;
}

// Two threads in an inlined sleep_for under worker(), one in main.
threadleak::Snapshot native() {
  threadleak::Snapshot s;
  s.source = "core";
  s.origin = "core.42";
  s.pid = 42;
  s.executable = "/srv/app";
  s.captured_at = "2026-12-03T13:52:16Z";
  // Named as libdwfl reports them (a path); frames carry the basename.
  s.modules = {{"/usr/lib/libc.so.6", "/usr/lib/libc.so.6", "c0ffee", 0x7f0000000000, 0x7f0000200000},
               {"/srv/app", "", "abcd01", 0x555500000000, 0x555500010000}};
  Frame nanosleep = tl_unit::frame("clock_nanosleep", 0x100, false, "libc.so.6");
  nanosleep.pc = 0x7f0000000100;
  nanosleep.build_id = "c0ffee";
  Frame sleep_for = tl_unit::frame("std::this_thread::sleep_for", 0x20, true);
  sleep_for.inlined = true;
  sleep_for.file = "/usr/include/c++/12/bits/this_thread_sleep.h";
  sleep_for.line = 82;
  Frame worker = tl_unit::frame("worker()", 0x20, true);
  worker.file = "app.cpp";
  worker.line = 7;
  Frame unknown = tl_unit::frame("", 0x30, false, "libstdc++.so.6");
  for (Frame* f : {&sleep_for, &worker}) f->build_id = "abcd01";
  for (int tid : {43, 44}) s.threads.push_back(tl_unit::thread(tid, State::sleep, {nanosleep, sleep_for, worker, unknown}));
  s.threads.push_back(tl_unit::thread(42, State::io, {tl_unit::frame("main", 0x10, true)}));
  return s;
}

}  // namespace

TEST(Pprof, SnapshotRoundTrip) {
  threadleak::Snapshot s = native();
  auto groups = threadleak::group(s, {});
  pb::Profile p = parse(threadleak::render_pprof(s, groups));
  EXPECT_EQ(p.string_table(0), "");
  EXPECT_EQ(sample_types(p), (std::vector<std::string>{"threads/count"}));
  EXPECT_EQ(str(p, p.default_sample_type()), "threads");
  EXPECT_EQ(str(p, p.period_type().type()), "threads");
  EXPECT_EQ(p.period(), 1);
  EXPECT_EQ(p.time_nanos(), 1796305936LL * 1'000'000'000);
  ASSERT_EQ(p.comment_size(), 1);
  EXPECT_EQ(str(p, p.comment(0)), "threadleak: core core.42");

  ASSERT_EQ(p.sample_size(), 2);
  const pb::Sample& sleepers = p.sample(0);
  ASSERT_EQ(sleepers.value_size(), 1);
  EXPECT_EQ(sleepers.value(0), 2);
  EXPECT_EQ(stack(p, sleepers),
            (std::vector<std::string>{"clock_nanosleep", "std::this_thread::sleep_for /usr/include/c++/12/bits/this_thread_sleep.h:82 (inline)",
                                      "worker() app.cpp:7", "libstdc++.so.6+0x30"}));
  EXPECT_EQ(sleepers.location_id_size(), 3);   // the inlined call shares worker's location
  EXPECT_EQ(labels(p, sleepers),
            (std::map<std::string, std::string>{{"state", "sleep"}, {"fingerprint", groups[0].fingerprint}}));
  EXPECT_EQ(groups[0].fingerprint.size(), 12u);
  EXPECT_EQ(p.sample(1).value(0), 1);
  EXPECT_EQ(labels(p, p.sample(1)),
            (std::map<std::string, std::string>{{"state", "io"}, {"fingerprint", groups[1].fingerprint}}));

  // Mappings: the executable first (pprof's main binary), then as frames
  // meet them; an unlisted module's from its frames (pc - rel_pc).
  ASSERT_EQ(p.mapping_size(), 3);
  EXPECT_EQ(str(p, p.mapping(0).filename()), "/srv/app");
  EXPECT_EQ(str(p, p.mapping(0).build_id()), "abcd01");
  EXPECT_EQ(p.mapping(0).memory_start(), 0x555500000000u);
  EXPECT_EQ(p.mapping(0).memory_limit(), 0x555500010000u);
  EXPECT_TRUE(p.mapping(0).has_functions() && p.mapping(0).has_filenames() && p.mapping(0).has_line_numbers() &&
              p.mapping(0).has_inline_frames());
  EXPECT_EQ(str(p, p.mapping(1).filename()), "/usr/lib/libc.so.6");
  EXPECT_EQ(str(p, p.mapping(1).build_id()), "c0ffee");
  EXPECT_FALSE(p.mapping(1).has_filenames());
  EXPECT_EQ(str(p, p.mapping(2).filename()), "libstdc++.so.6");
  EXPECT_EQ(p.mapping(2).memory_start(), 0x555500000000u);
  const pb::Location& top = location(p, sleepers.location_id(0));
  EXPECT_EQ(top.address(), 0x7f0000000100u);
  EXPECT_EQ(mapping(p, top.mapping_id()).id(), 2u);
  // One Function per name and file, one Location per pc and lines.
  EXPECT_EQ(p.function_size(), 5);
  EXPECT_EQ(p.location_size(), 4);
  for (const auto& f : p.function()) EXPECT_EQ(f.system_name(), 0);
}

TEST(Pprof, GoroutinesComeFirstAndRuntimeOnesOnRequest) {
  threadleak::Snapshot s = native();
  threadleak::Thread g = tl_unit::thread(0, State::waiting, {tl_unit::frame("time.Sleep", 0x40, false)});
  g.kind = threadleak::Kind::goroutine;
  g.goid = 7;
  g.wait_reason = "sleep";
  g.created_by = tl_unit::frame("main.Execute", 0x50, true);
  threadleak::Thread sys = g;
  sys.goid = 2;
  sys.go_runtime = true;
  sys.frames = {tl_unit::frame("runtime.forcegchelper", 0x60)};
  sys.created_by.reset();
  s.threads.push_back(g);
  s.threads.push_back(sys);
  auto groups = threadleak::group(s, {});

  pb::Profile p = parse(threadleak::render_pprof(s, groups));
  EXPECT_EQ(sample_types(p), (std::vector<std::string>{"goroutines/count", "threads/count"}));
  EXPECT_EQ(str(p, p.default_sample_type()), "goroutines");
  ASSERT_EQ(p.sample_size(), 3);   // the runtime's goroutine is left out
  std::map<std::string, std::vector<std::int64_t>> values;
  for (const auto& smp : p.sample()) values[stack(p, smp).front()] = {smp.value().begin(), smp.value().end()};
  EXPECT_EQ(values["time.Sleep"], (std::vector<std::int64_t>{1, 0}));
  EXPECT_EQ(values["clock_nanosleep"], (std::vector<std::int64_t>{0, 2}));
  for (const auto& smp : p.sample()) {
    if (stack(p, smp).front() != "time.Sleep") continue;
    EXPECT_EQ(labels(p, smp), (std::map<std::string, std::string>{{"state", "waiting"},
                                                                  {"fingerprint", threadleak::fingerprint_of(g)},
                                                                  {"wait_reason", "sleep"},
                                                                  {"created_by", "main.Execute"}}));
  }

  pb::Profile all = parse(threadleak::render_pprof(s, groups, {.go_runtime = true}));
  ASSERT_EQ(all.sample_size(), 4);
  bool labelled = false;
  for (const auto& smp : all.sample())
    if (stack(all, smp).front() == "runtime.forcegchelper") labelled = labels(all, smp).at("go_runtime") == "true";
  EXPECT_TRUE(labelled);
}

TEST(Pprof, DiffAddsGrownColumnsShownFirst) {
  threadleak::Snapshot base = tl_unit::snapshot(42, 1, 100), cur = tl_unit::snapshot(42, 4, 100);
  threadleak::Diff d = threadleak::diff(base, cur, {});
  pb::Profile p = parse(threadleak::render_pprof(d));
  EXPECT_EQ(sample_types(p), (std::vector<std::string>{"threads/count", "grown_threads/count"}));
  EXPECT_EQ(str(p, p.default_sample_type()), "grown_threads");
  std::map<std::string, std::vector<std::int64_t>> values;
  for (const auto& s : p.sample()) values[stack(p, s).at(1)] = {s.value().begin(), s.value().end()};
  EXPECT_EQ(values, (std::map<std::string, std::vector<std::int64_t>>{
                        {"worker_sleep", {4, 3}}, {"pool_loop", {2, 0}}, {"main", {1, 0}}}));
  EXPECT_EQ(str(p, p.comment(1)), "grown: members whose id is not in the baseline (same process)");

  threadleak::Series series = threadleak::series({base, cur, cur}, {});
  pb::Profile ps = parse(threadleak::render_pprof(series));
  EXPECT_EQ(sample_types(ps), (std::vector<std::string>{"threads/count", "grown_threads/count"}));
  values.clear();
  for (const auto& s : ps.sample()) values[stack(ps, s).at(1)] = {s.value().begin(), s.value().end()};
  EXPECT_EQ(values, (std::map<std::string, std::vector<std::int64_t>>{
                        {"worker_sleep", {4, 3}}, {"pool_loop", {2, 0}}, {"main", {1, 0}}}));
}
