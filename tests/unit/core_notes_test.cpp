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
