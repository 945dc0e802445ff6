// What the CLI says on stderr besides the report: warnings and the one
// error line. Two forms, chosen once per run with --diagnostics:
//
//   text (default)  threadleak: warning: core.1: module libfoo.so: no file ...
//                   threadleak: saved 12 threads of pid 42 to base.json
//                   threadleak: core.1: not a core file ...
//   json            {"level":"warning","message":"core.1: module libfoo.so: ..."}
//                   {"level":"info","message":"saved 12 threads of pid 42 to base.json"}
//                   {"level":"error","kind":"bad_input","message":"core.1: not a core ...","exit_status":2}
//
// One line each, whatever the report's format or destination, so a user who
// sends the report to a file still sees what made it partial, and front ends
// (the gdb and lldb commands, threadleak::testing) read kinds, not prefixes.
#pragma once

#include <string>
#include <vector>

#include "threadleak/threadleak.hpp"

namespace cli {

enum class Diagnostics { text, json };
void set_diagnostics(Diagnostics d);

// Exit statuses (docs/cli.md): 0 nothing grew, 1 something grew or a
// deadlock, 2 an input problem (bad input, not found, permission, target
// vanished), 70 an internal error (EX_SOFTWARE).
constexpr int kExitInputError = 2;
constexpr int kExitInternal = 70;
int exit_status_of(threadleak::ErrorKind kind);

// One warning line each (a Diff's and a Series's warnings already name
// their snapshot).
void warn_all(const std::vector<std::string>& warnings);

// What a run reports besides its report ("saved 12 threads to ..."; -v's
// log): level "info".
void note(const std::string& message);

// Prints the error line and returns the exit status for it.
int report_error(const std::string& message, threadleak::ErrorKind kind);

}  // namespace cli
