// Reading a frozen live process's memory through /proc/PID/mem, with a
// small page cache: the goroutine walk touches each g and each frame once,
// mostly a few words per page.
#include <unistd.h>

#include <cstring>
#include <vector>

#include "golang/goroutines.hpp"

namespace threadleak::detail::golang {
namespace {

class ProcMemory : public Memory {
 public:
  explicit ProcMemory(int fd) : fd_(fd), slots_(kSlots), pages_(kSlots * kPage) {}
  std::size_t read(std::uint64_t addr, void* buf, std::size_t len) override {
    auto* out = static_cast<unsigned char*>(buf);
    std::size_t done = 0;
    while (done < len) {
      std::uint64_t a = addr + done;
      std::uint64_t page = a / kPage;
      Slot& s = slots_[page % kSlots];
      unsigned char* data = pages_.data() + (page % kSlots) * kPage;
      if (s.page != page) {
        ssize_t n = ::pread(fd_, data, kPage, static_cast<off_t>(page * kPage));
        s.page = page;
        s.valid = n > 0 ? static_cast<std::size_t>(n) : 0;
      }
      std::size_t in_page = a % kPage;
      if (in_page >= s.valid) break;
      std::size_t n = std::min(len - done, s.valid - in_page);
      std::memcpy(out + done, data + in_page, n);
      done += n;
    }
    return done;
  }

 private:
  static constexpr std::size_t kPage = 4096, kSlots = 1024;
  struct Slot { std::uint64_t page = UINT64_MAX; std::size_t valid = 0; };
  int fd_;
  std::vector<Slot> slots_;
  std::vector<unsigned char> pages_;
};

}  // namespace

std::unique_ptr<Memory> proc_memory(int mem_fd) { return std::make_unique<ProcMemory>(mem_fd); }

}  // namespace threadleak::detail::golang
