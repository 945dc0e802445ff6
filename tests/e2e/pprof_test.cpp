// --format pprof end to end: real cores of the leaking samples (C++ and Go),
// the real CLI, and the real `go tool pprof` (Debian's golang-go) reading
// what it wrote: -top, -traces and -diff_base, with exact functions and
// counts. The traces are also compared frame by frame with the same core's
// JSON groups.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <regex>
#include <sstream>
#include <thread>

#include "harness.hpp"

using tl_test::Proc;

namespace {

const std::string kGetResourceB = "(anonymous namespace)::get_resource_b(std::shared_ptr<(anonymous namespace)::Call>)";

std::string go_bin(const std::string& name) { return std::string(GO_SAMPLES_DIR) + "/" + name; }

// `go tool pprof ARGS...`; its stdout, asserting success.
std::string pprof(const std::vector<std::string>& args) {
  std::vector<std::string> argv{GO_BIN, "tool", "pprof"};
  argv.insert(argv.end(), args.begin(), args.end());
  auto r = tl_test::run(argv);
  EXPECT_EQ(r.status, 0) << r.err;
  return r.out;
}

// `threadleak CMD INPUTS... --format pprof -o OUT`, asserting the exit status; returns OUT.
std::string write_pprof(const std::string& cmd, const std::vector<std::string>& inputs, const std::string& out,
                        int expect_status = 0, const std::vector<std::string>& extra = {}) {
  std::vector<std::string> argv{tl_test::threadleak_bin(), cmd};
  argv.insert(argv.end(), inputs.begin(), inputs.end());
  argv.insert(argv.end(), {"--format", "pprof", "-o", out});
  argv.insert(argv.end(), extra.begin(), extra.end());
  auto r = tl_test::run(argv);
  EXPECT_EQ(r.status, expect_status) << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out;
  return out;
}

struct TopRow {
  long flat = 0, cum = 0;
  bool operator==(const TopRow&) const = default;
};
std::ostream& operator<<(std::ostream& os, const TopRow& r) { return os << "flat " << r.flat << " cum " << r.cum; }

// -top's header lines ("Type: threads", ...) and its rows by function.
struct Top {
  std::vector<std::string> header;
  std::map<std::string, TopRow> rows;
  std::string line_starting(const std::string& prefix) const {
    for (const auto& h : header)
      if (h.rfind(prefix, 0) == 0) return h;
    return "";
  }
};

Top parse_top(const std::string& out) {
  Top t;
  std::istringstream in(out);
  std::string line;
  bool rows = false;
  static const std::regex row(R"(^\s*(-?\d+)\s+\S+\s+\S+\s+(-?\d+)\s+\S+\s+(.*)$)");
  while (std::getline(in, line)) {
    std::smatch m;
    if (rows && std::regex_match(line, m, row)) t.rows[m[3]] = {std::stol(m[1]), std::stol(m[2])};
    else if (line.find("flat%") != std::string::npos) rows = true;
    else if (!rows) t.header.push_back(line);
  }
  return t;
}

// One -traces block: its labels, its count and its frames, innermost first
// (an inlined call is "NAME (inline)").
struct Trace {
  std::map<std::string, std::string> labels;
  long count = 0;
  std::vector<std::string> frames;
};

std::vector<Trace> parse_traces(const std::string& out) {
  std::vector<Trace> ts;
  std::istringstream in(out);
  std::string line;
  static const std::regex label(R"(^\s*([a-z_]+):\s+(.*)$)"), count(R"(^\s*(-?\d+)   (.*)$)"), frame(R"(^ {13}(.*)$)");
  Trace* t = nullptr;
  while (std::getline(in, line)) {
    std::smatch m;
    if (line.rfind("-----------+", 0) == 0) {
      t = &ts.emplace_back();
    } else if (t && t->frames.empty() && std::regex_match(line, m, count)) {
      t->count = std::stol(m[1]);
      t->frames.push_back(m[2]);
    } else if (t && !t->frames.empty() && std::regex_match(line, m, frame)) {
      t->frames.push_back(m[1]);
    } else if (t && t->frames.empty() && std::regex_match(line, m, label)) {
      t->labels[m[1]] = m[2];
    }
  }
  if (!ts.empty() && ts.back().frames.empty()) ts.pop_back();   // after the last separator
  return ts;
}

// A JSON group's frames as -traces prints them.
std::vector<std::string> trace_of(const nlohmann::json& frames) {
  std::vector<std::string> v;
  for (const auto& f : frames) {
    std::string name = f.at("function");
    if (name.empty()) name = f.at("module").get<std::string>() + "+" + f.at("rel_pc").get<std::string>();
    v.push_back(f.value("inlined", false) ? name + " (inline)" : name);
  }
  return v;
}

// Every JSON group is one trace with its count, state and frames.
void expect_traces_match_groups(const std::vector<Trace>& traces, const nlohmann::json& groups) {
  ASSERT_EQ(traces.size(), groups.size());
  for (const auto& g : groups) {
    std::vector<std::string> want = trace_of(g.at("frames"));
    auto it = std::find_if(traces.begin(), traces.end(), [&](const Trace& t) { return t.frames == want; });
    ASSERT_NE(it, traces.end()) << "no trace for the group of " << g.at("count") << " at " << want.front();
    EXPECT_EQ(it->count, g.at("count").get<long>());
    EXPECT_EQ(it->labels.at("state"), g.at("state").get<std::string>());
    EXPECT_EQ(it->labels.at("fingerprint"), g.at("fingerprint").get<std::string>());
  }
}

// The leaking C++ sample after `requests` requests, dumped with gcore.
std::string leak_core(Proc& p, int threads) {
  EXPECT_EQ(p.expect("ready"), "ready " + std::to_string(threads));
  p.wait_reading_stdin();
  return tl_test::gcore(p.pid(), tl_test::temp_dir());
}

// A Go program reads stdin on whichever thread runs that goroutine: waits
// until one of its threads is in read(0, ...), so the core sees it parked.
void wait_go_reading_stdin(pid_t pid) {
  std::string task = "/proc/" + std::to_string(pid) + "/task";
  for (int i = 0; i < 10000; ++i) {
    for (const auto& t : std::filesystem::directory_iterator(task)) {
      std::ifstream f(t.path() / "syscall");
      std::string line;
      std::getline(f, line);
      if (line.rfind("0 0x0 ", 0) == 0) return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ADD_FAILURE() << "pid " << pid << ": no thread back in read(0)";
}

}  // namespace

TEST(PprofCore, LeakingSampleTopAndTracesHaveTheGroups) {
  Proc p({tl_test::sample_bin("leak"), "--requests", "3"});
  std::string core = leak_core(p, 4);
  std::string dir = tl_test::temp_dir();
  std::string file = write_pprof("stacks", {core}, dir + "/leak.pb.gz");

  Top top = parse_top(pprof({"-top", file}));
  EXPECT_EQ(top.line_starting("File:"), "File: leak");
  EXPECT_EQ(top.line_starting("Type:"), "Type: threads");
  EXPECT_EQ(top.line_starting("Showing"), "Showing nodes accounting for 4, 100% of 4 total");
  EXPECT_EQ(top.rows.at("clock_nanosleep"), (TopRow{3, 3}));   // the leaked threads' innermost frame
  EXPECT_EQ(top.rows.at(kGetResourceB), (TopRow{0, 3}));
  EXPECT_EQ(top.rows.at("(anonymous namespace)::wait_for_command()"), (TopRow{0, 1}));
  EXPECT_EQ(top.rows.at("main"), (TopRow{0, 1}));
  EXPECT_EQ(top.rows.at("start_thread"), (TopRow{0, 3}));

  auto traces = parse_traces(pprof({"-traces", file}));
  ASSERT_EQ(traces.size(), 2u);
  auto j = tl_test::threadleak_json({"stacks", core});
  EXPECT_EQ(traces[0].count, 3);
  EXPECT_EQ(traces[0].labels, (std::map<std::string, std::string>{
                                  {"state", "sleep"}, {"fingerprint", j.at("groups")[0].at("fingerprint")}}));
  EXPECT_EQ(traces[0].frames.front(), "clock_nanosleep");
  EXPECT_NE(std::find(traces[0].frames.begin(), traces[0].frames.end(), kGetResourceB), traces[0].frames.end());
  EXPECT_EQ(traces[1].count, 1);
  EXPECT_EQ(traces[1].labels.at("state"), "io");
  expect_traces_match_groups(traces, j.at("groups"));

  // hang writes the same snapshot's groups, byte for byte.
  std::string hang = write_pprof("hang", {core}, dir + "/hang.pb.gz");
  std::ifstream a(file, std::ios::binary), b(hang, std::ios::binary);
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(a), {}), std::string(std::istreambuf_iterator<char>(b), {}));
}

// Two profiles of the leaking sample, after 2 and 5 requests: pprof's own
// -diff_base shows get_resource_b's stack grown by exactly 3, and nothing
// else; threadleak diff's profile shows the same growth as its first type.
TEST(PprofCore, DiffBaseShowsTheGrownStack) {
  Proc p({tl_test::sample_bin("leak"), "--requests", "2"});
  std::string core1 = leak_core(p, 3);
  p.send("more 3");
  std::string core2 = leak_core(p, 6);
  std::string dir = tl_test::temp_dir();
  std::string old_pb = write_pprof("stacks", {core1}, dir + "/old.pb.gz");
  std::string new_pb = write_pprof("stacks", {core2}, dir + "/new.pb.gz");

  Top top = parse_top(pprof({"-top", "-diff_base", old_pb, new_pb}));
  // 3 more threads, 100% of the base's total (3 threads after 2 requests).
  EXPECT_EQ(top.line_starting("Showing"), "Showing nodes accounting for 3, 100% of 3 total");
  EXPECT_EQ(top.rows.at("clock_nanosleep"), (TopRow{3, 3}));
  EXPECT_EQ(top.rows.at(kGetResourceB), (TopRow{0, 3}));
  EXPECT_EQ(top.rows.count("main"), 0u);   // the main thread did not change
  for (const auto& [fn, row] : top.rows) EXPECT_EQ(row.cum, 3) << fn;   // one stack grew, by 3

  std::string diff_pb = write_pprof("diff", {core1, core2}, dir + "/diff.pb.gz", 1);
  Top grown = parse_top(pprof({"-top", diff_pb}));
  EXPECT_EQ(grown.line_starting("Type:"), "Type: grown_threads");
  EXPECT_EQ(grown.line_starting("Showing"), "Showing nodes accounting for 3, 100% of 3 total");
  EXPECT_EQ(grown.rows.at(kGetResourceB), (TopRow{0, 3}));
  Top current = parse_top(pprof({"-top", "-sample_index=threads", diff_pb}));
  EXPECT_EQ(current.line_starting("Showing"), "Showing nodes accounting for 6, 100% of 6 total");
  EXPECT_EQ(current.rows.at(kGetResourceB), (TopRow{0, 5}));
}

// A terminal gets no binary: one line, exit 2 (script(1) gives the CLI a tty).
TEST(PprofCore, RefusesATerminal) {
  Proc p({tl_test::sample_bin("leak"), "--requests", "1"});
  std::string core = leak_core(p, 2);
  std::string cmd = tl_test::threadleak_bin() + " stacks " + core + " --format pprof";
  auto r = tl_test::run({"script", "-qec", cmd, "/dev/null"});
  EXPECT_EQ(r.status, 2);
  EXPECT_EQ(r.out,
            "threadleak: --format pprof writes a gzip-compressed profile, not for a terminal: give -o FILE (or "
            "redirect stdout)\r\n");
}

// The Go service: goroutines as the first sample type, the leaked ones in
// time.Sleep under main.GetResourceB with their wait reason and creator as
// labels; -diff_base across 7 more requests shows exactly 7 more.
TEST(PprofGo, LeakingServiceGoroutines) {
  Proc p({go_bin("leaksvc"), "-requests", "5"});
  EXPECT_EQ(p.expect("ready"), "ready 6");
  wait_go_reading_stdin(p.pid());
  std::string core1 = tl_test::gcore(p.pid(), tl_test::temp_dir());
  p.send("more 7");
  EXPECT_EQ(p.expect("ready"), "ready 13");
  wait_go_reading_stdin(p.pid());
  std::string core2 = tl_test::gcore(p.pid(), tl_test::temp_dir());
  std::string dir = tl_test::temp_dir();
  std::string old_pb = write_pprof("stacks", {core1}, dir + "/old.pb.gz");
  std::string new_pb = write_pprof("stacks", {core2}, dir + "/new.pb.gz");

  Top top = parse_top(pprof({"-top", new_pb}));
  EXPECT_EQ(top.line_starting("File:"), "File: leaksvc");
  EXPECT_EQ(top.line_starting("Type:"), "Type: goroutines");
  // 12 leaked, and main's goroutine reading stdin (the runtime's own are left out).
  EXPECT_EQ(top.line_starting("Showing"), "Showing nodes accounting for 13, 100% of 13 total");
  EXPECT_EQ(top.rows.at("time.Sleep"), (TopRow{12, 12}));
  EXPECT_EQ(top.rows.at("main.GetResourceB"), (TopRow{0, 12}));
  EXPECT_EQ(top.rows.at("main.main"), (TopRow{0, 1}));

  auto traces = parse_traces(pprof({"-traces", new_pb}));
  ASSERT_EQ(traces.size(), 2u);
  EXPECT_EQ(traces[0].count, 12);
  EXPECT_EQ(traces[0].frames, (std::vector<std::string>{"time.Sleep", "main.GetResourceB"}));
  auto j = tl_test::threadleak_json({"stacks", core2});
  EXPECT_EQ(traces[0].labels, (std::map<std::string, std::string>{{"state", "sleep"},
                                                                  {"fingerprint", j.at("groups")[0].at("fingerprint")},
                                                                  {"wait_reason", "sleep"},
                                                                  {"created_by", "main.Execute"}}));
  nlohmann::json user = nlohmann::json::array();
  for (const auto& g : j.at("groups"))
    if (!g.value("go_runtime", false)) user.push_back(g);
  expect_traces_match_groups(traces, user);

  Top diff = parse_top(pprof({"-top", "-diff_base", old_pb, new_pb}));
  // pprof's percentages in -diff_base are of the base's total: 6 goroutines.
  EXPECT_EQ(diff.line_starting("Showing"), "Showing nodes accounting for 7, 116.67% of 6 total");
  EXPECT_EQ(diff.rows.at("time.Sleep"), (TopRow{7, 7}));
  EXPECT_EQ(diff.rows.at("main.GetResourceB"), (TopRow{0, 7}));

  // --go-runtime: the runtime's own too, its OS threads in the second type.
  std::string all_pb = write_pprof("stacks", {core2}, dir + "/all.pb.gz", 0, {"--go-runtime"});
  long threads = 0;
  for (const auto& g : j.at("groups"))
    if (g.at("kind") == "thread") threads += g.at("count").get<long>();
  Top os = parse_top(pprof({"-top", "-sample_index=threads", all_pb}));
  EXPECT_EQ(os.line_starting("Showing"),
            "Showing nodes accounting for " + std::to_string(threads) + ", 100% of " + std::to_string(threads) + " total");
  EXPECT_GT(threads, 0);
}
