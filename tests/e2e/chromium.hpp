// Headless Chromium for the HTML report tests (Debian's chromium package):
// the DOM a page builds after its scripts ran, a screenshot, and the check
// that a page loads nothing from anywhere.
#pragma once

#include <cstring>
#include <fstream>
#include <regex>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "harness.hpp"

namespace tl_test {

inline std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), {}};
}

inline std::vector<std::string> chromium(const std::string& dir, std::vector<std::string> args) {
  std::vector<std::string> argv{"chromium", "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                                "--user-data-dir=" + dir + "/profile"};
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

// The DOM Chromium built from the page, after scripts ran.
inline std::string dump_dom(const std::string& page) {
  std::string dir = temp_dir();
  auto r = run(chromium(dir, {"--dump-dom", "file://" + page}), 90);
  EXPECT_EQ(r.status, 0) << r.err;
  return r.out;
}

inline void screenshot(const std::string& page, const std::string& png) {
  std::string dir = temp_dir();
  auto r = run(chromium(dir, {"--window-size=1366,900", "--screenshot=" + png, "file://" + page}), 90);
  EXPECT_EQ(r.status, 0) << r.err;
  std::string bytes = read_file(png);
  EXPECT_GT(bytes.size(), 20000u) << "a blank screenshot?";
  EXPECT_EQ(bytes.substr(1, 3), "PNG");
}

inline std::string unescape(std::string s) {
  for (auto [from, to] : {std::pair{"&lt;", "<"}, {"&gt;", ">"}, {"&quot;", "\""}, {"&#39;", "'"}, {"&amp;", "&"}})
    for (std::size_t p; (p = s.find(from)) != std::string::npos;) s.replace(p, std::strlen(from), to);
  return s;
}

// Self-contained: a CSP that forbids loads, and no URL in any src or href.
inline void expect_loads_nothing(const std::string& page_text, const std::string& dom) {
  EXPECT_NE(page_text.find("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none';"),
            std::string::npos);
  static const std::regex link(R"re(\b(src|href|xlink:href|action|data)\s*=)re", std::regex::icase);
  EXPECT_FALSE(std::regex_search(page_text, link)) << "the page links to something";
  EXPECT_EQ(page_text.find("http:"), std::string::npos);
  EXPECT_EQ(page_text.find("https:"), std::string::npos);
  EXPECT_EQ(page_text.find("url("), std::string::npos);
  EXPECT_EQ(page_text.find("@import"), std::string::npos);
  EXPECT_NE(dom.find("data-ready=\"1\""), std::string::npos) << "the inline script did not run";
}

}  // namespace tl_test
