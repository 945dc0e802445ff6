// Metrics (docs/metrics.md) checked by Prometheus itself: a real prometheus
// server scraping `watch --metrics-listen` of the leaking sample, queried
// over its HTTP API, with the documented alert rule firing; `promtool check
// metrics` on --metrics-file output and `stacks --format metrics`; label
// values escaped for hostile names (a live executable path, and function
// names no compiler emits, rendered by the library).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <regex>
#include <thread>

#include <gtest/gtest.h>
#include <httplib.h>

#include "harness.hpp"
#include "threadleak/threadleak.hpp"

using tl_test::Proc;
using json = nlohmann::json;

namespace {

constexpr const char* kLeakQuery = R"(threadleak_group_members{function=~".*::get_resource_b[(].*",state="sleep"})";

std::string read_file(const std::string& path) {
  std::ifstream f(path);
  return {std::istreambuf_iterator<char>(f), {}};
}

void write_file(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary);
  f << text;
}

// A loopback port nobody listens on right now.
int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), len) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0)
    throw std::runtime_error("free_port");
  ::close(fd);
  return ntohs(a.sin_port);
}

// `promtool check metrics` on `text`: its exit status and what it printed.
tl_test::Result promtool_check(const std::string& text) {
  std::string dir = tl_test::temp_dir();
  write_file(dir + "/m.prom", text);
  return tl_test::run({"/bin/sh", "-c", "promtool check metrics < " + dir + "/m.prom"}, 60);
}

// The line of `name` whose labels contain `needle`, or "".
std::string line_with(const std::string& text, const std::string& name, const std::string& needle) {
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);)
    if (l.rfind(name + "{", 0) == 0 && l.find(needle) != std::string::npos) return l;
  return "";
}

// The value of the one series a PromQL query returns now, or -1 if it returns none.
double query_one(httplib::Client& c, const std::string& q) {
  auto r = c.Get("/api/v1/query", httplib::Params{{"query", q}}, httplib::Headers{});
  if (!r || r->status != 200) return -1;
  auto j = json::parse(r->body);
  const auto& result = j.at("data").at("result");
  if (result.empty()) return -1;
  EXPECT_EQ(result.size(), 1u) << q << ": " << r->body;
  return std::stod(result[0].at("value")[1].get<std::string>());
}

// Polls `q` until it returns `want` (or the time is up); returns the last value.
double wait_value(httplib::Client& c, const std::string& q, double want, int timeout_s = 20) {
  double v = -1;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  while (std::chrono::steady_clock::now() < deadline) {
    if ((v = query_one(c, q)) == want) return v;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return v;
}

// The documented rule file with its hour-long window and 10-minute `for`
// shortened to what a test can wait for; the expression is unchanged.
std::string rules_for_test() {
  std::string rules = read_file(std::string(SOURCE_DIR) + "/docs/prometheus/threadleak-rules.yml");
  std::string fast = std::regex_replace(rules, std::regex(R"(\[1h\])"), "[60s]");
  fast = std::regex_replace(fast, std::regex(R"(for: 10m)"), "for: 2s");
  EXPECT_NE(fast, rules);
  EXPECT_EQ(fast.find("[1h]"), std::string::npos);
  return fast;
}

// A prometheus of our own (not the system service): its own config, data
// directory and loopback port; scrapes every second.
class Prometheus {
 public:
  explicit Prometheus(const std::string& dir)
      : port_(free_port()),
        proc_({"/usr/bin/prometheus", "--config.file=" + dir + "/prometheus.yml", "--storage.tsdb.path=" + dir + "/data",
               "--web.listen-address=127.0.0.1:" + std::to_string(port_), "--log.level=warn"},
              {.env = {}, .stderr_path = dir + "/prometheus.log"}),
        client_("127.0.0.1", port_) {
    client_.set_connection_timeout(2);
    client_.set_read_timeout(5);
  }
  static void configure(const std::string& dir, const std::string& target) {
    write_file(dir + "/rules.yml", rules_for_test());
    write_file(dir + "/prometheus.yml",
               "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n"
               "rule_files:\n  - " + dir + "/rules.yml\n"
               "scrape_configs:\n  - job_name: threadleak\n    static_configs:\n      - targets: ['" + target + "']\n");
  }
  bool wait_ready(int timeout_s = 30) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
    while (std::chrono::steady_clock::now() < deadline) {
      auto r = client_.Get("/-/ready");
      if (r && r->status == 200) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
  }
  httplib::Client& client() { return client_; }
  // The state of alert `name` whose function label contains `function`, or "".
  std::string alert_state(const std::string& name, const std::string& function) {
    auto r = client_.Get("/api/v1/alerts");
    if (!r || r->status != 200) return "";
    json j = json::parse(r->body);   // kept: a range over a temporary's member would dangle
    for (const auto& a : j.at("data").at("alerts"))
      if (a.at("labels").value("alertname", "") == name && a.at("labels").value("function", "").find(function) != std::string::npos)
        return a.at("state").get<std::string>();
    return "";
  }

 private:
  int port_;
  Proc proc_;
  httplib::Client client_;
};

// `watch --metrics-listen 127.0.0.1:0` of pid; returns the host:port it printed.
std::string start_watch(Proc& watch) {
  for (int i = 0; i < 20; ++i) {
    std::string l = watch.read_line(30);
    static const std::regex re(R"(serving metrics at http://(127\.0\.0\.1:[0-9]+)/metrics$)");
    std::smatch m;
    if (std::regex_search(l, m, re)) return m[1];
  }
  ADD_FAILURE() << "watch did not say where it serves";
  return "";
}

}  // namespace

// The leak, seen by Prometheus: the get_resource_b group's series rises by
// exactly the requests served, in three steps, and the rule fires.
TEST(MetricsPrometheus, ScrapesTheLeakAndTheAlertFires) {
  Proc p({tl_test::sample_bin("leak"), "--requests", "2"});
  EXPECT_EQ(p.expect("ready"), "ready 3");
  p.wait_reading_stdin();
  Proc watch({tl_test::threadleak_bin(), "watch", "--pid", std::to_string(p.pid()), "--interval", "200ms",
              "--metrics-listen", "127.0.0.1:0"});
  std::string target = start_watch(watch);
  ASSERT_FALSE(target.empty());
  // The endpoint itself: Prometheus text unless OpenMetrics is asked for.
  httplib::Client direct(target.substr(0, target.find(':')), std::stoi(target.substr(target.find(':') + 1)));
  auto page = direct.Get("/metrics");
  for (int i = 0; i < 100 && page && page->status == 503; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    page = direct.Get("/metrics");
  }
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 200);
  EXPECT_EQ(page->get_header_value("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_EQ(page->body.find("# EOF"), std::string::npos);
  auto om = direct.Get("/metrics", httplib::Headers{{"Accept", "application/openmetrics-text;version=1.0.0"}});
  ASSERT_TRUE(om);
  EXPECT_EQ(om->get_header_value("Content-Type"), "application/openmetrics-text; version=1.0.0; charset=utf-8");
  EXPECT_TRUE(om->body.ends_with("\n# EOF\n"));
  EXPECT_EQ(direct.Get("/nothing")->status, 404);

  std::string dir = tl_test::temp_dir();
  Prometheus::configure(dir, target);
  Prometheus prom(dir);
  ASSERT_TRUE(prom.wait_ready()) << read_file(dir + "/prometheus.log");
  auto& c = prom.client();
  EXPECT_EQ(wait_value(c, kLeakQuery, 2), 2) << read_file(dir + "/prometheus.log");
  EXPECT_EQ(wait_value(c, "up{job=\"threadleak\"}", 1), 1);
  EXPECT_EQ(wait_value(c, "threadleak_threads{job=\"threadleak\"}", 3), 3);
  EXPECT_GT(query_one(c, "threadleak_capture_pause_seconds"), 0);
  EXPECT_EQ(prom.alert_state("ThreadleakGroupGrowing", "get_resource_b"), "");
  // Three steps: 2 -> 5 -> 6 -> 7 (each a request's leaked thread).
  int leaked = 2, threads = 3;
  for (int k : {3, 1, 1}) {
    p.send("more " + std::to_string(k));
    leaked += k;
    threads += k;
    EXPECT_EQ(p.expect("ready"), "ready " + std::to_string(threads));
    EXPECT_EQ(wait_value(c, kLeakQuery, leaked), leaked);
    // Never past it: no series value above what the requests leaked.
    EXPECT_EQ(query_one(c, std::string("max_over_time(") + kLeakQuery + "[1m])"), leaked);
  }
  EXPECT_EQ(query_one(c, std::string(kLeakQuery) + " - min_over_time(" + kLeakQuery + "[1m])"), 5);
  std::string state;
  for (int i = 0; i < 150 && (state = prom.alert_state("ThreadleakGroupGrowing", "get_resource_b")) != "firing"; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  if (state != "firing") {
    ADD_FAILURE() << "the alert is not firing: " << state << "\n" << read_file(dir + "/prometheus.log");
    for (const char* f : {"changes", "resets", "min_over_time", "max_over_time"})
      std::cerr << f << ": " << query_one(c, std::string(f) + "(" + kLeakQuery + "[60s])") << "\n";
    if (auto alerts = c.Get("/api/v1/alerts")) std::cerr << alerts->status << alerts->body << "\n";
    else std::cerr << "alerts: " << httplib::to_string(alerts.error()) << "\n";
  }
  std::string why;
  EXPECT_TRUE(tl_test::all_threads_running_untraced(p.pid(), &why)) << why;
}

// --metrics-file: written atomically after each snapshot, accepted by promtool.
TEST(MetricsFile, PromtoolAcceptsTheTextfile) {
  Proc p({tl_test::sample_bin("leak"), "--requests", "4"});
  EXPECT_EQ(p.expect("ready"), "ready 5");
  p.wait_reading_stdin();
  std::string dir = tl_test::temp_dir();
  std::string file = dir + "/threadleak.prom";
  auto r = tl_test::run({tl_test::threadleak_bin(), "watch", "--pid", std::to_string(p.pid()), "--interval", "50ms",
                         "--count", "2", "--metrics-file", file}, 60);
  ASSERT_EQ(r.status, 0) << r.err;
  std::string text = read_file(file);
  auto check = promtool_check(text);
  EXPECT_EQ(check.status, 0) << check.out << check.err << text;
  EXPECT_EQ(check.out + check.err, "");
  std::string leak = line_with(text, "threadleak_group_members", "get_resource_b");
  EXPECT_TRUE(std::regex_match(leak, std::regex(
      R"re(threadleak_group_members\{fingerprint="[0-9a-f]+",state="sleep",function="\(anonymous namespace\)::get_resource_b\(std::shared_ptr<\(anonymous namespace\)::Call>\)",kind="thread",executable="[^"]*/leak"\} 4)re")))
      << leak;
  EXPECT_NE(text.find("\nthreadleak_threads{executable=\""), std::string::npos) << text;
  EXPECT_NE(line_with(text, "threadleak_threads", "").find("} 5"), std::string::npos) << text;
  EXPECT_NE(line_with(text, "threadleak_group_members", "fingerprint=\"other\"").find("} 0"), std::string::npos) << text;
  EXPECT_NE(text.find("threadleak_capture_pause_seconds{"), std::string::npos);
  for (const auto& e : std::filesystem::directory_iterator(dir))   // no temporary file left behind
    EXPECT_EQ(e.path().filename(), "threadleak.prom");
  // --metrics-top 1: the largest group and "other" with the rest.
  r = tl_test::run({tl_test::threadleak_bin(), "stacks", "--pid", std::to_string(p.pid()), "--format", "metrics",
                    "--top", "1"}, 60);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(promtool_check(r.out).status, 0);
  EXPECT_NE(line_with(r.out, "threadleak_group_members", "get_resource_b").find("} 4"), std::string::npos) << r.out;
  EXPECT_NE(line_with(r.out, "threadleak_group_members", "fingerprint=\"other\"").find("} 1"), std::string::npos)
      << r.out;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 16) << r.out;
}

// A live process whose executable path holds a quote, a backslash, a
// newline and a byte that is not UTF-8 (in a directory name: the sample
// itself reads its threads' comm, which a newline would break).
TEST(MetricsEscaping, HostileExecutablePath) {
  std::string dir = tl_test::temp_dir();
  std::string hostile = dir + "/we\"ird\\na\nme\xff";
  std::filesystem::create_directory(hostile);
  std::string exe = hostile + "/leak";
  std::filesystem::copy_file(tl_test::sample_bin("leak"), exe);
  Proc p({exe, "--requests", "1"});
  EXPECT_EQ(p.expect("ready"), "ready 2");
  p.wait_reading_stdin();
  auto r = tl_test::run({tl_test::threadleak_bin(), "stacks", "--pid", std::to_string(p.pid()), "--format", "metrics"},
                        60);
  ASSERT_EQ(r.status, 0) << r.err;
  auto check = promtool_check(r.out);
  EXPECT_EQ(check.status, 0) << check.out << check.err << r.out;
  EXPECT_EQ(line_with(r.out, "threadleak_threads", ""),
            "threadleak_threads{executable=\"" + dir + "/we\\\"ird\\\\na\\nme\ufffd/leak\"} 2");
}

// Names no compiler here emits, through the library's renderer: every
// special character escaped once, bad UTF-8 replaced, long names cut at a
// character boundary, and two groups with one label set made one series.
TEST(MetricsEscaping, HostileFunctionNames) {
  threadleak::Snapshot s;
  s.executable = "/bin/x";
  auto group = [](const std::string& fn, const std::string& sig, std::vector<std::int64_t> tids) {
    threadleak::Group g;
    g.signature = sig;
    g.fingerprint = "00000000000" + sig.substr(1);
    g.state = threadleak::State::syscall;
    g.syscall_name = "ioctl";
    g.members = std::move(tids);
    threadleak::Frame f;
    f.function = threadleak::Interned(fn);
    f.own_code = true;
    g.frames.push_back(f);
    return g;
  };
  std::string longname = std::string(254, 'a') + "\u00e9\u00e9";   // 258 bytes; the cut falls inside no character
  std::vector<threadleak::Group> groups{group("q\"b\\s\nn\xc3(\x80)", "s1", {1, 2, 3}), group(longname, "s2", {4, 5}),
                                        group(longname, "s2", {6})};
  std::string text = threadleak::render_metrics(s, groups, {});
  auto check = promtool_check(text);
  EXPECT_EQ(check.status, 0) << check.out << check.err << text;
  std::string first = std::regex_replace(line_with(text, "threadleak_group_members", "ioctl"),
                                         std::regex("fingerprint=\"[0-9a-f]{12}\""), "fingerprint=\"F\"");
  EXPECT_EQ(first, "threadleak_group_members{fingerprint=\"F\",state=\"syscall:ioctl\",function=\"q\\\"b\\\\s\\nn"
                   "\ufffd(\ufffd)\",kind=\"thread\",executable=\"/bin/x\"} 3");
  std::string cut = line_with(text, "threadleak_group_members", "aaaa");
  EXPECT_NE(cut.find("function=\"" + std::string(254, 'a') + "\u00e9\u2026\""), std::string::npos) << cut;
  EXPECT_NE(cut.find("} 3"), std::string::npos) << cut;   // both s2 groups: one series
  threadleak::MetricsOptions om;
  om.openmetrics = true;
  EXPECT_EQ(threadleak::render_metrics(s, groups, om), text + "# EOF\n");
}
