// The stripped path's layouts and globals against the DWARF's, on the same
// binary: every field threadleak reads, derived from the runtime's type
// descriptors, must equal what the DWARF says; the globals' candidates
// found in code must include the DWARF's addresses; the wait-reason table
// found in .data must be runtime.waitReasonStrings. Then the same
// derivation on real stripped programs no one here wrote.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

#include "golang/go_globals.hpp"
#include "golang/go_layout.hpp"
#include "golang/go_reader.hpp"
#include "golang/go_sema.hpp"
#include "golang/go_stripped.hpp"
#include "golang/go_types.hpp"
#include "golang/moduledata.hpp"

using namespace threadleak::detail::golang;

namespace {

std::string go_bin(const std::string& name) { return std::string(GO_SAMPLES_DIR) + "/" + name; }

void expect_same(const Field& a, const Field& b, const char* what) {
  EXPECT_EQ(a.offset, b.offset) << what;
  EXPECT_EQ(a.size, b.size) << what;
}

bool has(const std::vector<std::uint64_t>& v, std::uint64_t x) { return std::find(v.begin(), v.end(), x) != v.end(); }

struct Stripped {
  GoCapture go;
  std::vector<std::string> warnings;
  explicit Stripped(const std::string& path) {
    std::string why;
    go.image = GoImage::open(path, why);
    EXPECT_TRUE(go.image) << why;
    if (go.image) describe_stripped(go, path, warnings);
  }
};

}  // namespace

TEST(GoLayoutAgreement, TypeDescriptorsGiveTheDwarfsLayout) {
  std::string why, missing;
  auto dwarf = GoDwarf::open(go_bin("park"), why);
  ASSERT_TRUE(dwarf) << why;
  auto want = GoLayout::read(*dwarf, missing);
  ASSERT_TRUE(want) << missing;
  Stripped s(go_bin("park"));
  ASSERT_TRUE(s.go.layout_known) << (s.warnings.empty() ? "" : s.warnings[0]);
  const GoLayout& got = s.go.layout;
#define SAME(f) expect_same(got.f, want->f, #f)
  SAME(g_stack_lo); SAME(g_stack_hi); SAME(g_m); SAME(g_sched_sp); SAME(g_sched_pc); SAME(g_sched_bp);
  SAME(g_syscallsp); SAME(g_syscallpc); SAME(g_status); SAME(g_goid); SAME(g_waitsince); SAME(g_waitreason);
  SAME(g_gopc); SAME(g_startpc); SAME(m_procid); SAME(m_curg); SAME(m_alllink);
#undef SAME
  EXPECT_TRUE(has(got.allgs_candidates, want->allgs)) << "runtime.allgs";
  EXPECT_TRUE(has(got.allm_candidates, want->allm)) << "runtime.allm";
  EXPECT_EQ(got.wait_strings, want->wait_strings);
  EXPECT_EQ(got.wait_count, want->wait_count);
  EXPECT_EQ(got.wait_count, 27u);  // go1.19's [27]string

  auto sema_want = SemaLayout::read(*dwarf, missing);
  ASSERT_TRUE(sema_want) << missing;
  ASSERT_TRUE(s.go.sema);
  const SemaLayout& sg = *s.go.sema;
  EXPECT_TRUE(has(sg.table_candidates, sema_want->table.address)) << "runtime.semtable";
  EXPECT_EQ(sg.table.count, sema_want->table.count);
  EXPECT_EQ(sg.table.stride, sema_want->table.stride);
  expect_same(sg.root_treap, sema_want->root_treap, "semaRoot.treap");
  expect_same(sg.sudog_g, sema_want->sudog_g, "sudog.g");
  expect_same(sg.sudog_elem, sema_want->sudog_elem, "sudog.elem");
  expect_same(sg.sudog_waitlink, sema_want->sudog_waitlink, "sudog.waitlink");
  expect_same(*sg.mutex_sema, *sema_want->mutex_sema, "sync.Mutex.sema");
  expect_same(*sg.wg_sema, *sema_want->wg_sema, "sync.WaitGroup sema");
  expect_same(*sg.p_timers, *sema_want->p_timers, "p.timers length");
  ASSERT_TRUE(sema_want->allp);
  EXPECT_TRUE(has(sg.allp_candidates, *sema_want->allp)) << "runtime.allp";
}

TEST(GoLayoutAgreement, StrippedSampleDerivesTheSameAsItsDwarfTwin) {
  Stripped a(go_bin("park")), b(go_bin("park_stripped"));
  ASSERT_TRUE(a.go.layout_known && b.go.layout_known);
  EXPECT_EQ(a.go.layout.g_goid.offset, b.go.layout.g_goid.offset);
  EXPECT_EQ(a.go.layout.wait_count, b.go.layout.wait_count);
  EXPECT_EQ(a.go.symbols->function_count(), b.go.symbols->function_count());
}

TEST(GoLayoutAgreement, ADroppedFieldIsNamedAndNoLayoutIsGuessed) {
  setenv("THREADLEAK_GO_DROP_FIELD", "runtime.g.goid", 1);
  Stripped s(go_bin("park_stripped"));
  unsetenv("THREADLEAK_GO_DROP_FIELD");
  EXPECT_FALSE(s.go.layout_known);
  ASSERT_EQ(s.warnings.size(), 1u);
  EXPECT_NE(s.warnings[0].find("runtime.g.goid"), std::string::npos) << s.warnings[0];
  ASSERT_TRUE(s.go.symbols);  // the OS threads still get names
  EXPECT_TRUE(s.go.symbols->function_named("runtime.futex"));
}

// Real stripped programs: Debian's (go1.19.8) and a registry package's
// (go1.26.5); every field the reader needs is derived, each global has
// candidates, and the binary's own wait-reason table is found.
TEST(GoLayoutReal, StrippedProgramsOfOtherGoVersions) {
  struct Case { std::string path; std::uint64_t wait_reasons; };
  for (const Case& c : {Case{"/usr/bin/caddy", 27}, Case{"/usr/bin/etcd", 27}, Case{std::string(ESBUILD_BIN), 47}}) {
    SCOPED_TRACE(c.path);
    ASSERT_TRUE(std::filesystem::exists(c.path)) << "scripts/install-deps.sh installs it";
    Stripped s(c.path);
    ASSERT_TRUE(s.go.layout_known) << (s.warnings.empty() ? "" : s.warnings[0]);
    EXPECT_TRUE(s.warnings.empty()) << s.warnings[0];
    EXPECT_EQ(s.go.layout.wait_count, c.wait_reasons);
    EXPECT_FALSE(s.go.layout.allgs_candidates.empty());
    EXPECT_FALSE(s.go.layout.allm_candidates.empty());
    ASSERT_TRUE(s.go.sema);
    EXPECT_FALSE(s.go.sema->table_candidates.empty());
    EXPECT_GT(s.go.symbols->function_count(), 5000u);
    EXPECT_EQ(s.go.layout.g_goid.offset, 152u);
  }
}
