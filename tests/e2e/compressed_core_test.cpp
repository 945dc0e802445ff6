// Compressed cores (issue 15): a real gcore of the park sample with a large,
// untouched heap, compressed with the real zstd, lz4 and xz tools, one of
// them named as systemd-coredump names its files. Each must give exactly
// the plain core's groups, within memory far below the core's size;
// truncated and corrupt ones one clear line and exit 2, or the documented
// warning and a partial answer.
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <regex>

#include <gtest/gtest.h>

#include "hang_zoo.hpp"
#include "harness.hpp"

namespace fs = std::filesystem;
using tl_test::Proc;

namespace {

constexpr std::uint64_t kTimestampUs = 1796283251000000;   // 2026-12-03T07:34:11Z
constexpr const char* kTime = "2026-12-03T07:34:11Z";

struct Cores {
  std::string dir, plain, zst, lz4, xz, systemd;
  int pid = 0;
  std::string boot_id;
  std::uintmax_t plain_size = 0;
};

std::string boot_id() {
  std::ifstream in("/proc/sys/kernel/random/boot_id");
  std::string s, out;
  std::getline(in, s);
  for (char c : s)
    if (c != '-') out += c;
  return out;
}

void compress(const std::vector<std::string>& argv) {
  tl_test::Result r = tl_test::run(argv, 240);
  ASSERT_EQ(r.status, 0) << argv.front() << ": " << r.err;
}

// One core for the whole file: park with 512 MiB of reserved, untouched heap.
const Cores& cores() {
  static Cores c = [] {
    Cores c;
    c.dir = tl_test::temp_dir();
    Proc p({tl_test::sample_bin("park"), "--sleep", "3", "--condvar", "2", "--mutex", "2", "--heap-mib", "512"});
    p.expect("ready");
    c.pid = p.pid();
    c.plain = tl_test::gcore(p.pid(), c.dir);
    p.kill_now();
    c.plain_size = fs::file_size(c.plain);
    c.zst = c.plain + ".zst";
    c.lz4 = c.plain + ".lz4";
    c.xz = c.plain + ".xz";
    compress({"zstd", "-q", "-T2", c.plain, "-o", c.zst});
    compress({"lz4", "-q", c.plain, c.lz4});
    compress({"xz", "-q", "-k", "-1", "-T2", c.plain});
    c.boot_id = boot_id();
    c.systemd = c.dir + "/core.park." + std::to_string(getuid()) + "." + c.boot_id + "." + std::to_string(c.pid) +
                "." + std::to_string(kTimestampUs) + ".zst";
    fs::copy_file(c.zst, c.systemd);
    return c;
  }();
  return c;
}

tl_test::Result stacks(const std::vector<std::string>& args) {
  std::vector<std::string> argv{tl_test::threadleak_bin(), "stacks"};
  argv.insert(argv.end(), args.begin(), args.end());
  return tl_test::run(argv, 120);
}

std::string cut_copy(const std::string& from, std::uintmax_t bytes, const std::string& name) {
  std::string path = cores().dir + "/" + name;
  fs::copy_file(from, path, fs::copy_options::overwrite_existing);
  fs::resize_file(path, bytes);
  return path;
}

}  // namespace

TEST(CompressedCore, EachFormatGivesThePlainCoresGroups) {
  const Cores& c = cores();
  nlohmann::json plain = tl_test::threadleak_json({"stacks", c.plain});
  ASSERT_EQ(plain.at("groups").size(), 5u);   // sleeper, pool_worker, lock_waiter, lock_holder, main
  for (const std::string& f : {c.zst, c.lz4, c.xz, c.systemd}) {
    SCOPED_TRACE(f);
    nlohmann::json j = tl_test::threadleak_json({"stacks", f});
    EXPECT_EQ(j.at("groups"), plain.at("groups"));
    EXPECT_EQ(j.at("warnings"), plain.at("warnings"));
    EXPECT_EQ(j.at("process").at("pid"), plain.at("process").at("pid"));
    EXPECT_EQ(j.at("process").at("total"), plain.at("process").at("total"));
  }
}

TEST(CompressedCore, SystemdCoredumpNameGivesPidUidCommAndTime) {
  const Cores& c = cores();
  nlohmann::json j = tl_test::threadleak_json({"stacks", c.systemd});
  nlohmann::json expected = {{"comm", "park"}, {"uid", getuid()}, {"pid", c.pid}, {"boot_id", c.boot_id},
                             {"time", kTime}};
  EXPECT_EQ(j.at("process").at("coredump"), expected);
  EXPECT_FALSE(tl_test::threadleak_json({"stacks", c.zst}).at("process").contains("coredump"));
  tl_test::Result r = stacks({c.systemd});
  ASSERT_EQ(r.status, 0) << r.err;
  std::string line = "systemd-coredump: pid " + std::to_string(c.pid) + " uid " + std::to_string(getuid()) +
                     " comm park at " + kTime + "\n";
  EXPECT_NE(r.out.find(line), std::string::npos) << r.out;
}

// The heap is 512 MiB of zeros: memory and disk follow the real content.
TEST(CompressedCore, MemoryAndDiskBoundedByRealContent) {
  const Cores& c = cores();
  ASSERT_GT(c.plain_size, 512u << 20);
  for (const std::string& f : {c.zst, c.lz4, c.xz}) {
    SCOPED_TRACE(f);
    tl_test::Result r = tl_test::run({"/usr/bin/time", "-f", "maxrss %M", tl_test::threadleak_bin(), "-v", "stacks", f});
    ASSERT_EQ(r.status, 0) << r.err;
    std::smatch m;
    ASSERT_TRUE(std::regex_search(r.err, m, std::regex(R"(maxrss (\d+))"))) << r.err;
    std::uint64_t rss = std::stoull(m[1]) * 1024;
    EXPECT_LT(rss, 150u << 20);
    EXPECT_LT(rss, c.plain_size / 4);
    ASSERT_TRUE(std::regex_search(r.err, m, std::regex(R"(([0-9.]+) MiB apparent, ([0-9.]+) MiB written, ([0-9.]+) MiB on disk)"))) << r.err;
    double apparent = std::stod(m[1]), written = std::stod(m[2]), disk = std::stod(m[3]);
    EXPECT_NEAR(apparent * 1048576.0, static_cast<double>(c.plain_size), 1048576.0);
    EXPECT_LT(written * 10, apparent) << "the zero heap must be holes in the temporary file";
    EXPECT_LT(disk * 10, apparent) << "st_blocks of the temporary file";
  }
}

TEST(CompressedCore, TruncatedBeforeTheNotesIsOneLineAndExit2) {
  std::string f = cut_copy(cores().zst, 200, "cut-early.zst");
  tl_test::expect_one_line_error(stacks({f}), f, "compressed core (zstd) is truncated after");
}

// gcore writes the notes last, so a cut gcore core is an error; the kernel
// writes them first, so a cut kernel core still has every thread.
TEST(CompressedCore, TruncatedAfterTheNotesIsAWarningAndAPartialAnswer) {
  tl_test::Zoo z;
  std::string core = tl_test::zoo_kernel_core(z);
  ASSERT_TRUE(fs::exists(core));
  nlohmann::json whole = tl_test::threadleak_json({"stacks", core});
  compress({"zstd", "-q", core, "-o", core + ".zst"});
  compress({"xz", "-q", "-k", "-1", core});
  for (const std::string& from : {core + ".zst", core + ".xz"}) {
    SCOPED_TRACE(from);
    std::string f = cut_copy(from, fs::file_size(from) / 2, "cut-late" + fs::path(from).extension().string());
    nlohmann::json j = tl_test::threadleak_json({"stacks", f});
    ASSERT_FALSE(j.at("warnings").empty());
    std::string w = j.at("warnings")[0];
    EXPECT_NE(w.find("is truncated after"), std::string::npos) << w;
    EXPECT_NE(w.find("MiB of decompressed data; its headers and notes are whole"), std::string::npos) << w;
    EXPECT_EQ(j.at("process").at("total"), whole.at("process").at("total"));
    EXPECT_EQ(j.at("process").at("crash"), whole.at("process").at("crash"));
  }
}

TEST(CompressedCore, CorruptIsOneLineOrAWarningNeverACrash) {
  const Cores& c = cores();
  // The frame header garbled: nothing decodes.
  std::string early = cut_copy(c.zst, fs::file_size(c.zst), "corrupt-early.zst");
  {
    std::fstream io(early, std::ios::in | std::ios::out | std::ios::binary);
    io.seekp(4);
    io.write(std::string(60, '\xff').data(), 60);
  }
  tl_test::expect_one_line_error(stacks({early}), early, "compressed core (zstd) is corrupt");
  // The middle garbled, in each format: a partial answer or one line.
  for (const std::string& from : {c.zst, c.lz4, c.xz}) {
    SCOPED_TRACE(from);
    std::string f = cut_copy(from, fs::file_size(from), "corrupt-mid" + fs::path(from).extension().string());
    {
      std::fstream io(f, std::ios::in | std::ios::out | std::ios::binary);
      io.seekp(static_cast<std::streamoff>(fs::file_size(f) / 2));
      io.write(std::string(4096, '\x5a').data(), 4096);
    }
    tl_test::Result r = stacks({"--json", f});
    if (r.status == 2) {
      tl_test::expect_one_line_error(r, f, "is corrupt");
    } else {
      ASSERT_EQ(r.status, 0) << r.err;
      EXPECT_NE(nlohmann::json::parse(r.out).at("warnings")[0].get<std::string>().find("is corrupt"),
                std::string::npos) << r.out;
    }
  }
}

TEST(CompressedCore, CompressedNonCoreIsOneLine) {
  std::string f = tl_test::temp_dir() + "/notes.zst";
  tl_test::Result r = tl_test::run({"sh", "-c", "echo hello, not a core | zstd -q -o " + f});
  ASSERT_EQ(r.status, 0) << r.err;
  tl_test::expect_one_line_error(stacks({f}), f, "not an ELF core");
}

TEST(CompressedCore, UnwritableTemporaryDirectoryIsOneLine) {
  std::string f = tl_test::temp_dir() + "/small.zst";
  tl_test::Result z = tl_test::run({"sh", "-c", "head -c 64 /bin/true | zstd -q -o " + f});   // an ELF header
  ASSERT_EQ(z.status, 0) << z.err;
  tl_test::Result r = tl_test::run({tl_test::threadleak_bin(), "stacks", f}, 60, {"TMPDIR=/no/such/dir"});
  tl_test::expect_one_line_error(r, f, "cannot create a temporary file in /no/such/dir to decompress the core into");
}
