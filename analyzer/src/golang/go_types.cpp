#include "golang/go_types.hpp"

#include <cstring>
#include <deque>

#include <fmt/format.h>

namespace threadleak::detail::golang {

namespace {

// The rtype (internal/abi.Type) header every descriptor starts with; its
// shape has not changed from Go 1.14 to 1.26.
constexpr std::uint64_t kTypeHeader = 48;
constexpr std::uint8_t kFlagExtraStar = 2, kFlagNamed = 4;
constexpr std::uint8_t kArray = 17, kChan = 18, kMap = 21, kPtr = 22, kSlice = 23, kStruct = 25;
constexpr std::size_t kMaxTypes = 1u << 20, kMaxFields = 1u << 12;

}  // namespace

struct TypeWalker {
  const GoImage& img;
  const ModuleData& md;
  GoTypes& out;
  bool varint_names = true;   // Go 1.17+; 1.16 wrote a 2-byte big-endian length
  bool shifted_offsets = false;  // before Go 1.19 a field's offset was stored <<1 | embedded
  std::deque<std::uint64_t> todo;

  bool word(std::uint64_t addr, std::uint64_t& v) const { return img.read_u64(addr, v); }

  // A name record: flags byte, length, bytes.
  std::optional<std::string> name_at(std::uint64_t addr) const {
    auto head = img.bytes(addr, 3);
    if (head.empty()) return std::nullopt;
    std::uint64_t len = 0, at = 1;
    if (varint_names) {
      unsigned shift = 0;
      for (;; ++at, shift += 7) {
        auto b = img.bytes(addr + at, 1);
        if (b.empty() || shift > 21) return std::nullopt;
        len |= static_cast<std::uint64_t>(b[0] & 0x7f) << shift;
        if (!(b[0] & 0x80)) { ++at; break; }
      }
    } else {
      len = static_cast<std::uint64_t>(head[1]) << 8 | head[2];
      at = 3;
    }
    auto bytes = img.bytes(addr + at, len);
    if (len > 4096 || (len && bytes.empty())) return std::nullopt;
    return std::string(bytes.begin(), bytes.end());
  }

  void visit(std::uint64_t addr) {
    if (addr && !out.types_.count(addr) && out.types_.size() < kMaxTypes) todo.push_back(addr);
  }

  bool read_type(std::uint64_t addr) {
    auto h = img.bytes(addr, kTypeHeader);
    if (h.empty()) return false;
    GoTypes::Type t;
    std::memcpy(&t.size, h.data(), 8);
    std::uint8_t tflag = h[20];
    t.kind = h[23] & 0x1f;
    std::int32_t str;
    std::memcpy(&str, h.data() + 40, 4);
    if (tflag & kFlagNamed) {
      if (auto n = name_at(md.types.lo + static_cast<std::uint32_t>(str))) {
        t.name = (tflag & kFlagExtraStar) && !n->empty() ? n->substr(1) : *n;
      }
    }
    std::uint64_t p = addr + kTypeHeader;
    if (t.kind == kPtr || t.kind == kSlice || t.kind == kArray || t.kind == kChan) {
      word(p, t.elem);
      visit(t.elem);
    } else if (t.kind == kMap) {
      std::uint64_t k = 0, e = 0;
      word(p, k), word(p + 8, e);
      visit(k), visit(e);
    } else if (t.kind == kStruct) {
      read_members(t, p + 8);
    }
    if (!t.name.empty()) out.by_name_.emplace(t.name, addr);
    out.types_.emplace(addr, std::move(t));
    return true;
  }

  // structType: pkgPath name, then fields {array, len, cap} of
  // {name *byte, typ *rtype, offset uintptr}.
  void read_members(GoTypes::Type& t, std::uint64_t slice) {
    std::uint64_t array = 0, len = 0;
    if (!word(slice, array) || !word(slice + 8, len) || len > kMaxFields) return;
    for (std::uint64_t i = 0; i < len; ++i) {
      std::uint64_t f[3];
      if (img.read(array + i * 24, f, sizeof f) != sizeof f) return;
      GoTypes::Member m;
      if (auto n = name_at(f[0])) m.name = *n;
      m.type = f[1];
      m.offset = f[2];
      t.members.push_back(std::move(m));
      visit(f[1]);
    }
  }

  // Decides the two encodings that changed within the versions read, on
  // the first typelink's name and on runtime.g's offsets.
  void detect_name_encoding(std::uint64_t first) {
    auto h = img.bytes(first, kTypeHeader);
    if (h.empty()) return;
    std::int32_t str;
    std::memcpy(&str, h.data() + 40, 4);
    auto printable = [](const std::optional<std::string>& s) {
      if (!s || s->empty()) return false;
      for (char c : *s)
        if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) > 0x7e) return false;
      return true;
    };
    varint_names = true;
    if (printable(name_at(md.types.lo + static_cast<std::uint32_t>(str)))) return;
    varint_names = false;
    if (!printable(name_at(md.types.lo + static_cast<std::uint32_t>(str)))) varint_names = true;
  }

  void finish_offsets() {
    auto it = out.by_name_.find("runtime.g");
    if (it == out.by_name_.end()) return;
    const GoTypes::Type& g = out.types_.at(it->second);
    for (const auto& m : g.members)
      if (m.offset >= g.size) shifted_offsets = true;
    if (!shifted_offsets) return;
    for (auto& [addr, t] : out.types_)
      for (auto& m : t.members) m.offset >>= 1;
  }

  void sizes() {
    for (auto& [addr, t] : out.types_)
      for (auto& m : t.members)
        if (auto it = out.types_.find(m.type); it != out.types_.end()) m.size = it->second.size;
  }
};

std::unique_ptr<GoTypes> GoTypes::read(const GoImage& img, const ModuleData& md, std::string& why) {
  auto links = img.bytes(md.typelinks, md.ntypelinks * 4);
  if (links.empty()) { why = "the typelinks table is not in the file"; return nullptr; }
  auto types = std::make_unique<GoTypes>();
  TypeWalker w{img, md, *types, true, false, {}};
  for (std::size_t i = 0; i < md.ntypelinks; ++i) {
    std::int32_t off;
    std::memcpy(&off, links.data() + i * 4, 4);
    if (i == 0) w.detect_name_encoding(md.types.lo + static_cast<std::uint32_t>(off));
    w.visit(md.types.lo + static_cast<std::uint32_t>(off));
  }
  while (!w.todo.empty()) {
    std::uint64_t a = w.todo.front();
    w.todo.pop_front();
    if (!types->types_.count(a)) w.read_type(a);
  }
  w.finish_offsets();
  w.sizes();
  if (types->by_name_.empty()) { why = "no named type could be read"; return nullptr; }
  return types;
}

const GoTypes::Type* GoTypes::named(std::string_view name) const {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : &types_.at(it->second);
}

const GoTypes::Type* GoTypes::at(std::uint64_t addr) const {
  auto it = types_.find(addr);
  return it == types_.end() ? nullptr : &it->second;
}

std::optional<GoTypes::Member> GoTypes::member(std::string_view type, std::string_view member) const {
  const Type* t = named(type);
  if (!t) return std::nullopt;
  std::string q = fmt::format("{}.{}", type, member);
  for (const std::string& d : dropped_)
    if (d == q) return std::nullopt;
  for (const Member& m : t->members)
    if (m.name == member) return m;
  return std::nullopt;
}

std::optional<Field> GoTypes::field(std::string_view type, std::string_view member) const {
  auto m = this->member(type, member);
  if (!m) return std::nullopt;
  return static_cast<const Field&>(*m);
}

}  // namespace threadleak::detail::golang
