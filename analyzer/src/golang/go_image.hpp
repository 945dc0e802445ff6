// A Go executable's own bytes, by link-time address: the ELF file mapped
// read-only, its sections and the file part of its PT_LOAD segments. What
// a stripped Go binary still holds (.gopclntab, type descriptors, the
// runtime's initialised data) is read from here; nothing is written.
//
// A position-independent build (-buildmode=pie) leaves its pointers to the
// dynamic loader: the file holds zeros where firstmoduledata points at the
// pclntab or a type descriptor at its fields, and the value in an
// R_*_RELATIVE relocation. Those relocations are applied to private copies
// of the segments they touch, as if loaded at the link-time addresses, so
// every reader above sees the same image as for a non-PIE build.
//
//   std::string why;
//   auto img = GoImage::open("/usr/bin/caddy", why);
//   if (auto* s = img->section(".gopclntab")) auto bytes = img->bytes(s->addr, s->size);
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace threadleak::detail::golang {

class GoImage {
 public:
  struct Section {
    std::string name;
    std::uint64_t addr = 0, size = 0;
    bool nobits = false;   // .bss-like: no bytes in the file
    bool writable = false, exec = false;
  };

  // Maps the ELF file at `path`. Null with `why` set when it cannot be read
  // or is not a 64-bit little-endian ELF file.
  static std::unique_ptr<GoImage> open(const std::string& path, std::string& why);
  // The same over bytes the caller owns (fuzzers, tests); they must outlive it.
  static std::unique_ptr<GoImage> from_bytes(std::span<const std::uint8_t> file, std::string& why);
  ~GoImage();
  GoImage(const GoImage&) = delete;
  GoImage& operator=(const GoImage&) = delete;

  // The first section named `name`, or null (stripped of section headers).
  const Section* section(std::string_view name) const;
  const std::vector<Section>& sections() const { return sections_; }
  // The section holding `addr`, or null.
  const Section* section_at(std::uint64_t addr) const;
  // [addr, addr+len) when wholly in the file part of one PT_LOAD segment,
  // else empty. Valid as long as the image.
  std::span<const std::uint8_t> bytes(std::uint64_t addr, std::uint64_t len) const;
  // Copies what of [addr, addr+len) the file holds from its start; returns
  // the number of bytes copied (0 when addr is not in the file).
  std::size_t read(std::uint64_t addr, void* buf, std::size_t len) const;
  // Where `addr` lies in the file, when in the file part of a segment.
  std::optional<std::uint64_t> file_offset(std::uint64_t addr) const;
  // Reads a little-endian word; false when not in the file.
  bool read_u64(std::uint64_t addr, std::uint64_t& out) const;
  std::uint64_t entry() const { return entry_; }
  // Lowest and highest+1 address of the PT_LOAD segments (file and memory parts).
  std::uint64_t lowest() const { return lowest_; }
  std::uint64_t highest() const { return highest_; }
  // The Go release that built the program ("go1.15.2"), from .go.buildinfo
  // (Go 1.13 on); "" when the file has no such section or it is unreadable.
  std::string go_version() const;
  // How many relative relocations were applied (0 unless PIE).
  std::size_t relocations() const { return relocations_; }

 private:
  GoImage() = default;
  bool parse(std::string& why);
  void relocate(unsigned machine);
  // A PT_LOAD segment; `data` is its file part, in the mapping or, once
  // relocated, in `copies_`.
  struct Load {
    std::uint64_t vaddr, filesz, memsz, offset;
    const std::uint8_t* data;
    std::uint8_t* copy;  // set once a relocation wrote into this segment
  };
  void* map_ = nullptr;
  std::size_t map_size_ = 0;
  std::span<const std::uint8_t> file_;
  std::vector<Load> loads_;
  std::vector<Section> sections_;
  std::vector<std::vector<std::uint8_t>> copies_;
  std::size_t relocations_ = 0;
  std::uint64_t entry_ = 0, lowest_ = 0, highest_ = 0;
};

}  // namespace threadleak::detail::golang
