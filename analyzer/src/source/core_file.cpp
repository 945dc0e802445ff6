// Source: an x86-64 Linux core file (from gcore or the kernel).
//
// The core is opened with ELF_C_READ (ELF_C_READ_MMAP makes
// dwfl_core_file_report probe every segment: seconds at 10,000 threads),
// notes are parsed once by us, and memory is served from a sorted segment
// table with pread (see core_memory.hpp) rather than libdwfl's stock core
// callbacks, whose reads go through a list that grows with every read.
#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <ctime>

#include <fmt/format.h>

#include <elfutils/libdwelf.h>

#include "source/compressed_core.hpp"
#include "source/core_memory.hpp"
#include "source/core_modules.hpp"
#include "source/core_notes.hpp"
#include "source/proc_facts.hpp"
#include "target.hpp"

namespace threadleak::detail {
namespace {

constexpr std::uint64_t kMaxNoteBytes = 1ull << 30;  // 1 GiB of notes ~ 300,000 threads

[[noreturn]] void fail(const std::string& path, const std::string& what) {
  throw Error(path + ": " + what);
}

Fd open_input(const std::string& path, struct stat& st) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) fail(path, errno_text(errno));
  if (::fstat(fd.get(), &st) != 0) fail(path, errno_text(errno));
  if (S_ISDIR(st.st_mode)) fail(path, "is a directory, not a core file");
  if (!S_ISREG(st.st_mode)) fail(path, "is not a regular file");
  return fd;
}

const char* elf_type_name(unsigned type) {
  switch (type) {
    case ET_EXEC: return "an executable";
    case ET_DYN: return "a shared object or PIE executable";
    case ET_REL: return "an object file";
    default: return "an ELF file of another type";
  }
}

// Reads len bytes at off into buf (fewer only at the end of the file).
std::size_t read_into(const std::string& path, int fd, std::uint64_t off, char* buf, std::size_t len) {
  std::size_t done = 0;
  while (done < len) {
    ssize_t n = ::pread(fd, buf + done, len - done, static_cast<off_t>(off + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail(path, "read error: " + errno_text(errno));
    if (n == 0) break;
    done += static_cast<std::size_t>(n);
  }
  return done;
}

// The core's ELF header and program headers, read and checked by us:
// libelf's elf_begin would also load the section headers, which gdb's
// gcore writes one per segment (20,000 at 10,000 threads: ~4 ms).
struct CoreHeaders {
  Elf64_Ehdr eh{};
  std::vector<Elf64_Phdr> ph;
};

CoreHeaders read_core_headers(const std::string& path, int fd, std::uint64_t file_size) {
  CoreHeaders h;
  if (read_into(path, fd, 0, reinterpret_cast<char*>(&h.eh), sizeof h.eh) < EI_NIDENT ||
      std::memcmp(h.eh.e_ident, ELFMAG, SELFMAG) != 0)
    fail(path, "not an ELF core file (nor a threadleak snapshot)");
  if (file_size < sizeof h.eh) fail(path, "truncated: the ELF header is cut off");
  if (h.eh.e_type != ET_CORE)
    fail(path, std::string("is ") + elf_type_name(h.eh.e_type) +
                   ", not a core dump (pass a program with --exe, and a core or --pid to inspect)");
  if (h.eh.e_machine != EM_X86_64 || h.eh.e_ident[EI_CLASS] != ELFCLASS64 || h.eh.e_ident[EI_DATA] != ELFDATA2LSB)
    fail(path, "core of an unsupported architecture (threadleak reads x86-64 cores)");
  if (h.eh.e_phentsize != sizeof(Elf64_Phdr)) fail(path, "unreadable program headers: unexpected entry size");
  std::uint64_t phnum = h.eh.e_phnum;
  if (phnum == PN_XNUM) {   // more than 65,534 segments: the count is in section 0's sh_info
    Elf64_Shdr sh0{};
    if (read_into(path, fd, h.eh.e_shoff, reinterpret_cast<char*>(&sh0), sizeof sh0) != sizeof sh0)
      fail(path, "truncated: section header 0 (the segment count) is cut off");
    phnum = sh0.sh_info;
  }
  std::uint64_t bytes = phnum * sizeof(Elf64_Phdr);
  if (h.eh.e_phoff > file_size || bytes > file_size - h.eh.e_phoff) fail(path, "truncated: program headers cut off");
  h.ph.resize(static_cast<std::size_t>(phnum));
  if (read_into(path, fd, h.eh.e_phoff, reinterpret_cast<char*>(h.ph.data()), bytes) != bytes)
    fail(path, "truncated: program headers cut off");
  return h;
}

// The Elf handed to dwfl_attach_state, which only picks the architecture's
// unwinder from it: an x86-64 ELF header and nothing else.
ElfPtr backend_elf() {
  static const Elf64_Ehdr image = [] {
    Elf64_Ehdr eh{};
    std::memcpy(eh.e_ident, ELFMAG, SELFMAG);
    eh.e_ident[EI_CLASS] = ELFCLASS64;
    eh.e_ident[EI_DATA] = ELFDATA2LSB;
    eh.e_ident[EI_VERSION] = EV_CURRENT;
    eh.e_type = ET_CORE;
    eh.e_machine = EM_X86_64;
    eh.e_version = EV_CURRENT;
    eh.e_ehsize = sizeof(Elf64_Ehdr);
    return eh;
  }();
  // libelf only reads the image (ELF_C_READ_MMAP semantics).
  return ElfPtr(elf_memory(reinterpret_cast<char*>(const_cast<Elf64_Ehdr*>(&image)), sizeof image));
}

// Parses a PT_NOTE segment in chunks through one reused buffer: a
// 10,000-thread core has ~35 MB of notes, mostly registers we skip
// (FPREGSET, XSTATE), and holding them whole cost page faults and RSS.
void parse_note_segment(const std::string& path, int fd, std::uint64_t off, std::uint64_t len,
                        CoreNotes& notes) {
  std::vector<char> buf(std::min<std::uint64_t>(len, 1u << 20));
  std::uint64_t pos = 0;      // segment bytes consumed
  while (pos < len) {
    std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(len - pos, buf.size()));
    std::size_t got = read_into(path, fd, off + pos, buf.data(), want);
    bool last = pos + got >= len || got < want;
    std::string_view chunk(buf.data(), got);
    std::size_t n = last ? got : whole_notes(chunk, false);
    if (n == 0 && !last) {    // one note larger than the buffer: grow it
      buf.resize(static_cast<std::size_t>(std::min<std::uint64_t>(len - pos, 2 * buf.size())));
      continue;
    }
    parse_core_notes(chunk.substr(0, n), notes);
    pos += n;
    if (last) return;
  }
}

struct NoteSegment {
  std::uint64_t offset = 0, size = 0;
};

struct Layout {
  CoreNotes notes;
  std::vector<Segment> segments;
  std::vector<NoteSegment> note_segments;
  std::uint64_t missing_bytes = 0;   // memory cut off by truncation
};

// The program headers: memory segments and where the notes are.
Layout read_segments(const std::string& path, const CoreHeaders& h, std::uint64_t file_size) {
  Layout lay;
  std::uint64_t note_bytes = 0;
  lay.segments.reserve(h.ph.size());
  for (const Elf64_Phdr& ph : h.ph) {
    if (ph.p_type == PT_LOAD) {
      Segment s{ph.p_vaddr, ph.p_memsz, ph.p_offset, ph.p_filesz};
      std::uint64_t avail = ph.p_offset < file_size ? file_size - ph.p_offset : 0;
      if (s.filesz > avail) { lay.missing_bytes += s.filesz - avail; s.filesz = avail; }
      lay.segments.push_back(s);
    } else if (ph.p_type == PT_NOTE) {
      note_bytes += ph.p_filesz;
      if (ph.p_offset + ph.p_filesz > file_size)
        lay.notes.problems.push_back(fmt::format(
            "core is truncated: its notes are cut off at byte {}; threads and modules recorded after "
            "that are missing", file_size));
      if (note_bytes > kMaxNoteBytes) fail(path, "notes larger than 1 GiB: not a plausible core");
      lay.note_segments.push_back({ph.p_offset, ph.p_filesz});
    }
  }
  return lay;
}

void read_notes(const std::string& path, int fd, Layout& lay) {
  std::uint64_t total = 0;
  for (const NoteSegment& n : lay.note_segments) total += n.size;
  // A thread's notes take ~3.5 KB (registers, FPU and XSAVE state): room
  // for all of them up front, instead of moving them as the vector grows.
  lay.notes.threads.reserve(static_cast<std::size_t>(total / 1024) + 1);
  for (const NoteSegment& n : lay.note_segments) parse_note_segment(path, fd, n.offset, n.size, lay.notes);
}

// NT_FILE and NT_AUXV before the whole notes are read (find_module_notes):
// from the first 256 KiB and the last 64 KiB of a single note segment, or
// its last 1 MiB if the module notes are larger than that.
std::optional<CoreNotes> early_module_notes(const std::string& path, int fd, const Layout& lay) {
  if (lay.note_segments.size() != 1) return std::nullopt;
  const NoteSegment& n = lay.note_segments.front();
  std::string head(static_cast<std::size_t>(std::min<std::uint64_t>(n.size, 256 << 10)), '\0');
  head.resize(read_into(path, fd, n.offset, head.data(), head.size()));
  if (head.size() >= n.size) return find_module_notes(head, {}, n.size);   // the head is all of it
  std::optional<CoreNotes> found;
  for (std::uint64_t want : {std::uint64_t{64} << 10, std::uint64_t{1} << 20}) {
    std::uint64_t tail_at = n.size - std::min(n.size, want);
    std::string tail(static_cast<std::size_t>(n.size - tail_at), '\0');
    tail.resize(read_into(path, fd, n.offset + tail_at, tail.data(), tail.size()));
    found = find_module_notes(head, tail, tail_at);
    if (found || tail_at == 0) break;
  }
  return found;
}

bool is_crash_signal(int sig) {
  switch (sig) {
    case SIGQUIT: case SIGILL: case SIGTRAP: case SIGABRT: case SIGBUS: case SIGFPE:
    case SIGSEGV: case SIGXCPU: case SIGXFSZ: case SIGSYS: return true;
    default: return false;
  }
}

std::string signal_name(int sig) {
  const char* abbrev = sigabbrev_np(sig);
  return abbrev ? std::string("SIG") + abbrev : "signal " + std::to_string(sig);
}

// The kernel writes the thread that took the fatal signal first, with
// pr_cursig set; gcore of a healthy process records no such signal.
std::optional<CrashInfo> crash_of(const CoreNotes& n) {
  if (n.threads.empty()) return std::nullopt;
  int sig = n.threads.front().cursig;
  if (!is_crash_signal(sig)) return std::nullopt;
  CrashInfo c;
  c.tid = n.threads.front().tid;
  c.signal = sig;
  c.signal_name = signal_name(sig);
  if (n.siginfo_signo == sig) c.address = n.siginfo_addr;
  return c;
}

// CPU times from NT_PRSTATUS pr_utime + pr_stime (docs/activity.md): the
// kernel's tick-sampled per-thread times, except the main thread's, which
// it fills with the whole process's total (so it is left unknown). gdb's
// gcore (13) writes zeros: no times then; nor when every thread's is zero.
void set_cpu_times(Target& t, const CoreNotes& n) {
  bool any = std::any_of(t.threads.begin(), t.threads.end(),
                         [](const RawThread& th) { return th.cpu_ns.value_or(0) > 0; });
  if (n.gdb_notes || !any) {
    for (RawThread& th : t.threads) th.cpu_ns.reset();
    t.cpu_missing = n.gdb_notes ? "gdb's gcore records no CPU times in a core"
                                : "the core records no CPU times (all are zero)";
    return;
  }
  t.cpu_from = "core-prstatus";
  for (RawThread& th : t.threads)
    if (th.tid == t.pid) th.cpu_ns.reset();
}

std::string executable_of(const CoreNotes& n) {
  for (const auto& f : n.files)
    if (n.entry >= f.start && n.entry < f.end) return f.path;
  return n.files.empty() ? n.fname : n.files.front().path;
}

// Modules from NT_FILE (core_modules.hpp), through `mods` when the early
// notes already found them; a core without that note falls back to
// dwfl_core_file_report, which probes every segment.
void report_modules(Target& t, const Source& src, const CoreNotes& notes,
                    std::shared_ptr<std::vector<CoreModule>> mods) {
  t.dwfl.reset(dwfl_begin(&t.setup->callbacks));
  if (!t.dwfl) fail(t.origin, "dwfl_begin: " + dwfl_error());
  if (!mods) mods = std::make_shared<std::vector<CoreModule>>(find_core_modules(notes, *t.memory, src.exe));
  if (!mods->empty()) {
    report_core_modules(t.dwfl.get(), *mods);
    if (!t.report_modules_again) share_modules(t, mods);
  } else {
    // This one wants the core's own Elf.
    t.elf.reset(elf_begin(t.fd.get(), ELF_C_READ, nullptr));
    if (!t.elf) fail(t.origin, std::string("libelf: ") + elf_errmsg(-1));
    const char* exe = src.exe.empty() ? nullptr : src.exe.c_str();
    int n = dwfl_core_file_report(t.dwfl.get(), t.elf.get(), exe);
    if (n < 0) t.warnings.push_back("could not list the core's modules: " + dwfl_error());
  }
  if (dwfl_report_end(t.dwfl.get(), nullptr, nullptr) != 0)
    fail(t.origin, "dwfl_report_end: " + dwfl_error());
}

// Checks that --exe is an executable; returns its build-id ("" if none).
std::string check_exe(const Source& src) {
  if (src.exe.empty()) return {};
  struct stat st;
  Fd fd = open_input(src.exe, st);
  ElfPtr elf(elf_begin(fd.get(), ELF_C_READ, nullptr));
  GElf_Ehdr eh;
  if (!elf || elf_kind(elf.get()) != ELF_K_ELF || !gelf_getehdr(elf.get(), &eh))
    fail(src.exe, "--exe is not an ELF executable");
  if (eh.e_type == ET_CORE) fail(src.exe, "--exe is a core dump, not an executable");
  const void* id = nullptr;
  ssize_t n = dwelf_elf_gnu_build_id(elf.get(), &id);
  return n > 0 ? hex_bytes(static_cast<const unsigned char*>(id), static_cast<int>(n)) : "";
}

// The build-id the core records for its main executable (the module
// holding AT_ENTRY), "" if unknown.
std::string main_build_id(Dwfl* dwfl, std::uint64_t entry) {
  Dwfl_Module* mod = entry ? dwfl_addrmodule(dwfl, entry) : nullptr;
  const unsigned char* bits = nullptr;
  GElf_Addr vaddr;
  int n = mod ? dwfl_module_build_id(mod, &bits, &vaddr) : 0;
  return n > 0 ? hex_bytes(bits, n) : "";
}

void warn_exe_mismatch(Target& t, const Source& src, const std::string& exe_id) {
  std::string core_id = main_build_id(t.dwfl.get(), t.entry);
  if (src.exe.empty() || exe_id.empty() || core_id.empty() || exe_id == core_id) return;
  t.warnings.push_back("--exe " + src.exe + " does not match the core: its build-id is " + exe_id +
                       ", the core's executable has " + core_id +
                       "; the executable's frames show as module+offset");
}

thread_local CoreOpenStats g_last_open;

}  // namespace

CoreOpenStats last_core_open_stats() { return g_last_open; }

std::unique_ptr<Target> open_core(const Source& src, const StartPreload& start_preload) {
  g_last_open = {};
  elf_version(EV_CURRENT);
  PhaseTimer timer;
  std::string exe_id = check_exe(src);
  auto t = std::make_unique<Target>();
  t->kind = "core";
  t->origin = src.file;
  struct stat st;
  t->fd = open_input(src.file, st);
  decompress_if_compressed(src.file, t->fd, st, t->warnings);   // zstd, lz4, xz: a sparse temporary file
  auto file_size = static_cast<std::uint64_t>(st.st_size);
  Layout lay = read_segments(src.file, read_core_headers(src.file, t->fd.get(), file_size), file_size);
  t->elf = backend_elf();
  if (!t->elf) fail(src.file, std::string("libelf: ") + elf_errmsg(-1));
  t->memory = std::make_unique<CoreMemory>(t->fd.get(), std::move(lay.segments));
  t->setup = std::make_unique<DwflSetup>();
  init_callbacks(*t->setup, src);
  // Loading debug info is the longest single step (libc's: ~60 ms). When
  // the modules can be told from the notes' ends, it starts now, on
  // another thread, while the notes are read.
  std::optional<CoreNotes> early = early_module_notes(src.file, t->fd.get(), lay);
  std::shared_ptr<std::vector<CoreModule>> mods;
  if (early && start_preload) {
    mods = std::make_shared<std::vector<CoreModule>>(find_core_modules(*early, *t->memory, src.exe));
    if (!mods->empty()) {
      t->entry = early->entry;
      share_modules(*t, mods);
      t->preload = start_preload(*t);
      g_last_open.early_modules = true;
      if (log_enabled()) log(fmt::format("{} modules from the notes' ends: debug info loading started", mods->size()));
    }
  }
  timer.mark("core segments and early modules");
  read_notes(src.file, t->fd.get(), lay);
  g_last_open.early_confirmed = t->preload && same_modules(*early, lay.notes);
  if (!g_last_open.early_confirmed) {   // the modules come from the full notes
    if (t->preload) log("the notes' ends did not tell the modules right: loading debug info again");
    t->preload.reset();
    t->report_modules_again = nullptr;
    mods.reset();
  }
  if (lay.notes.threads.empty())
    fail(src.file, "truncated or damaged: no thread found in the core" +
                       (lay.notes.problems.empty() ? std::string() : " (" + lay.notes.problems.front() + ")"));
  for (const auto& p : lay.notes.problems)
    t->warnings.push_back(p.starts_with("core is") ? p : "core notes: " + p);
  if (lay.missing_bytes)
    t->warnings.push_back(fmt::format("core is truncated: {} bytes of memory are missing; "
                                      "stacks there end early", lay.missing_bytes));
  t->pid = lay.notes.pid ? lay.notes.pid : lay.notes.threads.front().tid;
  t->executable = src.exe.empty() ? executable_of(lay.notes) : src.exe;
  if (!t->preload) t->entry = lay.notes.entry;   // else the same, and the worker reads it
  t->captured_at = iso_utc(st.st_mtim);   // a core records no capture time: when it was last written
  t->captured_at_from = "file-mtime";
  t->crash = crash_of(lay.notes);
  t->threads = std::move(lay.notes.threads);
  for (auto& th : t->threads)
    if (th.tid == t->pid) th.name = lay.notes.fname;
  set_cpu_times(*t, lay.notes);
  std::sort(t->threads.begin(), t->threads.end(),
            [](const RawThread& a, const RawThread& b) { return a.tid < b.tid; });
  timer.mark("core notes");
  report_modules(*t, src, lay.notes, mods);
  timer.mark("core modules");
  warn_exe_mismatch(*t, src, exe_id);
  check_modules(t->dwfl.get(), t->warnings);
  return t;
}

}  // namespace threadleak::detail
