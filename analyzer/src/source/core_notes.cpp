#include "source/core_notes.hpp"

#include <elf.h>

#include <cstring>

namespace threadleak::detail {
namespace {

constexpr std::size_t kPrstatusPid = 32;     // pr_pid
constexpr std::size_t kPrstatusUtime = 48;   // pr_utime, then pr_stime (struct timeval each)
constexpr std::size_t kPrstatusCursig = 12;  // pr_cursig (short)
constexpr std::size_t kPrstatusReg = 112;    // pr_reg (struct user_regs_struct)
constexpr std::size_t kPrpsinfoSize = 136;   // x86-64 struct elf_prpsinfo
constexpr std::uint32_t kNtSiginfo = 0x53494749;  // "SIGI"
constexpr std::uint32_t kNtFile = 0x46494c45;     // "FILE"

template <typename T>
T load(std::string_view d, std::size_t off) {
  T v{};
  if (off + sizeof(T) <= d.size()) std::memcpy(&v, d.data() + off, sizeof(T));
  return v;
}

std::string cstr(std::string_view d, std::size_t off, std::size_t max) {
  if (off >= d.size()) return {};
  std::string_view s = d.substr(off, std::min(max, d.size() - off));
  return std::string(s.substr(0, s.find('\0')));
}

// pr_utime + pr_stime in ns; none when either is not a sane timeval.
std::optional<std::uint64_t> prstatus_cpu_ns(std::string_view desc) {
  constexpr std::int64_t kMaxSeconds = std::int64_t{1} << 32;   // 136 years of CPU: no overflow below
  std::uint64_t ns = 0;
  for (std::size_t off : {kPrstatusUtime, kPrstatusUtime + 16}) {
    auto sec = load<std::int64_t>(desc, off);
    auto usec = load<std::int64_t>(desc, off + 8);
    if (sec < 0 || sec > kMaxSeconds || usec < 0 || usec >= 1'000'000) return std::nullopt;
    ns += static_cast<std::uint64_t>(sec) * 1'000'000'000 + static_cast<std::uint64_t>(usec) * 1000;
  }
  return ns;
}

void parse_prstatus(std::string_view desc, CoreNotes& out) {
  if (desc.size() < kPrstatusReg + sizeof(UserRegs)) {
    out.problems.push_back("NT_PRSTATUS note too short (" + std::to_string(desc.size()) + " bytes)");
    return;
  }
  RawThread t;
  t.tid = load<std::int32_t>(desc, kPrstatusPid);
  t.cursig = load<std::int16_t>(desc, kPrstatusCursig);
  t.cpu_ns = prstatus_cpu_ns(desc);
  UserRegs regs;
  std::memcpy(&regs, desc.data() + kPrstatusReg, sizeof regs);
  t.regs = regs;
  out.threads.push_back(std::move(t));
}

void parse_prpsinfo(std::string_view desc, CoreNotes& out) {
  if (desc.size() < kPrpsinfoSize) return;
  out.pid = load<std::int32_t>(desc, 24);
  out.fname = cstr(desc, 40, 16);
  out.psargs = cstr(desc, 56, 80);
}

void parse_siginfo(std::string_view desc, CoreNotes& out) {
  if (out.siginfo_signo || desc.size() < 24) return;
  out.siginfo_signo = load<std::int32_t>(desc, 0);
  int signo = *out.siginfo_signo;
  if (signo == 11 || signo == 7 || signo == 4 || signo == 8)  // SEGV, BUS, ILL, FPE carry si_addr
    out.siginfo_addr = load<std::uint64_t>(desc, 16);
}

void parse_auxv(std::string_view desc, CoreNotes& out) {
  for (std::size_t off = 0; off + 16 <= desc.size(); off += 16) {
    std::uint64_t type = load<std::uint64_t>(desc, off);
    if (type == AT_ENTRY) out.entry = load<std::uint64_t>(desc, off + 8);
    if (type == AT_SYSINFO_EHDR) out.vdso = load<std::uint64_t>(desc, off + 8);
  }
}

void parse_file(std::string_view desc, CoreNotes& out) {
  std::uint64_t count = load<std::uint64_t>(desc, 0);
  std::uint64_t page = load<std::uint64_t>(desc, 8);
  if (desc.size() < 16 || count > (desc.size() - 16) / 24) {
    out.problems.push_back("NT_FILE note malformed");
    return;
  }
  std::size_t names = 16 + count * 24;
  for (std::uint64_t i = 0; i < count && names < desc.size(); ++i) {
    MappedFile f;
    f.start = load<std::uint64_t>(desc, 16 + i * 24);
    f.end = load<std::uint64_t>(desc, 24 + i * 24);
    f.page_offset = load<std::uint64_t>(desc, 32 + i * 24) * page;
    f.path = cstr(desc, names, desc.size() - names);
    names += f.path.size() + 1;
    out.files.push_back(std::move(f));
  }
}

std::size_t align4(std::size_t n) { return (n + 3) & ~std::size_t{3}; }

}  // namespace

void parse_core_notes(std::string_view data, CoreNotes& out) {
  std::size_t off = 0;
  while (off + 12 <= data.size()) {
    auto namesz = load<std::uint32_t>(data, off);
    auto descsz = load<std::uint32_t>(data, off + 4);
    auto type = load<std::uint32_t>(data, off + 8);
    std::size_t desc_off = off + 12 + align4(namesz);
    if (namesz > data.size() || descsz > data.size() || desc_off + descsz > data.size()) {
      out.problems.push_back("a note runs past the end of its segment");
      return;
    }
    std::string_view name = data.substr(off + 12, namesz);
    std::string_view desc = data.substr(desc_off, descsz);
    if (name == std::string_view("GDB\0", 4)) out.gdb_notes = true;
    if (name.starts_with("CORE")) {
      switch (type) {
        case NT_PRSTATUS: parse_prstatus(desc, out); break;
        case NT_PRPSINFO: parse_prpsinfo(desc, out); break;
        case NT_AUXV: parse_auxv(desc, out); break;
        case kNtSiginfo: parse_siginfo(desc, out); break;
        case kNtFile: parse_file(desc, out); break;
        default: break;
      }
    }
    off = desc_off + align4(descsz);
  }
}

namespace {

CoreNotes module_notes_only(std::string_view data) {
  CoreNotes n;
  parse_core_notes(data, n);
  CoreNotes out;
  out.entry = n.entry;
  out.vdso = n.vdso;
  out.files = std::move(n.files);
  return out;
}

}  // namespace

std::size_t whole_notes(std::string_view data, bool at_segment_end) {
  std::size_t off = 0;
  while (off + 12 <= data.size()) {
    auto namesz = load<std::uint32_t>(data, off);
    auto descsz = load<std::uint32_t>(data, off + 4);
    if (namesz > data.size() || descsz > data.size()) break;
    std::size_t desc_end = off + 12 + align4(namesz) + descsz;
    if (at_segment_end && desc_end == data.size()) return desc_end;   // the last note need not be padded
    std::size_t end = off + 12 + align4(namesz) + align4(descsz);
    if (end > data.size()) break;
    off = end;
  }
  return off;
}

std::optional<CoreNotes> find_module_notes(std::string_view head, std::string_view tail, std::uint64_t tail_at) {
  CoreNotes h = module_notes_only(head.substr(0, whole_notes(head, false)));
  if (!h.files.empty()) return h;
  constexpr std::string_view kCore("CORE\0", 5);
  // The first aligned "CORE" header from which whole notes run exactly to the end.
  for (std::size_t off = (4 - tail_at % 4) % 4; off + 12 + 8 <= tail.size(); off += 4) {
    if (load<std::uint32_t>(tail, off) != 5 || tail.substr(off + 12, 5) != kCore) continue;
    std::string_view rest = tail.substr(off);
    if (whole_notes(rest, true) != rest.size()) continue;
    CoreNotes t = module_notes_only(rest);
    return t.files.empty() ? std::nullopt : std::optional<CoreNotes>(std::move(t));
  }
  return std::nullopt;
}

bool same_modules(const CoreNotes& a, const CoreNotes& b) {
  return a.entry == b.entry && a.vdso == b.vdso && a.files == b.files;
}

}  // namespace threadleak::detail
