// GoSymbols over the pclntab: what a stripped Go binary still names.
#include "golang/go_symbols.hpp"
#include "golang/pclntab.hpp"

namespace threadleak::detail::golang {
namespace {

class PclnSymbols final : public GoSymbols {
 public:
  explicit PclnSymbols(std::unique_ptr<Pclntab> t) : t_(std::move(t)) {}
  std::optional<GoFunc> function_at(std::uint64_t pc) const override { return func(t_->find(pc)); }
  std::optional<GoFunc> function_named(std::string_view name) const override { return func(t_->named(name)); }
  std::size_t function_count() const override { return t_->function_count(); }
  std::optional<std::int32_t> sp_delta(std::uint64_t pc) const override { return t_->sp_delta(pc); }
  const char* source() const override { return "pclntab"; }

  std::vector<GoFrame> lookup(std::uint64_t link) const override {
    const PclnFunc* f = t_->find(link);
    if (!f) return {};
    std::vector<GoFrame> out;
    for (const PclnFrame& pf : t_->frames(link)) {
      GoFrame g;
      g.frame.function = pf.function;
      g.frame.file = pf.file;
      g.frame.line = pf.line;
      g.frame.inlined = true;
      g.wrapper = pf.wrapper;
      out.push_back(std::move(g));
    }
    if (out.empty()) {   // no line table: the function alone
      GoFrame g;
      g.frame.function = f->name;
      out.push_back(std::move(g));
    }
    GoFrame& outer = out.back();   // the real function; the ones before it are inlined into it
    outer.frame.inlined = false;
    outer.frame.offset = link - f->entry;
    outer.wrapper = f->wrapper;
    return out;
  }

 private:
  static std::optional<GoFunc> func(const PclnFunc* f) {
    if (!f) return std::nullopt;
    return GoFunc{f->entry, f->end, f->name, f->wrapper};
  }
  std::unique_ptr<Pclntab> t_;
};

}  // namespace

std::unique_ptr<GoSymbols> pclntab_symbols(std::unique_ptr<Pclntab> table) {
  return std::make_unique<PclnSymbols>(std::move(table));
}

}  // namespace threadleak::detail::golang
