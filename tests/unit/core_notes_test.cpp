// Note parsing must survive any bytes: fuzz-like sweeps of truncated and
// corrupted note segments.
#include <elf.h>

#include <cstring>
#include <random>

#include <gtest/gtest.h>

#include "source/core_memory.hpp"
#include "source/core_notes.hpp"

using namespace threadleak::detail;

namespace {

void put_note(std::string& out, std::uint32_t type, const std::string& desc) {
  std::uint32_t hdr[3] = {5, static_cast<std::uint32_t>(desc.size()), type};
  out.append(reinterpret_cast<const char*>(hdr), sizeof hdr);
  out.append("CORE\0\0\0\0", 8);
  out.append(desc);
  out.append((4 - desc.size() % 4) % 4, '\0');
}

std::string prstatus(int tid, std::uint64_t rip, std::uint64_t orig_rax) {
  std::string d(336, '\0');
  std::memcpy(&d[32], &tid, 4);
  UserRegs r{};
  r.rip = rip;
  r.orig_rax = orig_rax;
  std::memcpy(&d[112], &r, sizeof r);
  return d;
}

}  // namespace

TEST(CoreNotes, ParsesThreadsInOrder) {
  std::string seg;
  put_note(seg, NT_PRSTATUS, prstatus(7, 0x1234, 202));
  put_note(seg, NT_PRSTATUS, prstatus(9, 0x5678, static_cast<std::uint64_t>(-1)));
  CoreNotes n;
  parse_core_notes(seg, n);
  ASSERT_EQ(n.threads.size(), 2u);
  EXPECT_EQ(n.threads[0].tid, 7);
  EXPECT_EQ(n.threads[0].regs->rip, 0x1234u);
  EXPECT_EQ(n.threads[0].regs->orig_rax, 202u);
  EXPECT_EQ(n.threads[1].tid, 9);
  EXPECT_TRUE(n.problems.empty());
}

TEST(CoreNotes, SurvivesEveryTruncationAndRandomCorruption) {
  std::string seg;
  put_note(seg, NT_PRSTATUS, prstatus(7, 0x1234, 202));
  std::string file(16 + 24 * 2 + 20, '\0');
  std::uint64_t count = 2, page = 4096;
  std::memcpy(&file[0], &count, 8);
  std::memcpy(&file[8], &page, 8);
  std::memcpy(&file[64], "/a\0/bb", 6);
  put_note(seg, 0x46494c45, file);
  for (std::size_t cut = 0; cut <= seg.size(); ++cut) {
    CoreNotes n;
    parse_core_notes(std::string_view(seg).substr(0, cut), n);
    EXPECT_LE(n.threads.size(), 1u);
  }
  std::mt19937 rng(1);
  for (int i = 0; i < 5000; ++i) {
    std::string bad = seg;
    for (int k = 0; k < 4; ++k) bad[rng() % bad.size()] = static_cast<char>(rng());
    CoreNotes n;
    parse_core_notes(bad, n);
  }
}

TEST(CoreMemory, ReadsAcrossSegmentsAndStopsAtHoles) {
  char path[] = "/tmp/threadleak-mem-XXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  std::string data(3 * 4096, '\0');
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 7);
  ASSERT_EQ(write(fd, data.data(), data.size()), static_cast<ssize_t>(data.size()));
  // Two adjacent segments, then one not dumped (filesz 0).
  CoreMemory mem(fd, {{0x2000, 0x1000, 4096, 4096}, {0x1000, 0x1000, 0, 4096}, {0x3000, 0x1000, 0, 0}});
  std::string out(0x2000, '\0');
  EXPECT_EQ(mem.read(0x1000, out.data(), out.size()), 0x2000u);
  EXPECT_EQ(out.substr(0, 4096), data.substr(0, 4096));
  EXPECT_EQ(out.substr(4096), data.substr(4096, 4096));
  EXPECT_EQ(mem.read(0x2ff8, out.data(), 16), 8u);  // runs into the undumped segment
  EXPECT_EQ(mem.read(0x500, out.data(), 8), 0u);
  EXPECT_EQ(mem.read(UINT64_MAX - 3, out.data(), 8), 0u);
  close(fd);
  unlink(path);
}

namespace {

constexpr std::uint32_t kNtFile = 0x46494c45;

std::string file_note(const std::vector<std::pair<std::uint64_t, std::string>>& files) {
  std::string d;
  auto put64 = [&d](std::uint64_t v) { d.append(reinterpret_cast<const char*>(&v), 8); };
  put64(files.size());
  put64(4096);
  for (const auto& f : files) {
    put64(f.first);
    put64(f.first + 0x1000);
    put64(0);
  }
  for (const auto& f : files) d.append(f.second.c_str(), f.second.size() + 1);
  return d;
}

std::string auxv_note(std::uint64_t entry) {
  std::uint64_t v[] = {AT_ENTRY, entry, AT_SYSINFO_EHDR, 0x7fff0000, AT_NULL, 0};
  return std::string(reinterpret_cast<const char*>(v), sizeof v);
}

// A segment in gcore's order (threads, then AUXV, FILE and a GDB note) or
// the kernel's (first thread, AUXV, FILE, then the other threads).
std::string segment(bool kernel_order, int threads) {
  std::string seg;
  auto modules = [&] {
    put_note(seg, NT_AUXV, auxv_note(0x401000));
    put_note(seg, kNtFile, file_note({{0x400000, "/srv/app"}, {0x7f0000000000, "/lib/libc.so.6"}}));
  };
  if (kernel_order) {
    put_note(seg, NT_PRSTATUS, prstatus(100, 0x1, 0));
    modules();
  }
  for (int i = kernel_order ? 1 : 0; i < threads; ++i) {
    put_note(seg, NT_PRSTATUS, prstatus(100 + i, 0x1, 0));
    put_note(seg, NT_FPREGSET, std::string(512, 'C'));   // "CCCC...": no header in it should fool the search
  }
  if (!kernel_order) {
    modules();
    std::string gdb = std::string(13, 'x');   // odd-sized, unpadded last note
    std::uint32_t hdr[3] = {4, static_cast<std::uint32_t>(gdb.size()), 1};
    seg.append(reinterpret_cast<const char*>(hdr), sizeof hdr);
    seg.append("GDB\0", 4);
    seg.append(gdb);
  }
  return seg;
}

std::optional<CoreNotes> find_in(const std::string& seg, std::size_t head, std::size_t tail) {
  std::size_t tail_at = seg.size() - std::min(seg.size(), tail);
  return find_module_notes(std::string_view(seg).substr(0, head), std::string_view(seg).substr(tail_at), tail_at);
}

}  // namespace

TEST(ModuleNotes, FoundAtTheEndOfAGcoreSegment) {
  std::string seg = segment(false, 200);
  CoreNotes full;
  parse_core_notes(seg, full);
  ASSERT_EQ(full.files.size(), 2u);
  // Tails that cut a note anywhere, at any alignment of the tail's start.
  for (std::size_t tail : {std::size_t{4096}, std::size_t{4097}, std::size_t{4098}, std::size_t{5003}}) {
    auto early = find_in(seg, 1024, tail);
    ASSERT_TRUE(early) << tail;
    EXPECT_TRUE(same_modules(*early, full)) << tail;
    EXPECT_EQ(early->entry, 0x401000u);
    EXPECT_EQ(early->files[1].path, "/lib/libc.so.6");
  }
}

TEST(ModuleNotes, FoundAtTheStartOfAKernelSegment) {
  std::string seg = segment(true, 200);
  CoreNotes full;
  parse_core_notes(seg, full);
  auto early = find_in(seg, 4096, 4096);
  ASSERT_TRUE(early);
  EXPECT_TRUE(same_modules(*early, full));
}

TEST(ModuleNotes, NotFoundIsNothingNotAGuess) {
  // The module notes in the middle: neither end has them.
  std::string seg = segment(true, 1);
  std::string mid;
  for (int i = 0; i < 200; ++i) put_note(mid, NT_PRSTATUS, prstatus(500 + i, 0x1, 0));
  std::string threads_only;
  for (int i = 0; i < 200; ++i) put_note(threads_only, NT_PRSTATUS, prstatus(900 + i, 0x1, 0));
  std::string all = mid + seg + threads_only;
  EXPECT_FALSE(find_in(all, 4096, 4096));
  // A tail that ends in a cut-off note (a truncated core) never chains to its end.
  std::string cut = segment(false, 50);
  cut.resize(cut.size() - 3);
  EXPECT_FALSE(find_in(cut, 1024, 8192));
}

TEST(ModuleNotes, AWrongGuessIsCaughtByTheFullParse) {
  std::string seg = segment(false, 20);
  CoreNotes full;
  parse_core_notes(seg, full);
  auto early = find_in(seg, 1024, 4096);
  ASSERT_TRUE(early);
  CoreNotes other = full;
  other.files[1].path = "/lib/libc.so.7";
  EXPECT_FALSE(same_modules(*early, other));
  other = full;
  other.entry += 1;
  EXPECT_FALSE(same_modules(*early, other));
}

TEST(ModuleNotes, SurvivesEveryTruncation) {
  std::string seg = segment(false, 20);
  for (std::size_t cut = 0; cut < seg.size(); cut += 7) {
    std::string s = seg.substr(0, cut);
    for (std::size_t tail : {std::size_t{0}, std::size_t{100}, std::size_t{4096}}) (void)find_in(s, 512, tail);
  }
}
