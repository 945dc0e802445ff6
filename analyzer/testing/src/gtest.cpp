// GoogleTest integration: VerifyNone, the per-test listener and the
// whole-binary environment.
#include "internal.hpp"

namespace threadleak {

Option IgnoreTopFunction(std::string function) {
  return [f = std::move(function)](Options& o) { o.ignore_top.push_back(f); };
}

Option IgnoreAnyFunction(std::string function) {
  return [f = std::move(function)](Options& o) { o.ignore_any.push_back(f); };
}

Option IgnoreCurrent() {
  auto now = std::make_shared<const Baseline>(Baseline::now());
  return [now](Options& o) { o.baseline = now; };
}

Option MaxRetryTime(std::chrono::nanoseconds d) {
  return [d](Options& o) { o.max_retry_time = d; };
}

bool verify_none(const Options& opts, const std::source_location& where) {
  Leaks leaks = find_leaks(opts);
  if (!leaks) return true;
  ADD_FAILURE_AT(where.file_name(), static_cast<int>(where.line())) << leaks.report();
  return false;
}

void LeakListener::OnTestStart(const ::testing::TestInfo&) {
  at_test_start_ = std::make_shared<const Baseline>(Baseline::now());
}

// Listeners get OnTestEnd in reverse order of appending, so this failure is
// recorded before the result printer reports the test.
void LeakListener::OnTestEnd(const ::testing::TestInfo& info) {
  if (info.result()->Skipped()) return;
  Options o = opts_;
  o.baseline = at_test_start_;  // blame only threads started during this test
  Leaks leaks = find_leaks(o);
  if (leaks) ADD_FAILURE_AT(info.file(), info.line()) << "thread leaked by " << info.test_suite_name() << "." << info.name() << "\n" << leaks.report();
}

void LeakEnvironment::TearDown() {
  Leaks leaks = find_leaks(opts_);
  if (leaks) ADD_FAILURE() << "threads leaked by the test binary\n" << leaks.report();
}

void install_google_test(const Options& opts) {
  ::testing::UnitTest::GetInstance()->listeners().Append(new LeakListener(opts));
  ::testing::AddGlobalTestEnvironment(new LeakEnvironment(opts));
}

}  // namespace threadleak
