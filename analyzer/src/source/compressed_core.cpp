// Compressed cores (zstd, lz4 frame, xz), decompressed once into a sparse,
// unlinked temporary file: see compressed_core.hpp and docs/cores.md.
#include "source/compressed_core.hpp"

#include <elf.h>
#include <fcntl.h>
#include <lz4frame.h>
#include <lzma.h>
#include <zstd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <memory>

#include <fmt/format.h>

#include "threadleak/threadleak.hpp"

namespace threadleak::detail {
namespace {

constexpr std::size_t kBlock = 4096;            // the unit of holes
constexpr std::size_t kBuffer = 1 << 20;        // input and output buffers
constexpr std::uint64_t kXzMemLimit = 256ull << 20;

thread_local DecompressStats g_stats;

std::string mib(std::uint64_t bytes) { return fmt::format("{:.1f} MiB", bytes / 1048576.0); }

// A window on a buffer: what is left to read, or left to fill.
struct Span {
  char* p;
  std::size_t n;
};

// One format's streaming decoder. step() consumes from `in` and fills `out`
// (advancing both); false on corrupt data, with the decoder's message in
// error. ended() is true when the data seen so far ends on a whole frame.
class Decoder {
 public:
  virtual ~Decoder() = default;
  virtual bool step(Span& in, Span& out, bool eof) = 0;
  virtual bool ended() const = 0;
  std::string error;
};

class ZstdDecoder final : public Decoder {
 public:
  ZstdDecoder() : ctx_(ZSTD_createDStream()) {
    if (!ctx_) throw Error("zstd: out of memory");
  }
  ~ZstdDecoder() override { ZSTD_freeDStream(ctx_); }
  bool step(Span& in, Span& out, bool) override {
    ZSTD_inBuffer ib{in.p, in.n, 0};
    ZSTD_outBuffer ob{out.p, out.n, 0};
    std::size_t r = ZSTD_decompressStream(ctx_, &ob, &ib);
    if (ZSTD_isError(r)) {
      error = ZSTD_getErrorName(r);
      return false;
    }
    advance(in, ib.pos);
    advance(out, ob.pos);
    if (ib.pos || ob.pos) hint_ = r;
    return true;
  }
  bool ended() const override { return hint_ == 0; }
  static void advance(Span& s, std::size_t k) { s.p += k; s.n -= k; }

 private:
  ZSTD_DStream* ctx_;
  std::size_t hint_ = 1;   // 0 once a frame is whole and nothing is buffered
};

class Lz4Decoder final : public Decoder {
 public:
  Lz4Decoder() {
    if (LZ4F_isError(LZ4F_createDecompressionContext(&ctx_, LZ4F_VERSION))) throw Error("lz4: out of memory");
  }
  ~Lz4Decoder() override { LZ4F_freeDecompressionContext(ctx_); }
  bool step(Span& in, Span& out, bool) override {
    std::size_t src = in.n, dst = out.n;
    std::size_t r = LZ4F_decompress(ctx_, out.p, &dst, in.p, &src, nullptr);
    if (LZ4F_isError(r)) {
      error = LZ4F_getErrorName(r);
      return false;
    }
    ZstdDecoder::advance(in, src);
    ZstdDecoder::advance(out, dst);
    if (src || dst) hint_ = r;
    return true;
  }
  bool ended() const override { return hint_ == 0; }

 private:
  LZ4F_dctx* ctx_ = nullptr;
  std::size_t hint_ = 1;
};

class XzDecoder final : public Decoder {
 public:
  XzDecoder() {
    if (lzma_stream_decoder(&s_, kXzMemLimit, LZMA_CONCATENATED) != LZMA_OK) throw Error("xz: out of memory");
  }
  ~XzDecoder() override { lzma_end(&s_); }
  bool step(Span& in, Span& out, bool eof) override {
    s_.next_in = reinterpret_cast<const std::uint8_t*>(in.p);
    s_.avail_in = in.n;
    s_.next_out = reinterpret_cast<std::uint8_t*>(out.p);
    s_.avail_out = out.n;
    lzma_ret r = lzma_code(&s_, eof ? LZMA_FINISH : LZMA_RUN);
    ZstdDecoder::advance(in, in.n - s_.avail_in);
    ZstdDecoder::advance(out, out.n - s_.avail_out);
    if (r == LZMA_STREAM_END) ended_ = true;
    if (r == LZMA_OK || r == LZMA_STREAM_END || r == LZMA_BUF_ERROR) return true;   // BUF_ERROR: cut short
    error = message(r);
    return false;
  }
  bool ended() const override { return ended_; }

 private:
  static std::string message(lzma_ret r) {
    switch (r) {
      case LZMA_MEMLIMIT_ERROR: return "needs more than 256 MiB of memory to decode";
      case LZMA_FORMAT_ERROR: return "not in the .xz format";
      case LZMA_OPTIONS_ERROR: return "unsupported compression options";
      case LZMA_DATA_ERROR: return "compressed data is corrupt";
      case LZMA_MEM_ERROR: return "out of memory";
      default: return "decoder error " + std::to_string(static_cast<int>(r));
    }
  }
  lzma_stream s_ = LZMA_STREAM_INIT;
  bool ended_ = false;
};

std::unique_ptr<Decoder> make_decoder(Compression c) {
  switch (c) {
    case Compression::zstd: return std::make_unique<ZstdDecoder>();
    case Compression::lz4: return std::make_unique<Lz4Decoder>();
    case Compression::xz: return std::make_unique<XzDecoder>();
    case Compression::none: break;
  }
  return nullptr;
}

std::string temp_dir() {
  const char* env = std::getenv("TMPDIR");
  return env && *env ? env : "/var/tmp";
}

// An unlinked file in dir: O_TMPFILE, or mkstemp + unlink where the file
// system lacks it.
Fd make_temp_file(const std::string& path, const std::string& dir) {
  Fd fd(::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600));
  if (!fd && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)) {
    std::string name = dir + "/threadleak-core-XXXXXX";
    fd = Fd(::mkostemp(name.data(), O_CLOEXEC));
    if (fd) ::unlink(name.c_str());
  }
  if (!fd)
    throw Error(fmt::format("{}: cannot create a temporary file in {} to decompress the core into: {} "
                            "(set TMPDIR to a writable directory)", path, dir, errno_text(errno)));
  return fd;
}

bool all_zero(const char* p, std::size_t n) { return n == 0 || (p[0] == 0 && std::memcmp(p, p + 1, n - 1) == 0); }

// Writes the decompressed stream to the temporary file, skipping 4 KiB
// blocks of zeros (holes), through one buffer whose start is always
// block-aligned in the file.
class SparseSink {
 public:
  SparseSink(const std::string& path, std::string dir, int fd)
      : path_(path), dir_(std::move(dir)), fd_(fd), buf_(kBuffer) {}
  Span free_space() { return {buf_.data() + used_, buf_.size() - used_}; }
  // `n` bytes were written into free_space().
  void produced(std::size_t n) {
    used_ += n;
    if (base_ + used_ > kMaxDecompressedBytes)
      throw Error(fmt::format("{}: decompresses to more than {}: not a plausible core", path_, mib(kMaxDecompressedBytes)));
    if (!checked_ && base_ + used_ >= SELFMAG) check_elf();
    if (used_ == buf_.size()) flush();
  }
  // Flushes and sets the file's size; returns it.
  std::uint64_t finish() {
    flush();
    if (::ftruncate(fd_, static_cast<off_t>(base_)) != 0) write_failed(errno);
    return base_;
  }
  std::uint64_t written() const { return written_; }
  bool saw_elf() const { return checked_; }

 private:
  void check_elf() {
    if (std::memcmp(buf_.data(), ELFMAG, SELFMAG) != 0)
      throw Error(path_ + ": compressed, but what it holds is not an ELF core (no ELF header)");
    checked_ = true;
  }
  void flush() {
    std::size_t i = 0;
    while (i < used_) {
      std::size_t b = std::min(kBlock, used_ - i);
      if (all_zero(buf_.data() + i, b)) { i += b; continue; }
      std::size_t j = i + b;
      while (j < used_ && !all_zero(buf_.data() + j, std::min(kBlock, used_ - j))) j += std::min(kBlock, used_ - j);
      write_at(buf_.data() + i, j - i, base_ + i);
      i = j;
    }
    base_ += used_;
    used_ = 0;
  }
  void write_at(const char* p, std::size_t n, std::uint64_t off) {
    while (n) {
      ssize_t w = ::pwrite(fd_, p, n, static_cast<off_t>(off));
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) write_failed(w < 0 ? errno : ENOSPC);
      p += w; n -= static_cast<std::size_t>(w); off += static_cast<std::uint64_t>(w);
      written_ += static_cast<std::uint64_t>(w);
    }
  }
  [[noreturn]] void write_failed(int err) {
    throw Error(fmt::format("{}: cannot decompress the core into {}: {} ({} of non-zero data written; "
                            "set TMPDIR to a file system with more room)", path_, dir_, errno_text(err), mib(written_)));
  }
  const std::string& path_;
  std::string dir_;
  int fd_;
  std::vector<char> buf_;
  std::size_t used_ = 0;
  std::uint64_t base_ = 0, written_ = 0;
  bool checked_ = false;
};

// Reads up to len bytes at off; fewer at the end of the file.
std::size_t read_at(int fd, void* buf, std::size_t len, std::uint64_t off) {
  std::size_t done = 0;
  while (done < len) {
    ssize_t n = ::pread(fd, static_cast<char*>(buf) + done, len - done, static_cast<off_t>(off + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    done += static_cast<std::size_t>(n);
  }
  return done;
}

// Whether the first `size` bytes hold the ELF header, the program headers
// and every PT_NOTE segment: enough for threads, registers and modules.
bool headers_and_notes_within(int fd, std::uint64_t size) {
  Elf64_Ehdr eh{};
  if (read_at(fd, &eh, sizeof eh, 0) != sizeof eh || eh.e_phentsize != sizeof(Elf64_Phdr)) return false;
  std::uint64_t phnum = eh.e_phnum;
  if (phnum == PN_XNUM) {
    Elf64_Shdr sh0{};
    if (read_at(fd, &sh0, sizeof sh0, eh.e_shoff) != sizeof sh0) return false;
    phnum = sh0.sh_info;
  }
  if (eh.e_phoff > size || phnum * sizeof(Elf64_Phdr) > size - eh.e_phoff) return false;
  std::vector<Elf64_Phdr> ph(1024);
  for (std::uint64_t i = 0; i < phnum; i += ph.size()) {
    std::size_t k = static_cast<std::size_t>(std::min<std::uint64_t>(ph.size(), phnum - i));
    read_at(fd, ph.data(), k * sizeof(Elf64_Phdr), eh.e_phoff + i * sizeof(Elf64_Phdr));
    for (std::size_t j = 0; j < k; ++j)
      if (ph[j].p_type == PT_NOTE && (ph[j].p_offset > size || ph[j].p_filesz > size - ph[j].p_offset)) return false;
  }
  return true;
}

struct Outcome {
  std::uint64_t size = 0, written = 0;
  std::string damage;   // "" when the stream was whole: else "truncated" or "corrupt (...)"
};

// Streams the compressed input through the decoder into the sink.
Outcome decompress(const std::string& path, int in_fd, Decoder& dec, SparseSink& sink) {
  std::vector<char> in_buf(kBuffer);
  Span in{in_buf.data(), 0};
  bool eof = false;
  for (;;) {
    if (in.n == 0 && !eof) {
      ssize_t n;
      do n = ::read(in_fd, in_buf.data(), in_buf.size()); while (n < 0 && errno == EINTR);
      if (n < 0) throw Error(path + ": read error: " + errno_text(errno));
      in = {in_buf.data(), static_cast<std::size_t>(n)};
      eof = n == 0;
    }
    Span out = sink.free_space();
    std::size_t in_before = in.n, out_before = out.n;
    bool ok = dec.step(in, out, eof);
    sink.produced(out_before - out.n);
    if (!ok) return {sink.finish(), sink.written(), "corrupt (" + dec.error + ")"};
    bool progress = in.n != in_before || out.n != out_before;
    if (!progress && (eof || in.n != 0)) break;   // nothing more will come out
  }
  std::uint64_t size = sink.finish();
  return {size, sink.written(), dec.ended() ? "" : "truncated"};
}

}  // namespace

Compression compression_of(std::string_view head) {
  auto starts = [&](std::string_view magic) { return head.substr(0, magic.size()) == magic; };
  if (starts(std::string_view("\x28\xb5\x2f\xfd", 4))) return Compression::zstd;
  if (starts(std::string_view("\x04\x22\x4d\x18", 4))) return Compression::lz4;
  if (starts(std::string_view("\xfd\x37\x7a\x58\x5a\x00", 6))) return Compression::xz;
  return Compression::none;
}

const char* compression_name(Compression c) {
  switch (c) {
    case Compression::zstd: return "zstd";
    case Compression::lz4: return "lz4";
    case Compression::xz: return "xz";
    case Compression::none: break;
  }
  return "";
}

DecompressStats last_decompress_stats() { return g_stats; }

void decompress_if_compressed(const std::string& path, Fd& fd, struct stat& st,
                              std::vector<std::string>& warnings) {
  g_stats = {};
  char head[8] = {};
  std::size_t got = read_at(fd.get(), head, sizeof head, 0);
  Compression c = compression_of(std::string_view(head, got));
  if (c == Compression::none) return;
  auto t0 = std::chrono::steady_clock::now();
  std::string dir = temp_dir();
  Fd out = make_temp_file(path, dir);
  SparseSink sink(path, dir, out.get());
  auto dec = make_decoder(c);
  if (::lseek(fd.get(), 0, SEEK_SET) != 0) throw Error(path + ": cannot seek: " + errno_text(errno));
  Outcome o = decompress(path, fd.get(), *dec, sink);
  std::string what = fmt::format("compressed core ({}) is {} after {} of decompressed data", compression_name(c),
                                 o.damage, mib(o.size));
  if (!o.damage.empty() && !(sink.saw_elf() && headers_and_notes_within(out.get(), o.size)))
    throw Error(path + ": " + what + ", before the core's headers and notes end: nothing to read");
  if (!sink.saw_elf()) throw Error(path + ": compressed, but what it holds is not an ELF core (too short)");
  if (!o.damage.empty())
    warnings.push_back(what + "; its headers and notes are whole, memory past that point is missing");
  struct stat tmp{};
  ::fstat(out.get(), &tmp);
  g_stats = {o.size, o.written, static_cast<std::uint64_t>(tmp.st_blocks) * 512,
             std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count()};
  if (log_enabled())
    log(fmt::format("{}: {} core decompressed into a sparse file in {}: {} apparent, {} written, {} on disk, {:.2f} s",
                    path, compression_name(c), dir, mib(o.size), mib(o.written), mib(g_stats.disk_bytes),
                    g_stats.seconds));
  fd = std::move(out);
  st.st_size = static_cast<off_t>(o.size);
}

}  // namespace threadleak::detail
