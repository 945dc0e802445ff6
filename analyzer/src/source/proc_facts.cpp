#include "source/proc_facts.hpp"

#include <elf.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace threadleak::detail {

std::string iso_utc(std::time_t t) {
  char buf[32];
  struct tm tm;
  gmtime_r(&t, &tm);
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

namespace {
std::uint64_t auxv_entry(const std::string& proc) {
  std::string auxv = read_small_file(proc + "/auxv");
  for (std::size_t off = 0; off + 16 <= auxv.size(); off += 16) {
    std::uint64_t key, val;
    std::memcpy(&key, auxv.data() + off, 8);
    std::memcpy(&val, auxv.data() + off + 8, 8);
    if (key == AT_ENTRY) return val;
  }
  return 0;
}
}  // namespace

void read_process_facts(Target& t, const std::string& proc) {
  char exe[4096];
  ssize_t n = ::readlink((proc + "/exe").c_str(), exe, sizeof exe - 1);
  t.executable = n > 0 ? std::string(exe, static_cast<std::size_t>(n)) : "";
  t.entry = auxv_entry(proc);
  t.captured_at = iso_utc(std::time(nullptr));
}

void read_thread_names(Target& t, const std::string& proc) {
  for (auto& th : t.threads) {
    th.name = read_small_file(proc + "/task/" + std::to_string(th.tid) + "/comm", 64);
    if (!th.name.empty() && th.name.back() == '\n') th.name.pop_back();
  }
}

namespace {
int report_maps(Dwfl* dwfl, std::string& maps) {
  FILE* f = ::fmemopen(maps.data(), maps.size(), "r");
  if (!f) return -1;
  int rc = dwfl_linux_proc_maps_report(dwfl, f);
  std::fclose(f);
  return rc;
}
}  // namespace

void report_maps_modules(Target& t, const Source& src, std::string maps) {
  t.setup = std::make_unique<DwflSetup>();
  init_callbacks(*t.setup, src, true);
  t.dwfl.reset(dwfl_begin(&t.setup->callbacks));
  if (!t.dwfl) throw Error(t.origin + ": dwfl_begin: " + dwfl_error());
  int rc = report_maps(t.dwfl.get(), maps);
  if (rc != 0) t.warnings.push_back("could not list all modules: " + dwfl_error());
  else
    t.report_modules_again = [maps = std::move(maps)](Dwfl* d) mutable { return report_maps(d, maps) == 0; };
  if (dwfl_report_end(t.dwfl.get(), nullptr, nullptr) != 0)
    throw Error(t.origin + ": dwfl_report_end: " + dwfl_error());
}

}  // namespace threadleak::detail
