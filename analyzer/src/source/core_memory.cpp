#include "source/core_memory.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace threadleak::detail {

CoreMemory::CoreMemory(int fd, std::vector<Segment> segments)
    : fd_(fd), segments_(std::move(segments)), slots_(kSlots),
      pages_(new (std::align_val_t(kPage)) unsigned char[kSlots * kPage]) {
  std::sort(segments_.begin(), segments_.end(),
            [](const Segment& a, const Segment& b) { return a.vaddr < b.vaddr; });
}

const Segment* CoreMemory::find(std::uint64_t addr) const {
  auto it = std::upper_bound(segments_.begin(), segments_.end(), addr,
                             [](std::uint64_t a, const Segment& s) { return a < s.vaddr; });
  if (it == segments_.begin()) return nullptr;
  --it;
  return addr - it->vaddr < it->memsz ? &*it : nullptr;
}

// Reads file bytes through the page cache.
std::size_t CoreMemory::read_file(std::uint64_t off, void* buf, std::size_t len) {
  auto* out = static_cast<unsigned char*>(buf);
  std::size_t done = 0;
  while (done < len) {
    std::uint64_t page = (off + done) / kPage;
    std::size_t in_page = (off + done) % kPage;
    Slot& slot = slots_[page % kSlots];
    unsigned char* data = &pages_[(page % kSlots) * kPage];
    if (slot.file_page != page) {
      ssize_t n;
      do n = ::pread(fd_, data, kPage, static_cast<off_t>(page * kPage));
      while (n < 0 && errno == EINTR);
      slot.file_page = page;
      slot.valid = n > 0 ? static_cast<std::size_t>(n) : 0;
    }
    if (in_page >= slot.valid) break;
    std::size_t n = std::min(len - done, slot.valid - in_page);
    std::memcpy(out + done, data + in_page, n);
    done += n;
  }
  return done;
}

std::size_t CoreMemory::read(std::uint64_t addr, void* buf, std::size_t len) {
  auto* out = static_cast<unsigned char*>(buf);
  std::size_t done = 0;
  while (done < len) {
    const Segment* s = find(addr + done);
    if (!s) break;
    std::uint64_t rel = addr + done - s->vaddr;
    if (rel >= s->filesz) break;   // not dumped (or cut off by truncation)
    std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(len - done, s->filesz - rel));
    std::size_t got = read_file(s->offset + rel, out + done, want);
    done += got;
    if (got < want) break;
  }
  return done;
}

}  // namespace threadleak::detail
