// Writing real threadleak JSON documents to files and validating them with
// tests/schema/validate.py against docs/schema/KIND.schema.json.
#pragma once

#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "harness.hpp"

namespace tl_test {

// `threadleak ARGS... --json -o DIR/NAME`, expecting `status`; returns the path.
inline std::string save_json(const std::string& dir, const std::string& name, std::vector<std::string> args,
                             int status) {
  std::string path = dir + "/" + name;
  args.insert(args.begin(), threadleak_bin());
  for (const char* a : {"--json", "-o"}) args.push_back(a);
  args.push_back(path);
  Result r = run(args);
  EXPECT_EQ(r.status, status) << name << ": " << r.err;
  return path;
}

// `threadleak snapshot ARGS... -o DIR/NAME`; returns the path.
inline std::string save_snapshot(const std::string& dir, const std::string& name, std::vector<std::string> args) {
  std::string path = dir + "/" + name;
  args.insert(args.begin(), {threadleak_bin(), "snapshot"});
  args.push_back("-o");
  args.push_back(path);
  Result r = run(args);
  EXPECT_EQ(r.status, 0) << name << ": " << r.err;
  return path;
}

inline nlohmann::json read_json(const std::string& path) {
  std::ifstream f(path);
  return nlohmann::json::parse(f, nullptr, false);
}

// "stacks", "diff", "series", "hang" or "snapshot" (a snapshot file).
inline std::string kind_of(const std::string& path) {
  auto j = read_json(path);
  if (!j.is_object()) return "";
  if (j.value("format", "") == "threadleak-snapshot") return "snapshot";
  return j.value("kind", "");
}

// validate.py --by-kind FILES: status 0 when every file validates.
inline Result validate(const std::vector<std::string>& files) {
  std::vector<std::string> argv = {"/usr/bin/python3", std::string(SOURCE_DIR) + "/tests/schema/validate.py",
                                   "--by-kind"};
  argv.insert(argv.end(), files.begin(), files.end());
  return run(argv);
}

inline void expect_valid(const std::vector<std::string>& files) {
  Result r = validate(files);
  EXPECT_EQ(r.status, 0) << r.out << r.err;
}

}  // namespace tl_test
