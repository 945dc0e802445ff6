// The Go runtime's own type descriptors, read from a (possibly stripped)
// executable: every struct type reachable from the typelinks, by name,
// with its fields' names, offsets and sizes. `new(g)` and `new(m)` in the
// runtime need these descriptors, so stripping cannot remove them, and
// they describe the binary's own Go version: no per-version offset table.
//
//   auto types = GoTypes::read(img, moduledata, why);
//   if (auto f = types->field("runtime.g", "goid")) ... f->offset, f->size
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "golang/go_dwarf.hpp"   // Field
#include "golang/go_image.hpp"
#include "golang/moduledata.hpp"

namespace threadleak::detail::golang {

class GoTypes {
 public:
  // A struct member: where it sits (offset, size) and what it is.
  struct Member : Field {
    std::string name;
    std::uint64_t type = 0;   // the member's type descriptor
  };
  struct Type {
    std::string name;         // "runtime.g", "" for unnamed types
    std::uint64_t size = 0;
    std::uint8_t kind = 0;    // reflect.Kind
    std::uint64_t elem = 0;   // pointer, slice, array, chan: the element's descriptor
    std::vector<Member> members;   // struct types
  };

  // Reads every type reachable from the typelinks. Null with `why` when
  // the descriptors cannot be read at all.
  static std::unique_ptr<GoTypes> read(const GoImage& img, const ModuleData& md, std::string& why);

  // A named type ("runtime.g", "sync.Mutex"), or null.
  const Type* named(std::string_view name) const;
  const Type* at(std::uint64_t addr) const;
  // A member of a named struct type; nullopt when either is unknown.
  std::optional<Field> field(std::string_view type, std::string_view member) const;
  std::optional<Member> member(std::string_view type, std::string_view member) const;
  std::size_t count() const { return types_.size(); }

  // Test hook: members named "type.member" here are treated as absent.
  void drop(const std::string& qualified) { dropped_.push_back(qualified); }

 private:
  std::map<std::uint64_t, Type> types_;
  std::map<std::string, std::uint64_t, std::less<>> by_name_;
  std::vector<std::string> dropped_;
  friend struct TypeWalker;
};

}  // namespace threadleak::detail::golang
