// Warning, info and error lines on stderr, as text or JSON lines.
#include "diagnostics.hpp"

#include <cstdio>

#include <nlohmann/json.hpp>

namespace cli {
namespace {
Diagnostics g_form = Diagnostics::text;

void put_line(const std::string& line) {
  std::fputs((line + "\n").c_str(), stderr);
  std::fflush(stderr);
}

std::string json_line(nlohmann::json j) { return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace); }

void put(const char* level, const std::string& message, const std::string& text_prefix) {
  put_line(g_form == Diagnostics::json ? json_line({{"level", level}, {"message", message}}) : text_prefix + message);
}
}  // namespace

void set_diagnostics(Diagnostics d) { g_form = d; }

int exit_status_of(threadleak::ErrorKind kind) {
  return kind == threadleak::ErrorKind::internal ? kExitInternal : kExitInputError;
}

void warn_all(const std::vector<std::string>& warnings) {
  for (const auto& w : warnings) put("warning", w, "threadleak: warning: ");
}

void note(const std::string& message) { put("info", message, "threadleak: "); }

int report_error(const std::string& message, threadleak::ErrorKind kind) {
  int status = exit_status_of(kind);
  if (g_form == Diagnostics::json)
    put_line(json_line({{"level", "error"}, {"kind", threadleak::to_string(kind)}, {"message", message},
                        {"exit_status", status}}));
  else
    put_line((kind == threadleak::ErrorKind::internal ? "threadleak: internal error: " : "threadleak: ") + message);
  return status;
}

}  // namespace cli
