// Reads a core's memory through a sorted table of its PT_LOAD segments, with
// pread and a small direct-mapped page cache: touches only the pages asked
// for, so the cost does not grow with the size of the core or its heap.
#pragma once

#include <cstdint>
#include <memory>
#include <new>
#include <vector>

#include "target.hpp"

namespace threadleak::detail {

struct Segment {
  std::uint64_t vaddr = 0, memsz = 0;   // in the target
  std::uint64_t offset = 0, filesz = 0; // in the core file (filesz clipped to the file's size)
};

class CoreMemory : public Memory {
 public:
  // `segments` need not be sorted. `fd` must outlive this object.
  CoreMemory(int fd, std::vector<Segment> segments);
  std::size_t read(std::uint64_t addr, void* buf, std::size_t len) override;
  const std::vector<Segment>& segments() const { return segments_; }

 private:
  static constexpr std::size_t kPage = 4096, kSlots = 512;  // 2 MiB cache
  struct Slot { std::uint64_t file_page = UINT64_MAX; std::size_t valid = 0; };
  const Segment* find(std::uint64_t addr) const;
  std::size_t read_file(std::uint64_t off, void* buf, std::size_t len);

  int fd_;
  std::vector<Segment> segments_;
  std::vector<Slot> slots_;
  // Page-aligned: a 4 KiB read lands in one page of ours, not two (the
  // kernel copies into it ~10,000 times at 10,000 threads).
  struct AlignedFree { void operator()(unsigned char* p) const { ::operator delete[](p, std::align_val_t(kPage)); } };
  std::unique_ptr<unsigned char[], AlignedFree> pages_;
};

}  // namespace threadleak::detail
