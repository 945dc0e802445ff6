// The pool behind threadleak::Interned: a node-based set, so entries never
// move, behind one mutex (strings are interned while symbolizing and loading,
// a few per distinct pc or frame; copies never touch the pool).
#include "threadleak/interned.hpp"

#include <mutex>
#include <ostream>
#include <unordered_set>

namespace threadleak {
namespace {

struct Hash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>()(s); }
};

const std::string& empty_string() {
  static const std::string empty;
  return empty;
}

const std::string* intern(std::string_view s) {
  if (s.empty()) return &empty_string();
  static std::mutex mu;
  static std::unordered_set<std::string, Hash, std::equal_to<>> pool;
  std::lock_guard lock(mu);
  auto it = pool.find(s);
  if (it == pool.end()) it = pool.emplace(s).first;
  return &*it;
}

}  // namespace

Interned::Interned() : s_(&empty_string()) {}
Interned::Interned(std::string_view s) : s_(intern(s)) {}

std::ostream& operator<<(std::ostream& os, const Interned& s) { return os << s.str(); }

}  // namespace threadleak
