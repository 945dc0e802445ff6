// The one memory reader's shared rules (source/memory.hpp) on real inputs:
// a memfd holding a core's bytes behind a segment table, this process's own
// /proc/self/mem, and copied byte ranges. Reads cross pages and segments,
// stop where no segment has file bytes, never wrap past 2^64, and read a
// short file short.
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "source/memory.hpp"
#include "util.hpp"

using namespace threadleak::detail;

namespace {

constexpr std::uint64_t kPage = 4096;

// A memfd holding `size` bytes, byte i being pattern(i).
unsigned char pattern(std::uint64_t i) { return static_cast<unsigned char>(i * 7 + i / 4096); }

Fd memfd_with(std::size_t size) {
  Fd fd(memfd_create("threadleak-memory-test", MFD_CLOEXEC));
  std::string bytes(size, '\0');
  for (std::size_t i = 0; i < size; ++i) bytes[i] = static_cast<char>(pattern(i));
  if (fd && size > 0 && write(fd.get(), bytes.data(), bytes.size()) != static_cast<ssize_t>(size)) fd.reset();
  return fd;
}

// The file's bytes [off, off + n).
std::string file_bytes(std::uint64_t off, std::size_t n) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>(pattern(off + i));
  return s;
}

std::string read_str(Memory& mem, std::uint64_t addr, std::size_t len) {
  std::string out(len, '\0');
  out.resize(mem.read(addr, out.data(), len));
  return out;
}

}  // namespace

TEST(PagedMemory, ReadsAcrossPagesAndAdjacentSegments) {
  Fd fd = memfd_with(4 * kPage);
  ASSERT_TRUE(fd);
  // A: 6 KiB from file offset 0; B: right after A in memory, from offset 8 KiB.
  PagedMemory mem(fd.get(), {{0x11800, 0x1000, 0x2000, 0x1000}, {0x10000, 0x1800, 0, 0x1800}});
  EXPECT_EQ(read_str(mem, 0x10ff0, 32), file_bytes(0xff0, 32));                 // a page boundary
  EXPECT_EQ(read_str(mem, 0x117f0, 32), file_bytes(0x17f0, 16) + file_bytes(0x2000, 16));  // A into B
  EXPECT_EQ(read_str(mem, 0x10000, 0x2800), file_bytes(0, 0x1800) + file_bytes(0x2000, 0x1000));
  EXPECT_EQ(read_str(mem, 0x127f8, 16), file_bytes(0x2ff8, 8));                 // B's end: short
  EXPECT_EQ(read_str(mem, 0x12800, 8), "");                                      // past every segment
  EXPECT_EQ(read_str(mem, 0xfff8, 16), "");                                      // starts before any
}

TEST(PagedMemory, StopsWhereTheSegmentHasNoFileBytes) {
  Fd fd = memfd_with(2 * kPage);
  ASSERT_TRUE(fd);
  // memsz 8 KiB, only the first 4 KiB in the file (a segment not dumped in
  // full); then a hole, then a segment with no file bytes at all.
  PagedMemory mem(fd.get(), {{0x1000, 0x2000, 0, 0x1000}, {0x4000, 0x1000, 0x1000, 0}});
  EXPECT_EQ(read_str(mem, 0x1ff0, 32), file_bytes(0xff0, 16));
  EXPECT_EQ(read_str(mem, 0x2000, 8), "");
  EXPECT_EQ(read_str(mem, 0x3000, 8), "");
  EXPECT_EQ(read_str(mem, 0x4000, 8), "");
}

TEST(PagedMemory, AShortFileReadsShortNotZeros) {
  // A truncated core whose segment table was not clipped: the segment says
  // 12 KiB, the file holds 8 KiB + 256 bytes of it.
  Fd fd = memfd_with(2 * kPage + 256);
  ASSERT_TRUE(fd);
  PagedMemory mem(fd.get(), {{0x40000, 0x3000, 0, 0x3000}});
  EXPECT_EQ(read_str(mem, 0x40000, 0x3000), file_bytes(0, 2 * kPage + 256));
  EXPECT_EQ(read_str(mem, 0x420f8, 16), file_bytes(0x20f8, 8));
  EXPECT_EQ(read_str(mem, 0x42100, 16), "");
  EXPECT_EQ(read_str(mem, 0x42f00, 16), "");
  EXPECT_EQ(pread_full(fd.get(), std::string(100, '\0').data(), 100, 2 * kPage + 200), 56u);
}

TEST(PagedMemory, NeverWrapsPast2To64) {
  Fd fd = memfd_with(2 * kPage);
  ASSERT_TRUE(fd);
  // The last page of the address space: its last byte cannot be held (a
  // segment's end must fit in 64 bits), the rest reads.
  PagedMemory mem(fd.get(), {{UINT64_MAX - kPage + 1, kPage, 0, kPage}, {0, 0x100, kPage, 0x100}});
  EXPECT_EQ(read_str(mem, UINT64_MAX - 7, 16), file_bytes(kPage - 8, 7));
  EXPECT_EQ(read_str(mem, UINT64_MAX, 8), "");
  std::string buf(0x200, '\0');
  // A huge len stops at the end of what the segments hold.
  EXPECT_EQ(mem.read(0, buf.data(), SIZE_MAX), 0x100u);
  EXPECT_EQ(buf.substr(0, 0x100), file_bytes(kPage, 0x100));
  EXPECT_EQ(mem.read(UINT64_MAX - 3, buf.data(), SIZE_MAX), 3u);
}

TEST(PagedMemory, BackingOffsetsStayWithinPreadsReach) {
  Fd fd = memfd_with(kPage);
  ASSERT_TRUE(fd);
  PagedMemory mem(fd.get(), {{0x1000, 0x1000, SegmentTable::kMaxOffset - 16, 0x1000},
                             {0x3000, 0x1000, SegmentTable::kMaxOffset, 0x1000},
                             {0x5000, 0x1000, UINT64_MAX - 8, 0x1000}});
  EXPECT_EQ(read_str(mem, 0x1000, 64), "");   // past the file's end
  EXPECT_EQ(read_str(mem, 0x3000, 64), "");
  EXPECT_EQ(read_str(mem, 0x5000, 64), "");
  std::string buf(16, '\0');
  EXPECT_EQ(pread_full(fd.get(), buf.data(), buf.size(), SegmentTable::kMaxOffset), 0u);
  EXPECT_EQ(pread_full(fd.get(), buf.data(), buf.size(), UINT64_MAX), 0u);
}

TEST(PagedMemory, PagesThatShareACacheSlotReadTheirOwnBytes) {
  // More pages than the cache has slots (512): pages 0, 512 and 1024 share one.
  const std::size_t pages = 1100;
  Fd fd = memfd_with(pages * kPage);
  ASSERT_TRUE(fd);
  PagedMemory mem(fd.get(), {{0x100000, pages * kPage, 0, pages * kPage}});
  for (std::uint64_t p : {0, 1024, 0, 512, 1, 1025, 513, 1024, 1098, 75})
    EXPECT_EQ(read_str(mem, 0x100000 + p * kPage + 4090, 12), file_bytes(p * kPage + 4090, 12)) << "page " << p;
}

TEST(PagedMemory, OverlappingSegmentsLookUpTheOneStartingLast) {
  Fd fd = memfd_with(4 * kPage);
  ASSERT_TRUE(fd);
  // B lies inside A: an address is looked up in the segment that starts
  // last at or below it, whatever was read just before.
  PagedMemory mem(fd.get(), {{0x10000, 0x3000, 0, 0x3000}, {0x11000, 0x800, 0x3000, 0x800}});
  for (int round = 0; round < 2; ++round) {
    EXPECT_EQ(read_str(mem, 0x10ff8, 8), file_bytes(0xff8, 8));
    EXPECT_EQ(read_str(mem, 0x11000, 8), file_bytes(0x3000, 8));
    EXPECT_EQ(read_str(mem, 0x11800, 8), "");   // in A, hidden by B
    EXPECT_EQ(read_str(mem, 0x10010, 8), file_bytes(0x10, 8));
  }
}

TEST(PagedMemory, OfProcessReadsThisProcessAndStopsAtAnUnmappedPage) {
  Fd fd(open("/proc/self/mem", O_RDONLY | O_CLOEXEC));
  ASSERT_TRUE(fd);
  long page = sysconf(_SC_PAGESIZE);
  ASSERT_EQ(page, 4096);
  void* map = mmap(nullptr, 2 * kPage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(map, MAP_FAILED);
  auto* bytes = static_cast<unsigned char*>(map);
  for (std::size_t i = 0; i < kPage; ++i) bytes[i] = pattern(i);
  // Unmapped, not PROT_NONE: /proc/PID/mem reads through PROT_NONE (FOLL_FORCE).
  ASSERT_EQ(munmap(bytes + kPage, kPage), 0);
  auto mem = PagedMemory::of_process(fd.get());
  auto at = reinterpret_cast<std::uint64_t>(map);
  EXPECT_EQ(read_str(*mem, at + 100, 64), file_bytes(100, 64));
  EXPECT_EQ(read_str(*mem, at + kPage - 8, 16), file_bytes(kPage - 8, 8));   // then unmapped
  EXPECT_EQ(read_str(*mem, at + kPage, 8), "");
  EXPECT_EQ(read_str(*mem, 0, 8), "");                                       // unmapped
  EXPECT_EQ(read_str(*mem, std::uint64_t{1} << 63, 8), "");                  // beyond off_t
  EXPECT_EQ(read_str(*mem, UINT64_MAX - 3, 8), "");
  munmap(map, kPage);
}

TEST(CopiedMemory, ReadsCopiesByAddressUnderTheSameRules) {
  std::vector<CopiedMemory::Copy> copies = {
      {0x3000, std::string(16, 'c')},
      {0x1000, std::string(16, 'a')},
      {0x1010, std::string(8, 'b')},            // right after a: one read runs on
      {0x2000, ""},                             // empty: holds nothing
      {UINT64_MAX - 3, std::string(4, 'z')},   // the last byte cannot be held
  };
  CopiedMemory mem(std::move(copies));
  EXPECT_EQ(mem.size(), 16u + 16 + 8 + 4);
  EXPECT_EQ(read_str(mem, 0x1008, 64), std::string(8, 'a') + std::string(8, 'b'));
  EXPECT_EQ(read_str(mem, 0x3004, 4), "cccc");
  EXPECT_EQ(read_str(mem, 0x2000, 4), "");
  EXPECT_EQ(read_str(mem, 0x0fff, 4), "");
  EXPECT_EQ(read_str(mem, 0x3010, 4), "");
  EXPECT_EQ(read_str(mem, UINT64_MAX - 3, 8), "zzz");
  EXPECT_EQ(read_str(mem, UINT64_MAX, 8), "");
  std::string buf(64, '\0');
  EXPECT_EQ(mem.read(0x1000, buf.data(), SIZE_MAX), 24u);
}
