#include "source/debug_cache.hpp"

#include <fcntl.h>
#include <gelf.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <system_error>

#include <fmt/format.h>

#include "util.hpp"

namespace threadleak::detail {
namespace fs = std::filesystem;

namespace {

std::string from_env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

// Closes a descriptor and ends an Elf when the scope ends.
struct ElfFile {
  int fd = -1;
  Elf* elf = nullptr;
  ~ElfFile() {
    if (elf) elf_end(elf);
    if (fd >= 0) ::close(fd);
  }
};

// Writes `in` to `out_fd` with every compressed section inflated: the same
// ELF header, program headers and sections, in the same order, laid out
// anew by libelf. False on any libelf failure.
bool write_inflated(Elf* in, int out_fd) {
  GElf_Ehdr eh;
  std::size_t phnum = 0, shstrndx = 0;
  if (!gelf_getehdr(in, &eh) || elf_getphdrnum(in, &phnum) != 0 || elf_getshdrstrndx(in, &shstrndx) != 0 ||
      shstrndx >= SHN_LORESERVE)
    return false;
  Elf* out = elf_begin(out_fd, ELF_C_WRITE, nullptr);
  if (!out) return false;
  bool ok = gelf_newehdr(out, gelf_getclass(in)) != nullptr;
  if (ok && phnum > 0) {
    ok = gelf_newphdr(out, phnum) != nullptr;
    for (std::size_t i = 0; ok && i < phnum; ++i) {
      GElf_Phdr ph;
      ok = gelf_getphdr(in, static_cast<int>(i), &ph) && gelf_update_phdr(out, static_cast<int>(i), &ph);
    }
  }
  for (Elf_Scn* scn = nullptr; ok && (scn = elf_nextscn(in, scn)) != nullptr;) {
    GElf_Shdr sh;
    ok = gelf_getshdr(scn, &sh) != nullptr;
    if (ok && (sh.sh_flags & SHF_COMPRESSED)) ok = elf_compress(scn, 0, 0) >= 0 && gelf_getshdr(scn, &sh);
    Elf_Scn* copy = ok ? elf_newscn(out) : nullptr;
    ok = copy != nullptr;
    for (Elf_Data* d = nullptr; ok && (d = elf_getdata(scn, d)) != nullptr;) {
      Elf_Data* nd = elf_newdata(copy);
      if (!nd) { ok = false; break; }
      nd->d_buf = d->d_buf;
      nd->d_type = d->d_type;
      nd->d_size = d->d_size;
      nd->d_off = d->d_off;
      nd->d_align = d->d_align;
      nd->d_version = d->d_version;
    }
    ok = ok && gelf_update_shdr(copy, &sh);
  }
  if (ok) {
    GElf_Ehdr out_eh;
    ok = gelf_getehdr(out, &out_eh) != nullptr;
    eh.e_phoff = out_eh.e_phoff;   // laid out by libelf
    eh.e_shoff = out_eh.e_shoff;
    ok = ok && gelf_update_ehdr(out, &eh) && elf_update(out, ELF_C_WRITE) >= 0;
  }
  elf_end(out);
  return ok;
}

// Removes the oldest copies until the directory holds at most `limit`
// bytes, sparing `keep`.
void trim(const fs::path& dir, const fs::path& keep, std::uint64_t limit) {
  struct Entry { fs::file_time_type when; std::uint64_t bytes; fs::path path; };
  std::vector<Entry> all;
  std::uint64_t total = 0;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (e.path().extension() != ".debug" || !e.is_regular_file(ec)) continue;
    Entry x{e.last_write_time(ec), e.file_size(ec), e.path()};
    if (ec) continue;
    total += x.bytes;
    all.push_back(std::move(x));
  }
  std::sort(all.begin(), all.end(), [](const Entry& a, const Entry& b) { return a.when < b.when; });
  for (const Entry& x : all) {
    if (total <= limit) break;
    if (x.path == keep) continue;
    if (fs::remove(x.path, ec)) total -= x.bytes;
  }
}

}  // namespace

std::string debug_cache_dir() {
  std::string dir = from_env("THREADLEAK_CACHE_DIR");
  if (dir == "off") return "";
  if (!dir.empty()) return dir;
  if (std::string xdg = from_env("XDG_CACHE_HOME"); !xdg.empty()) return xdg + "/threadleak";
  if (std::string home = from_env("HOME"); !home.empty()) return home + "/.cache/threadleak";
  return "";
}

bool has_compressed_sections(Elf* elf) {
  for (Elf_Scn* scn = nullptr; (scn = elf_nextscn(elf, scn)) != nullptr;) {
    GElf_Shdr sh;
    if (gelf_getshdr(scn, &sh) && (sh.sh_flags & SHF_COMPRESSED) && sh.sh_type != SHT_NOBITS) return true;
  }
  return false;
}

std::optional<std::string> decompressed_copy(const std::string& path, const std::vector<unsigned char>& id) {
  std::string dir = debug_cache_dir();
  if (dir.empty() || id.empty()) return std::nullopt;
  fs::path target = fs::path(dir) / (hex_bytes(id.data(), static_cast<int>(id.size())) + ".debug");
  std::error_code ec;
  if (fs::is_regular_file(target, ec)) return target.string();
  fs::create_directories(dir, ec);
  ElfFile in;
  in.fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  // ELF_C_READ: a private copy in memory, which elf_compress may inflate.
  if (in.fd < 0 || !(in.elf = elf_begin(in.fd, ELF_C_READ, nullptr))) return std::nullopt;
  std::string tmp = target.string() + ".XXXXXX";
  int out = ::mkostemp(tmp.data(), O_CLOEXEC);
  if (out < 0) {
    if (log_enabled()) log(fmt::format("debug cache: cannot write in {}: {}", dir, std::strerror(errno)));
    return std::nullopt;
  }
  ::fchmod(out, 0644);
  bool ok = write_inflated(in.elf, out);
  ok = ::close(out) == 0 && ok;
  // rename() replaces atomically: a capture running beside this one reads
  // the old copy or the new one, never half of one.
  if (!ok || ::rename(tmp.c_str(), target.c_str()) != 0) {
    ::unlink(tmp.c_str());
    if (log_enabled()) log(fmt::format("debug cache: could not write the inflated copy of {}", path));
    return std::nullopt;
  }
  if (log_enabled()) log(fmt::format("debug cache: wrote {} ({} inflated)", target.string(), path));
  trim(dir, target, kDebugCacheBytes);
  return target.string();
}

}  // namespace threadleak::detail
