// The one reader of a target's memory, whichever source captured it.
//
// Every source states where each range of the target's addresses lies in a
// backing store, as a table of segments:
//   - a core file: its PT_LOAD segments, the bytes in the core file
//     (core_memory.hpp);
//   - a running or stopped process: /proc/PID/mem, where the file offset is
//     the address (PagedMemory::of_process), whether threadleak opened it or
//     a debugger handed the descriptor down;
//   - a frozen process's copies: the stacks and lock words copied while it
//     was stopped (CopiedMemory).
// The bounds rules live in SegmentTable, once: a read stops at the first
// byte no segment holds or whose segment has no bytes there (not dumped, or
// cut off by a truncated core); it never wraps past 2^64 and never reaches
// past a segment's end, whatever addr and len are; a short read is a short
// count, never an error. Reads from a descriptor go through one page cache
// (PagedMemory) and one pread loop (pread_full: EINTR, short reads, offsets
// beyond off_t). Copies need no cache: they are already in memory.
//
//   PagedMemory mem(core_fd, {{.vaddr = 0x1000, .memsz = 0x2000, .offset = 4096, .filesz = 0x2000}});
//   std::uint64_t word;
//   bool ok = mem.read(0x1ff8, &word, 8) == 8;   // file bytes 8184..8191
//
// Threads: a reader is used by one thread at a time (its cache is not
// locked); another thread takes another_reader(). Today every read of a
// Target's memory happens on the thread that captures it, but for the
// second half of unwind_all's fast path on a core, which reads through a
// reader of its own: unwind_all (fast path and libdwfl's memory_read callback),
// module discovery, the Go readers and the hang readers. The threads that
// run beside it do not read memory: SymbolPreload's worker reads the modules'
// files (a core's vdso from the image copied out before it starts; a live
// process's, libdwfl reads itself), in_two_halves' second half only
// symbolizes from the cache and classifies, and live_process's
// second tracer copies stacks with pread_full on the shared descriptor
// (pread keeps no file position, so two threads may share one). Two captures
// running side by side (diff) each have their own Target and reader.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "target.hpp"

namespace threadleak::detail {

// One range of target addresses and where its bytes are: memsz bytes from
// vaddr, of which the first filesz are in the backing store from offset on
// (the rest, e.g. a segment the core did not dump, cannot be read).
struct Segment {
  std::uint64_t vaddr = 0, memsz = 0;    // in the target
  std::uint64_t offset = 0, filesz = 0;  // in the backing store
};

// Reads up to len bytes at offset from fd into buf, retrying on EINTR and
// after short reads; stops at end of file or an error (e.g. EIO on an
// unmapped page of /proc/PID/mem). Returns the bytes read; 0 for an offset
// pread cannot take (2^63 and above).
std::size_t pread_full(int fd, void* buf, std::size_t len, std::uint64_t offset);

// Segments sorted by address, made safe to read with: ends that would wrap
// past 2^64 are cut, filesz is at most memsz, and a backing range never
// passes kMaxOffset (what pread can address). Overlapping segments are kept;
// an address is looked up in the one that starts last at or below it.
class SegmentTable {
 public:
  static constexpr std::uint64_t kMaxOffset = std::uint64_t{1} << 63;

  explicit SegmentTable(std::vector<Segment> segments);
  const std::vector<Segment>& segments() const { return segments_; }

  // Copies up to len bytes at addr into buf, one segment at a time: for
  // each, calls fetch(segment, rel, out, n), which must copy n bytes of the
  // segment's backing from rel (relative to segment.offset) on to out and
  // return how many it copied. Stops at the first byte no segment's file
  // part holds, or at a short fetch. Returns the bytes copied.
  template <class Fetch>
  std::size_t read(std::uint64_t addr, void* buf, std::size_t len, Fetch&& fetch) const {
    auto* out = static_cast<unsigned char*>(buf);
    std::size_t done = 0;
    while (done < len) {
      // No wrap: a segment ends at most at 2^64 - 1, and done never takes
      // the address past the end of the segment it read from.
      const Segment* s = find(addr + done);
      if (!s) break;
      std::uint64_t rel = addr + done - s->vaddr;
      if (rel >= s->filesz) break;
      std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(len - done, s->filesz - rel));
      std::size_t got = fetch(*s, rel, out + done, want);
      done += got;
      if (got < want) break;
    }
    return done;
  }

 private:
  const Segment* find(std::uint64_t addr) const;
  std::vector<Segment> segments_;
  mutable std::size_t last_ = SIZE_MAX;   // index of the last segment find() gave (one thread at a time)
};

// Memory read from a descriptor through a table of segments and a small
// direct-mapped page cache: each read touches only the pages it asks for,
// so the cost does not grow with the size of the core or the heap. A page
// that could not be read (EIO, past the end of a truncated core) is
// remembered as such.
class PagedMemory : public Memory {
 public:
  // `fd` must outlive this object; `segments` need not be sorted.
  PagedMemory(int fd, std::vector<Segment> segments);
  // A process's memory through a descriptor of its /proc/PID/mem (owned by
  // the caller, which keeps it open while this object lives).
  static std::unique_ptr<PagedMemory> of_process(int mem_fd);

  std::size_t read(std::uint64_t addr, void* buf, std::size_t len) override;
  // Straight from the descriptor, exactly len bytes: no page copied whole.
  std::size_t read_once(std::uint64_t addr, void* buf, std::size_t len) override;
  // The same descriptor and segments (pread keeps no file position).
  std::unique_ptr<Memory> another_reader() const override {
    return std::make_unique<PagedMemory>(fd_, table_.segments());
  }
  const std::vector<Segment>& segments() const { return table_.segments(); }

 private:
  static constexpr std::size_t kPage = 4096, kSlots = 512;   // 2 MiB, touched lazily
  struct Slot { std::uint64_t page = UINT64_MAX; std::size_t valid = 0; };
  std::size_t read_file(std::uint64_t off, unsigned char* out, std::size_t len);

  int fd_;
  SegmentTable table_;
  std::vector<Slot> slots_;
  // Page-aligned: a 4 KiB read lands in one page of ours, not two (the
  // kernel copies into it ~10,000 times at 10,000 threads).
  struct AlignedFree { void operator()(unsigned char* p) const { ::operator delete[](p, std::align_val_t(kPage)); } };
  std::unique_ptr<unsigned char[], AlignedFree> pages_;
};

// Byte ranges copied out of the target while it was stopped, read by
// address. Not a page source of PagedMemory: the bytes are already in our
// memory, a cache would only copy them a second time, so a read is a table
// lookup and a memcpy, under the same bounds rules.
class CopiedMemory : public Memory {
 public:
  struct Copy {
    std::uint64_t start = 0;   // target address of bytes[0]
    std::string bytes;
  };
  explicit CopiedMemory(std::vector<Copy> copies);
  std::size_t read(std::uint64_t addr, void* buf, std::size_t len) override;
  // All the bytes held.
  std::size_t size() const;

 private:
  std::vector<Copy> copies_;
  SegmentTable table_;   // offset: the index of the copy in copies_
};

}  // namespace threadleak::detail
