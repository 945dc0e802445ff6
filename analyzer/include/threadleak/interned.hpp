// threadleak/interned.hpp — an immutable string kept once per process.
//
// A 10,000-thread snapshot holds ~130,000 frames but only a few dozen
// distinct function, module, file and build-id strings. Frames hold them as
// Interned: a pointer into a process-wide pool, so copying a frame copies
// pointers, and two Interned are equal exactly when their pointers are.
// Strings enter the pool on construction and stay until the process ends
// (the pool grows with distinct strings, not with threads or snapshots).
//
//   threadleak::Interned f = "pthread_cond_wait";     // interned once
//   threadleak::Interned g = std::string("pthread_cond_wait");
//   assert(f == g && f.id() == g.id());   // same pool entry
//   std::string s = f;                    // reads as a const std::string&
#pragma once

#include <compare>
#include <concepts>
#include <cstddef>
#include <functional>
#include <iosfwd>
#include <string>
#include <string_view>

namespace threadleak {

class Interned {
 public:
  Interned();   // ""
  Interned(std::string_view s);   // NOLINT(google-explicit-constructor): a string reads as one
  Interned(const std::string& s) : Interned(std::string_view(s)) {}   // NOLINT(google-explicit-constructor)
  Interned(const char* s) : Interned(std::string_view(s ? s : "")) {}  // NOLINT(google-explicit-constructor)

  const std::string& str() const { return *s_; }
  operator const std::string&() const { return *s_; }   // NOLINT(google-explicit-constructor)
  operator std::string_view() const { return *s_; }      // NOLINT(google-explicit-constructor)
  const char* c_str() const { return s_->c_str(); }
  const char* data() const { return s_->data(); }
  std::size_t size() const { return s_->size(); }
  bool empty() const { return s_->empty(); }
  bool starts_with(std::string_view p) const { return s_->starts_with(p); }
  bool ends_with(std::string_view p) const { return s_->ends_with(p); }
  std::size_t find(std::string_view p, std::size_t pos = 0) const { return s_->find(p, pos); }
  std::size_t find(char c, std::size_t pos = 0) const { return s_->find(c, pos); }
  std::size_t rfind(char c, std::size_t pos = std::string::npos) const { return s_->rfind(c, pos); }
  std::string substr(std::size_t pos, std::size_t n = std::string::npos) const { return s_->substr(pos, n); }

  // The pool entry: equal strings have equal ids (for hashing and keys;
  // the value differs between runs, so never order or print by it).
  const void* id() const { return s_; }

  friend bool operator==(const Interned& a, const Interned& b) { return a.s_ == b.s_; }
  friend std::strong_ordering operator<=>(const Interned& a, const Interned& b) {
    return a.s_ == b.s_ ? std::strong_ordering::equal : a.s_->compare(*b.s_) <=> 0;
  }
  template <typename T>
    requires(!std::same_as<T, Interned> && std::convertible_to<const T&, std::string_view>)
  friend bool operator==(const Interned& a, const T& b) {
    return std::string_view(*a.s_) == std::string_view(b);
  }

 private:
  const std::string* s_;
};

std::ostream& operator<<(std::ostream& os, const Interned& s);
inline std::string operator+(const std::string& a, const Interned& b) { return a + b.str(); }
inline std::string operator+(const Interned& a, const std::string& b) { return a.str() + b; }
inline std::string operator+(const char* a, const Interned& b) { return a + b.str(); }
inline std::string operator+(const Interned& a, const char* b) { return a.str() + b; }

}  // namespace threadleak

template <>
struct std::hash<threadleak::Interned> {
  std::size_t operator()(const threadleak::Interned& s) const noexcept {
    return std::hash<const void*>()(s.id());
  }
};

// fmt prints an Interned as its string where fmt is in use.
#if __has_include(<fmt/format.h>)
#include <fmt/format.h>
template <>
struct fmt::formatter<threadleak::Interned> : fmt::formatter<std::string_view> {
  template <typename Context>
  auto format(const threadleak::Interned& s, Context& ctx) const {
    return fmt::formatter<std::string_view>::format(std::string_view(s.str()), ctx);
  }
};
#endif
