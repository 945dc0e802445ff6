#include "golang/go_stripped.hpp"

#include <cstdlib>
#include <sstream>

#include <fmt/format.h>

#include "golang/go_globals.hpp"
#include "golang/go_types.hpp"
#include "golang/moduledata.hpp"
#include "golang/pclntab.hpp"

namespace threadleak::detail::golang {
namespace {

// Runtime functions that name each global, in every version read (one
// may be inlined away in some; the others remain).
const char* const kAllgsUsers[] = {"runtime.allgadd", "runtime.forEachG", "runtime.forEachGRace", "runtime.checkdead"};
const char* const kAllmUsers[] = {"runtime.mcommoninit", "runtime.allocm", "runtime.checkdead"};
const char* const kSemtableUsers[] = {"runtime.semacquire1", "runtime.semrelease1"};
const char* const kAllpUsers[] = {"runtime.procresize", "runtime.checkdead", "runtime.retake"};

template <std::size_t N>
std::vector<std::uint64_t> candidates(const GoCapture& go, const char* const (&users)[N], const Range& within) {
  std::vector<std::uint64_t> out;
  for (const char* name : users) {
    auto f = go.symbols->function_named(name);
    if (!f || f->high <= f->low || f->high - f->low > (1u << 20)) continue;
    for (std::uint64_t a : rip_targets(go.image->bytes(f->low, f->high - f->low), f->low, within))
      if (std::find(out.begin(), out.end(), a) == out.end()) out.push_back(a);
  }
  return out;
}

// THREADLEAK_GO_DROP_FIELD=type.member[,..]: a test hook that makes the
// derivation act as if the binary did not describe those fields.
void apply_drop_hook(GoTypes& types) {
  const char* env = std::getenv("THREADLEAK_GO_DROP_FIELD");
  if (!env) return;
  std::stringstream list(env);
  for (std::string item; std::getline(list, item, ',');)
    if (!item.empty()) types.drop(item);
}

std::unique_ptr<GoSymbols> open_pclntab(const GoImage& img, const std::optional<ModuleData>& md, std::string& why) {
  std::uint32_t magic = 0;
  auto header = md ? std::optional(md->pclntab) : find_pclntab(img, magic);
  if (!header) return nullptr;
  auto table = Pclntab::open(img, *header, md ? md->gofunc : 0, why, md ? md->text.lo : 0);
  return table ? pclntab_symbols(std::move(table)) : nullptr;
}

}  // namespace

std::unique_ptr<GoSymbols> open_pclntab(const GoImage& img, std::string& why) {
  return open_pclntab(img, ModuleData::find(img, why), why);
}

void describe_stripped(GoCapture& go, const std::string& name, std::vector<std::string>& warnings) {
  std::string why;
  auto md = ModuleData::find(*go.image, why);
  go.symbols = open_pclntab(*go.image, md, why);
  if (!go.symbols) {
    warnings.push_back(fmt::format("{}: Go program whose pclntab cannot be read ({}); goroutines are not shown", name, why));
    return;
  }
  if (!md) {
    warnings.push_back(fmt::format("{}: Go runtime not understood without DWARF ({}); goroutines are not shown", name, why));
    return;
  }
  auto types = GoTypes::read(*go.image, *md, why);
  if (!types) {
    warnings.push_back(fmt::format("{}: Go runtime's type descriptors cannot be read ({}); goroutines are not shown", name, why));
    return;
  }
  apply_drop_hook(*types);
  std::string missing;
  auto layout = GoLayout::derive(*types, missing);
  if (!layout) {
    warnings.push_back(fmt::format("{}: Go runtime not understood (its type descriptors have no {}); goroutines are "
                                   "not shown", name, missing));
    return;
  }
  Range globals{std::min(md->bss.lo, md->noptrbss.lo), std::max(md->bss.hi, md->noptrbss.hi)};
  layout->allgs_candidates = candidates(go, kAllgsUsers, globals);
  layout->allm_candidates = candidates(go, kAllmUsers, globals);
  if (auto wr = find_wait_reasons(*go.image, *md)) layout->wait_strings = wr->address, layout->wait_count = wr->count;
  else warnings.push_back(name + ": Go runtime's wait reasons not found; waiting goroutines show as \"waiting\"");
  go.layout = *layout;
  go.layout_known = true;
  go.sema = SemaLayout::derive(*types, missing);
  if (go.sema) {
    go.sema->table_candidates = candidates(go, kSemtableUsers, globals);
    go.sema->allp_candidates = candidates(go, kAllpUsers, globals);
  }
  if (log_enabled())
    log(fmt::format("{}: Go runtime from type descriptors ({} types, moduledata at {:#x}); candidates: allgs {}, "
                    "allm {}, semtable {}, allp {}; {} wait reasons", name, types->count(), md->address,
                    go.layout.allgs_candidates.size(), go.layout.allm_candidates.size(),
                    go.sema ? go.sema->table_candidates.size() : 0, go.sema ? go.sema->allp_candidates.size() : 0,
                    go.layout.wait_count));
}

}  // namespace threadleak::detail::golang
