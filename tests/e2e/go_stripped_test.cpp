// Go programs as they ship (issue 13): stripped binaries (-ldflags "-s -w",
// Debian's packages, a registry package's executable built by Go 1.26),
// read from the pclntab and the runtime's own type descriptors. Each is
// checked against the runtime's own crash traceback of the same process,
// goroutine by goroutine. The samples' DWARF and stripped builds are also
// tested side by side in go_test and go_hang_test (suites Builds/...).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

#include <gtest/gtest.h>

#include "go_oracle.hpp"
#include "harness.hpp"

using nlohmann::json;
using tl_test::GoProcess;

namespace {

std::string go_bin(const std::string& name) { return std::string(GO_SAMPLES_DIR) + "/" + name; }

std::string param_name(const ::testing::TestParamInfo<std::string>& info) { return info.param; }

// A park sample, ready, and a core of it (removed at the end of the test).
struct ParkCore {
  std::unique_ptr<GoProcess> proc;
  std::unique_ptr<tl_test::CoreFile> core;
};

ParkCore park_core(const std::string& bin) {
  ParkCore p;
  p.proc = std::make_unique<GoProcess>(std::vector<std::string>{go_bin(bin)});
  EXPECT_EQ(p.proc->expect("ready"), "ready 19");
  p.core = std::make_unique<tl_test::CoreFile>(tl_test::gcore(p.proc->pid(), p.proc->dir()));
  return p;
}

int goroutines(const json& groups) {
  int n = 0;
  for (const auto& g : groups)
    if (g.value("kind", "") == "goroutine") n += g.at("count").get<int>();
  return n;
}

class GoSnapshot : public ::testing::TestWithParam<std::string> {};

}  // namespace

// The parser of the oracle itself, on a Go 1.26 crash traceback (esbuild's,
// shortened): gp=/m= headers, "created by F in goroutine N", g0, registers.
TEST(GoTraceback, ParsesGo126Headers) {
  const char* text =
      "SIGABRT: abort\nPC=0x48ee81 m=1 sigcode=0\n\n"
      "goroutine 0 gp=0x1f050d3f25a0 m=1 mp=0x1f050d43a008 [idle]:\n"
      "runtime.futex(0x1f050d43a148, 0x80, 0x0, 0x0, 0x0, 0x0)\n"
      "\truntime/sys_linux_amd64.s:557 +0x21 fp=0x7f8ee9ffad00 sp=0x7f8ee9ffacf8 pc=0x48ee81\n\n"
      "goroutine 1 gp=0x1f050d3f21e0 m=nil [chan receive, 3 minutes]:\n"
      "runtime.gopark(0x7f8eea69b108?, 0x70?, 0x8?, 0xb0?, 0x1f050d45e0e0?)\n"
      "\truntime/proc.go:462 +0xce fp=0x1f050d574ab8 sp=0x1f050d574a98 pc=0x485f4e\n"
      "github.com/evanw/esbuild/pkg/cli.serveImpl({0x1f050d410d30, 0x2, 0x2})\n"
      "\tgithub.com/evanw/esbuild/pkg/cli/cli_impl.go:1554 +0x57a fp=0x1f050d575540 sp=0x1f050d574b58 pc=0x91551a\n"
      "github.com/evanw/esbuild/pkg/cli.Run(...)\n"
      "\tgithub.com/evanw/esbuild/pkg/cli/cli.go:31\n"
      "...additional frames elided...\n\n"
      "goroutine 4 gp=0x1f050d3f32c0 m=2 mp=0x1f050d43a808 [syscall, locked to thread]:\n"
      "syscall.Syscall(0x0, 0x0, 0x1f050d437568, 0x200)\n"
      "\tsyscall/syscall_linux.go:74 +0x25 fp=0x1f050d437428 sp=0x1f050d4373c8 pc=0x4baaa5\n"
      "runtime.goexit({})\n"
      "\truntime/asm_amd64.s:1771 +0x1 fp=0x1f050d4377e8 sp=0x1f050d4377e0 pc=0x48d481\n"
      "created by main.main.func1 in goroutine 1\n"
      "\tgithub.com/evanw/esbuild/cmd/esbuild/main.go:343 +0x27b\n\n"
      "goroutine 9 gp=0x1f050d3f3680 m=3 mp=0x1f050d43b008 [running]:\n"
      "\tgoroutine running on other thread; stack unavailable\n\n"
      "rax    0xca\nrbx    0x0\n";
  auto gs = tl_test::parse_go_dump(text);
  ASSERT_EQ(gs.size(), 3u);
  EXPECT_EQ(gs[0].goid, 1);
  EXPECT_EQ(gs[0].state, "chan receive");
  EXPECT_EQ(gs[0].functions, (std::vector<std::string>{"runtime.gopark", "github.com/evanw/esbuild/pkg/cli.serveImpl",
                                                        "github.com/evanw/esbuild/pkg/cli.Run"}));
  EXPECT_EQ(gs[1].state, "syscall");
  EXPECT_EQ(gs[1].created_by, "main.main.func1");
  EXPECT_EQ(gs[2].goid, 9);
  EXPECT_TRUE(gs[2].functions.empty());
  // Compared by goid, state and first function outside package runtime.
  json groups = json::parse(R"([
    {"kind": "goroutine", "count": 1, "members": [1], "wait_reason": "chan receive",
     "frames": [{"function": "github.com/evanw/esbuild/pkg/cli.serveImpl"}]},
    {"kind": "goroutine", "count": 2, "members": [4, 9], "wait_reason": "syscall",
     "frames": [{"function": "syscall.Syscall"}]}])");
  auto a = tl_test::compare_with_traceback(groups, gs);
  EXPECT_EQ(a.total, 3);
  EXPECT_EQ(a.agree, 2);
  ASSERT_EQ(a.differences.size(), 1u);
  EXPECT_EQ(a.differences[0],
            "goroutine 9: threadleak 'syscall | syscall.Syscall', traceback 'running | (stack unavailable)'");
}

// One binary with DWARF, read by both paths: the DWARF and the pclntab with
// the runtime's type descriptors (THREADLEAK_GO_SYMBOLS=pclntab) give the
// same answer.
TEST(GoSymbols, DwarfAndPclntabPathsGiveTheSameGroups) {
  ParkCore p = park_core("park");
  auto dwarf = tl_test::threadleak_json({"stacks", p.core->path()});
  auto pclntab = tl_test::threadleak_json({"stacks", p.core->path()}, 0, {"THREADLEAK_GO_SYMBOLS=pclntab"});
  EXPECT_EQ(goroutines(pclntab.at("groups")), goroutines(dwarf.at("groups")));
  EXPECT_EQ(pclntab.at("groups"), dwarf.at("groups")) << "DWARF:\n" << dwarf.at("groups").dump(1)
                                                       << "\npclntab:\n" << pclntab.at("groups").dump(1);
  EXPECT_EQ(pclntab.at("hang"), dwarf.at("hang"));
  EXPECT_EQ(pclntab.at("warnings"), dwarf.at("warnings"));
  // The pclntab path did run: a field removed from the type descriptors
  // changes its answer, not the DWARF path's.
  const std::string drop = "THREADLEAK_GO_DROP_FIELD=runtime.g.goid";
  EXPECT_EQ(goroutines(tl_test::threadleak_json({"stacks", p.core->path()}, 0, {drop}).at("groups")),
            goroutines(dwarf.at("groups")));
  EXPECT_EQ(goroutines(tl_test::threadleak_json({"stacks", p.core->path()}, 0,
                                                {"THREADLEAK_GO_SYMBOLS=pclntab", drop}).at("groups")), 0);
}

// A derived field missing (THREADLEAK_GO_DROP_FIELD: the layout derivation
// acts as if runtime.g had no goid) is caught: one warning naming it, no
// goroutine list presented as right, the OS threads still named from the
// pclntab.
TEST(GoDerivedField, MissingGoidIsOneWarningAndOsThreadsStayNamed) {
  ParkCore p = park_core("park_stripped");
  auto j = tl_test::threadleak_json({"stacks", p.core->path()}, 0, {"THREADLEAK_GO_DROP_FIELD=runtime.g.goid"});
  int naming = 0;
  for (const auto& w : j.at("warnings")) naming += w.get<std::string>().find("runtime.g.goid") != std::string::npos;
  EXPECT_EQ(naming, 1) << j.at("warnings").dump(1);
  EXPECT_EQ(goroutines(j.at("groups")), 0);
  int threads = 0, unnamed = 0;
  bool futex = false;
  for (const auto& g : j.at("groups")) {
    threads += g.at("count").get<int>();
    for (const auto& f : g.at("frames")) {
      unnamed += f.value("function", "").empty();
      futex |= f.value("function", "") == "runtime.futex";
    }
  }
  EXPECT_GE(threads, 2);
  EXPECT_EQ(unnamed, 0) << j.at("groups").dump(1);
  EXPECT_TRUE(futex);
}

// A snapshot file of a core keeps what the core shows: the same groups.
TEST_P(GoSnapshot, CoreRoundTripsThroughASnapshotFile) {
  ParkCore p = park_core(GetParam());
  std::string snap = p.proc->dir() + "/park.snapshot";
  auto s = tl_test::run({tl_test::threadleak_bin(), "snapshot", p.core->path(), "-o", snap});
  ASSERT_EQ(s.status, 0) << s.err;
  auto from_core = tl_test::threadleak_json({"stacks", p.core->path()});
  p.core.reset();  // the snapshot file stands alone
  auto from_file = tl_test::threadleak_json({"stacks", snap});
  EXPECT_GE(goroutines(from_file.at("groups")), 19);  // the sample's, and the runtime's own
  EXPECT_EQ(from_file.at("groups"), from_core.at("groups"));
  EXPECT_EQ(from_file.at("hang"), from_core.at("hang"));
}
INSTANTIATE_TEST_SUITE_P(Builds, GoSnapshot, ::testing::Values("park", "park_stripped", "park_pie_stripped"), param_name);

// --- Real programs no one here wrote -------------------------------------

namespace {

int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0)
    ADD_FAILURE() << "no free port";
  ::close(fd);
  return ntohs(a.sin_port);
}

bool answers(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

std::string slurp(const std::string& path) {
  std::ifstream f(path);
  return {std::istreambuf_iterator<char>(f), {}};
}

#define SKIP_UNLESS_INSTALLED(bin) \
  if (!std::filesystem::exists(bin)) GTEST_SKIP() << (bin) << " is missing: run scripts/install-deps.sh"

// Runs the program until it answers on `port` (0: no port to wait for), lets it settle, takes a core
// and the runtime's traceback, and compares them goroutine by goroutine.
void expect_agrees(const std::string& label, const std::vector<std::string>& argv, int port,
                   const std::vector<std::string>& env, int at_least) {
  GoProcess p(argv, env);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (port && !answers(port) && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ASSERT_TRUE(!port || answers(port)) << label << " does not answer on port " << port << ":\n"
                                      << slurp(p.dir() + "/stderr");
  std::this_thread::sleep_for(std::chrono::seconds(1));  // its start-up goroutines end
  auto taken = p.core_then_traceback();
  auto j = tl_test::threadleak_json({"stacks", taken.core.path()});
  for (const auto& w : j.at("warnings")) std::cout << label << ": warning: " << w.get<std::string>() << "\n";
  auto a = tl_test::expect_agrees_with_traceback(label, j.at("groups"), taken.traceback);
  EXPECT_GE(a.total, at_least);
}

}  // namespace

// Debian's caddy 2.6.2 (go1.19.8, stripped), serving a tiny Caddyfile.
TEST(GoRealProgram, Caddy) {
  SKIP_UNLESS_INSTALLED(CADDY_BIN);
  std::string dir = tl_test::temp_dir();
  int port = free_port();
  std::ofstream(dir + "/Caddyfile") << "{\n\tadmin off\n\tauto_https off\n}\n"
                                    << "http://127.0.0.1:" << port << " {\n\trespond \"threadleak\"\n}\n";
  expect_agrees("caddy",
                {CADDY_BIN, "run", "--config", dir + "/Caddyfile", "--adapter", "caddyfile"}, port,
                {"XDG_DATA_HOME=" + dir + "/data", "XDG_CONFIG_HOME=" + dir + "/config", "HOME=" + dir}, 10);
}

// Debian's etcd 3.4.23 (go1.19.8, stripped), a one-member cluster.
TEST(GoRealProgram, Etcd) {
  SKIP_UNLESS_INSTALLED(ETCD_BIN);
  std::string dir = tl_test::temp_dir();
  std::string client = "http://127.0.0.1:" + std::to_string(free_port());
  int peer_port = free_port();
  std::string peer = "http://127.0.0.1:" + std::to_string(peer_port);
  expect_agrees("etcd",
                {ETCD_BIN, "--name", "default", "--data-dir", dir + "/data", "--listen-client-urls", client,
                 "--advertise-client-urls", client, "--listen-peer-urls", peer, "--initial-advertise-peer-urls",
                 peer, "--initial-cluster", "default=" + peer},
                std::stoi(client.substr(client.rfind(':') + 1)), {}, 20);
}

// esbuild 0.28.2 from the npm registry (@esbuild/linux-x64): go1.26.5,
// static, stripped, no .go.buildinfo. Serving a directory (until stdin closes).
TEST(GoRealProgram, Esbuild) {
  SKIP_UNLESS_INSTALLED(ESBUILD_BIN);
  std::string dir = tl_test::temp_dir();
  std::ofstream(dir + "/index.html") << "threadleak\n";
  int port = free_port();
  expect_agrees("esbuild (go1.26)",
                {ESBUILD_BIN, "--serve=127.0.0.1:" + std::to_string(port), "--servedir=" + dir}, port, {}, 5);
}

// esbuild 0.8.36 from the npm registry (esbuild-linux-64): go1.15.5, static,
// stripped: the Go 1.2-1.15 pclntab (magic 0xfffffffb) and the Go 1.10-1.15
// moduledata. Serving one bundled file.
TEST(GoRealProgram, EsbuildGo115) {
  SKIP_UNLESS_INSTALLED(ESBUILD_GO115_BIN);
  std::string dir = tl_test::temp_dir();
  std::ofstream(dir + "/a.js") << "console.log('threadleak')\n";
  int port = free_port();
  // Before Go 1.19 a fatal signal's traceback leaves the runtime's own
  // goroutines out unless GOTRACEBACK says "system" (set first: it wins).
  expect_agrees("esbuild (go1.15)", {ESBUILD_GO115_BIN, dir + "/a.js", "--serve=127.0.0.1:" + std::to_string(port)},
                port, {"GOTRACEBACK=system"}, 6);
}

// esbuild 0.5.26 (esbuild-linux-64): go1.14.2, static, stripped; in its
// --service mode it waits for requests on stdin.
TEST(GoRealProgram, EsbuildGo114) {
  SKIP_UNLESS_INSTALLED(ESBUILD_GO114_BIN);
  expect_agrees("esbuild (go1.14)", {ESBUILD_GO114_BIN, "--service"}, 0, {"GOTRACEBACK=system"}, 6);
}
