// The sentences every renderer says about a group besides its stack: what
// its I/O waits are on, what created its threads, its state's label. The
// text report indents them; the HTML page escapes them and sets them under
// the group's row. One wording, written here.
#pragma once

#include <string>
#include <vector>

#include "threadleak/analysis.hpp"

namespace threadleak::detail {

// At most this many descriptor sets are listed per group; "... N more sets" says the rest.
inline constexpr std::size_t kMaxWaitSets = 4;

// A goroutine group's wait reason ("chan receive"), else the state's label
// ("io (read)", "condvar").
std::string group_state_label(const Group& g);

// What a group's I/O waits are on. Empty when none is known; else the head
// line, "1 thread in epoll_wait on epoll fd 3 watching 1 fd: unix stream
// /run/x.sock LISTEN (fd 23)", or, when members wait on different sets,
// "4 threads in epoll_wait on 4 distinct descriptor sets:" followed by one
// line per set ("1 on epoll fd 7 watching ..."), largest first, at most
// kMaxWaitSets, then "... N more sets (--json lists them)".
std::vector<std::string> waits_on_lines(const Group& g);

// Where a group's threads come from: "created by F via std::thread at
// FILE:LINE [MODULE]" (an unnamed start routine reads "MODULE+0xREL"),
// "the main thread", "not created by pthread_create (no glibc thread
// descriptor)"; "" when nothing is known.
std::string created_by_text(const Group& g);

}  // namespace threadleak::detail
