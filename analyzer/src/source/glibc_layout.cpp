// glibc lock layouts from glibc's DWARF: the declared type of the `mutex`
// (`rwlock`, `cond`) parameter of the libc function a waiter is in.
#include "source/glibc_layout.hpp"

#include <dwarf.h>
#include <elfutils/libdw.h>

#include <cstdlib>
#include <cstring>

#include <fmt/format.h>

#include "util.hpp"

namespace threadleak::detail {
namespace {

constexpr std::size_t kTopFrames = 12;
constexpr int kMaxTries = 3;

bool type_of(Dwarf_Die* die, Dwarf_Die* out) {
  Dwarf_Attribute a;
  return dwarf_attr_integrate(die, DW_AT_type, &a) != nullptr && dwarf_formref_die(&a, out) != nullptr;
}

// Follows typedefs and cv-qualifiers to the real type.
bool peel(Dwarf_Die* die) {
  for (int i = 0; i < 16; ++i) {
    int tag = dwarf_tag(die);
    if (tag != DW_TAG_typedef && tag != DW_TAG_const_type && tag != DW_TAG_volatile_type) return true;
    Dwarf_Die next;
    if (!type_of(die, &next)) return false;
    *die = next;
  }
  return false;
}

bool named(Dwarf_Die* die, const char* name) {
  const char* n = dwarf_diename(die);
  return n != nullptr && std::strcmp(n, name) == 0;
}

// Offset of member `name` of a struct or union; its type in *type.
std::optional<std::uint64_t> member(Dwarf_Die* agg, const char* name, Dwarf_Die* type) {
  Dwarf_Die child;
  if (dwarf_child(agg, &child) != 0) return std::nullopt;
  do {
    if (dwarf_tag(&child) != DW_TAG_member || !named(&child, name)) continue;
    Dwarf_Word off = 0;
    Dwarf_Attribute a;
    if (dwarf_attr_integrate(&child, DW_AT_data_member_location, &a) && dwarf_formudata(&a, &off) != 0)
      return std::nullopt;
    if (type && !type_of(&child, type)) return std::nullopt;
    return off;
  } while (dwarf_siblingof(&child, &child) == 0);
  return std::nullopt;
}

// A parameter (or local variable) of a function: its declared type.
bool param_in(Dwarf_Die* scope, const char* param, Dwarf_Die* out) {
  Dwarf_Die child;
  if (dwarf_child(scope, &child) != 0) return false;
  do {
    int tag = dwarf_tag(&child);
    if ((tag == DW_TAG_formal_parameter || tag == DW_TAG_variable) && named(&child, param))
      return type_of(&child, out);
  } while (dwarf_siblingof(&child, &child) == 0);
  return false;
}

// The declared type of parameter `param` of the function (or inlined call)
// covering pc.
bool param_type(Dwfl* dwfl, std::uint64_t pc, const char* param, Dwarf_Die* out) {
  Dwarf_Addr bias = 0;
  Dwarf_Die* cu = dwfl_addrdie(dwfl, pc, &bias);
  if (!cu) return false;
  Dwarf_Die* scopes = nullptr;
  int n = dwarf_getscopes(cu, pc - bias, &scopes);
  bool found = false;
  for (int i = 0; i < n && !found; ++i) {
    int tag = dwarf_tag(&scopes[i]);
    if (tag != DW_TAG_subprogram && tag != DW_TAG_inlined_subroutine) continue;
    found = param_in(&scopes[i], param, out);
    Dwarf_Attribute a;
    Dwarf_Die origin;
    if (!found && dwarf_attr(&scopes[i], DW_AT_abstract_origin, &a) && dwarf_formref_die(&a, &origin))
      found = param_in(&origin, param, out);
  }
  std::free(scopes);
  return found;
}

// pointer -> pthread_X_t (a union) -> __data -> struct: the member offsets.
std::optional<std::vector<std::uint64_t>> layout_of(Dwarf_Die type, const std::vector<const char*>& members) {
  if (!peel(&type) || dwarf_tag(&type) != DW_TAG_pointer_type) return std::nullopt;
  Dwarf_Die obj;
  if (!type_of(&type, &obj) || !peel(&obj)) return std::nullopt;
  Dwarf_Die data;
  auto base = member(&obj, "__data", &data);
  if (!base || !peel(&data)) return std::nullopt;
  std::vector<std::uint64_t> offs;
  for (const char* m : members) {
    auto off = member(&data, m, nullptr);
    if (!off) return std::nullopt;
    offs.push_back(*base + *off);
  }
  return offs;
}

// Member `name`, or a member of an anonymous struct or union member
// (struct pthread keeps `header` in one).
std::optional<std::uint64_t> member_or_anonymous(Dwarf_Die* agg, const char* name, Dwarf_Die* type) {
  if (auto off = member(agg, name, type)) return off;
  Dwarf_Die child;
  if (dwarf_child(agg, &child) != 0) return std::nullopt;
  do {
    if (dwarf_tag(&child) != DW_TAG_member || dwarf_diename(&child) != nullptr) continue;
    Dwarf_Die inner;
    Dwarf_Word base = 0;
    Dwarf_Attribute a;
    if (dwarf_attr_integrate(&child, DW_AT_data_member_location, &a) && dwarf_formudata(&a, &base) != 0) continue;
    if (!type_of(&child, &inner) || !peel(&inner)) continue;
    if (auto off = member(&inner, name, type)) return base + *off;
  } while (dwarf_siblingof(&child, &child) == 0);
  return std::nullopt;
}

// pointer -> struct pthread: header.self, tid, start_routine, arg.
std::optional<PthreadLayout> pthread_layout_of(Dwarf_Die type) {
  Dwarf_Die obj, header;
  if (!peel(&type) || dwarf_tag(&type) != DW_TAG_pointer_type || !type_of(&type, &obj) || !peel(&obj))
    return std::nullopt;
  auto base = member_or_anonymous(&obj, "header", &header);
  if (!base || !peel(&header)) return std::nullopt;
  auto self = member(&header, "self", nullptr);
  auto tid = member(&obj, "tid", nullptr);
  auto routine = member(&obj, "start_routine", nullptr);
  auto arg = member(&obj, "arg", nullptr);
  if (!self || !tid || !routine || !arg) return std::nullopt;
  return PthreadLayout{*base + *self, *tid, *routine, *arg, "dwarf"};
}

}  // namespace

std::optional<std::vector<std::uint64_t>> GlibcLayouts::find(const std::vector<Frame>& frames, const char* param,
                                                             const std::vector<const char*>& members) {
  std::size_t n = std::min(frames.size(), kTopFrames);
  for (std::size_t i = 0; i < n; ++i) {
    if (!frames[i].module.starts_with("libc") || frames[i].function.empty()) continue;
    std::uint64_t pc = i == 0 ? frames[i].pc : frames[i].pc - 1;
    Dwarf_Die type;
    if (!param_type(dwfl_, pc, param, &type)) continue;
    if (auto offs = layout_of(type, members)) {
      if (log_enabled())
        log(fmt::format("glibc layout of '{}' from the DWARF of {}", param, frames[i].function));
      return offs;
    }
  }
  return std::nullopt;
}

const MutexLayout& GlibcLayouts::mutex(const std::vector<Frame>& frames) {
  if (mutex_tries_ < kMaxTries && ++mutex_tries_)
    if (auto o = find(frames, "mutex", {"__lock", "__count", "__owner", "__kind"})) {
      mutex_ = {(*o)[0], (*o)[1], (*o)[2], (*o)[3], "dwarf"};
      mutex_tries_ = kMaxTries;
    }
  return mutex_;
}

const RwlockLayout& GlibcLayouts::rwlock(const std::vector<Frame>& frames) {
  if (rwlock_tries_ < kMaxTries && ++rwlock_tries_)
    if (auto o = find(frames, "rwlock", {"__wrphase_futex", "__writers_futex", "__cur_writer"})) {
      rwlock_ = {(*o)[0], (*o)[1], (*o)[2], "dwarf"};
      rwlock_tries_ = kMaxTries;
    }
  return rwlock_;
}

const CondLayout& GlibcLayouts::cond(const std::vector<Frame>& frames) {
  if (cond_tries_ < kMaxTries && ++cond_tries_)
    if (auto o = find(frames, "cond", {"__g_signals"})) {
      cond_ = {(*o)[0], "dwarf"};
      cond_tries_ = kMaxTries;
    }
  return cond_;
}

const PthreadLayout& GlibcLayouts::pthread(const std::vector<Frame>& frames) {
  if (pthread_tries_ >= kMaxTries) return pthread_;
  for (auto it = frames.rbegin(); it != frames.rend() && it - frames.rbegin() < 4; ++it) {
    if (!it->module.starts_with("libc") || it->function != "start_thread") continue;
    ++pthread_tries_;
    Dwarf_Die type;
    if (!param_type(dwfl_, it->pc - 1, "pd", &type)) break;
    if (auto l = pthread_layout_of(type)) {
      pthread_ = *l;
      pthread_tries_ = kMaxTries;
      if (log_enabled()) log("glibc layout of struct pthread from the DWARF of start_thread");
    }
    break;
  }
  return pthread_;
}

}  // namespace threadleak::detail
