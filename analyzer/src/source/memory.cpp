#include "source/memory.hpp"
#include "util.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace threadleak::detail {

std::size_t pread_full(int fd, void* buf, std::size_t len, std::uint64_t offset) {
  if (offset >= SegmentTable::kMaxOffset) return 0;
  len = static_cast<std::size_t>(std::min<std::uint64_t>(len, SegmentTable::kMaxOffset - offset));
  auto* out = static_cast<unsigned char*>(buf);
  std::size_t done = 0;
  while (done < len) {
    ssize_t n = ::pread(fd, out + done, len - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    done += static_cast<std::size_t>(n);
  }
  return done;
}

namespace {

// The bounds rules (memory.hpp): no end past 2^64 - 1, no file part longer
// than the segment, no backing byte at or past kMaxOffset.
Segment made_safe(Segment s) {
  s.memsz = std::min(s.memsz, UINT64_MAX - s.vaddr);
  s.filesz = std::min(s.filesz, s.memsz);
  s.filesz = s.offset < SegmentTable::kMaxOffset ? std::min(s.filesz, SegmentTable::kMaxOffset - s.offset) : 0;
  return s;
}

}  // namespace

SegmentTable::SegmentTable(std::vector<Segment> segments) : segments_(std::move(segments)) {
  for (Segment& s : segments_) s = made_safe(s);
  std::erase_if(segments_, [](const Segment& s) { return s.memsz == 0; });
  std::sort(segments_.begin(), segments_.end(), [](const Segment& a, const Segment& b) { return a.vaddr < b.vaddr; });
}

// The segment that starts last at or below addr, if it holds addr. Reads
// come in runs on one segment (a thread's stack, word by word), so the last
// answer is tried first; it is taken only where the search would give it
// too (no later segment starts at or below addr).
const Segment* SegmentTable::find(std::uint64_t addr) const {
  const std::size_t n = segments_.size();
  if (last_ < n) {
    const Segment& s = segments_[last_];
    if (addr - s.vaddr < s.memsz && (last_ + 1 == n || segments_[last_ + 1].vaddr > addr)) return &s;
  }
  const Segment* it = range_holding(segments_, addr, &Segment::vaddr,
                                    [](const Segment& s) {   // saturating: a hostile core may wrap
                                      return s.memsz > ~s.vaddr ? ~std::uint64_t{0} : s.vaddr + s.memsz;
                                    });
  if (it) last_ = static_cast<std::size_t>(it - segments_.data());
  return it;
}

PagedMemory::PagedMemory(int fd, std::vector<Segment> segments)
    : fd_(fd), table_(std::move(segments)), slots_(kSlots),
      pages_(new (std::align_val_t(kPage)) unsigned char[kSlots * kPage]) {}

std::unique_ptr<PagedMemory> PagedMemory::of_process(int mem_fd) {
  // The file offset is the address, for every address pread can take.
  return std::make_unique<PagedMemory>(
      mem_fd, std::vector<Segment>{{0, SegmentTable::kMaxOffset, 0, SegmentTable::kMaxOffset}});
}

std::size_t PagedMemory::read(std::uint64_t addr, void* buf, std::size_t len) {
  return table_.read(addr, buf, len, [this](const Segment& s, std::uint64_t rel, unsigned char* out, std::size_t n) {
    return read_file(s.offset + rel, out, n);
  });
}

std::size_t PagedMemory::read_once(std::uint64_t addr, void* buf, std::size_t len) {
  return table_.read(addr, buf, len, [this](const Segment& s, std::uint64_t rel, unsigned char* out, std::size_t n) {
    return pread_full(fd_, out, n, s.offset + rel);
  });
}

// Reads backing bytes through the page cache. `off + len` is below
// kMaxOffset (SegmentTable), so every page's offset fits pread's off_t.
std::size_t PagedMemory::read_file(std::uint64_t off, unsigned char* out, std::size_t len) {
  std::size_t done = 0;
  while (done < len) {
    std::uint64_t page = (off + done) / kPage;
    std::size_t in_page = (off + done) % kPage;
    Slot& slot = slots_[page % kSlots];
    unsigned char* data = &pages_[(page % kSlots) * kPage];
    if (slot.page != page) {
      slot.page = page;
      slot.valid = pread_full(fd_, data, kPage, page * kPage);
    }
    if (in_page >= slot.valid) break;
    std::size_t n = std::min(len - done, slot.valid - in_page);
    std::memcpy(out + done, data + in_page, n);
    done += n;
  }
  return done;
}

namespace {

std::vector<Segment> segments_of(const std::vector<CopiedMemory::Copy>& copies) {
  std::vector<Segment> out;
  out.reserve(copies.size());
  for (std::size_t i = 0; i < copies.size(); ++i)
    out.push_back({copies[i].start, copies[i].bytes.size(), i, copies[i].bytes.size()});
  return out;
}

}  // namespace

CopiedMemory::CopiedMemory(std::vector<Copy> copies)
    : copies_(std::move(copies)), table_(segments_of(copies_)) {}

std::size_t CopiedMemory::read(std::uint64_t addr, void* buf, std::size_t len) {
  return table_.read(addr, buf, len, [this](const Segment& s, std::uint64_t rel, unsigned char* out, std::size_t n) {
    std::memcpy(out, copies_[s.offset].bytes.data() + rel, n);
    return n;
  });
}

std::size_t CopiedMemory::size() const {
  std::size_t n = 0;
  for (const Copy& c : copies_) n += c.bytes.size();
  return n;
}

}  // namespace threadleak::detail
