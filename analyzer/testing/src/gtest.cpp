// GoogleTest integration: the options, VerifyNone, and the per-test listener
// and whole-binary environment InstallGoogleTest adds.
#include "internal.hpp"

namespace threadleak {

Option IgnoreTopFunction(std::string function) {
  return Option([f = std::move(function)](testing_detail::Options& o) { o.ignore_top.push_back(f); });
}

Option IgnoreAnyFunction(std::string function) {
  return Option([f = std::move(function)](testing_detail::Options& o) { o.ignore_any.push_back(f); });
}

Option IgnoreGroup(std::string fingerprint) {
  return Option([f = std::move(fingerprint)](testing_detail::Options& o) { o.ignore_groups.push_back(f); });
}

Option IgnoreCreatedBy(std::string function) {
  return Option([f = std::move(function)](testing_detail::Options& o) { o.ignore_created_by.push_back(f); });
}

Option Expect(const std::string& file) {
  auto e = std::make_shared<const Expectations>(load_expectations(file));
  return Option([e](testing_detail::Options& o) { o.expect = e; });
}

Option IgnoreCurrent() {
  auto now = std::make_shared<const Baseline>(Baseline::now());
  return Option([now](testing_detail::Options& o) { o.baseline = now; });
}

Option MaxRetryTime(std::chrono::nanoseconds d) {
  return Option([d](testing_detail::Options& o) { o.max_retry_time = d; });
}

Option CaptureTimeout(std::chrono::seconds d) {
  return Option([d](testing_detail::Options& o) { o.capture_timeout = d; });
}

namespace testing_detail {
namespace {

// Listeners get OnTestEnd in reverse order of appending, so this failure is
// recorded before the result printer reports the test.
class LeakListener : public ::testing::EmptyTestEventListener {
 public:
  explicit LeakListener(Options opts) : opts_(std::move(opts)) {}
  void OnTestStart(const ::testing::TestInfo&) override {
    at_test_start_ = std::make_shared<const Baseline>(Baseline::now());
  }
  void OnTestEnd(const ::testing::TestInfo& info) override {
    if (info.result()->Skipped()) return;
    Options o = opts_;
    o.baseline = at_test_start_;  // blame only threads started during this test
    Leaks leaks = Finder::find(o);
    if (leaks)
      ADD_FAILURE_AT(info.file(), info.line())
          << "thread leaked by " << info.test_suite_name() << "." << info.name() << "\n" << leaks.report();
  }

 private:
  Options opts_;
  std::shared_ptr<const Baseline> at_test_start_;
};

class LeakEnvironment : public ::testing::Environment {
 public:
  explicit LeakEnvironment(Options opts) : opts_(std::move(opts)) {}
  void TearDown() override {
    Leaks leaks = Finder::find(opts_);
    if (leaks) ADD_FAILURE() << "threads leaked by the test binary\n" << leaks.report();
  }

 private:
  Options opts_;
};

}  // namespace

bool verify_none(const std::vector<Option>& opts, const std::source_location& where) {
  Leaks leaks = find(opts);
  if (!leaks) return true;
  ADD_FAILURE_AT(where.file_name(), static_cast<int>(where.line())) << leaks.report();
  return false;
}

void install_google_test(const std::vector<Option>& opts) {
  Options o = options_of(opts);
  ::testing::UnitTest::GetInstance()->listeners().Append(new LeakListener(o));
  ::testing::AddGlobalTestEnvironment(new LeakEnvironment(o));
}

}  // namespace testing_detail
}  // namespace threadleak
