// Small naming helpers shared by the renderers (text, folded, HTML).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "threadleak/analysis.hpp"

namespace threadleak::detail {

// The function, or "module+0xREL" when no symbol covers the pc.
std::string frame_name(const Frame& f);

// What a reader calls the group: its first own-code function that is not an
// inlined call (else the first own-code frame, else the innermost frame).
std::string group_title(const Group& g);

// "1 thread", "3 threads".
std::string plural(std::size_t n, const char* word);

// The function a thread is in, for people: its first own frame's, else the
// innermost frame's; "" without frames.
std::string thread_function(const Thread& t);

// The thread with this TID (snapshot threads are sorted by TID), or null.
const Thread* find_thread(const Snapshot& s, int tid);

// "1 2 3 ... (+4 more)": the first `max` ids, then how many were left out.
// `ellipsis` is " ..." in text and " &hellip;" in HTML; `more` follows the
// count (" more", or "" where space is short).
template <typename Id>
std::string id_list(const std::vector<Id>& ids, std::size_t max, std::string_view ellipsis,
                    std::string_view more = " more") {
  std::string s;
  for (std::size_t i = 0; i < ids.size() && i < max; ++i) s += fmt::format("{}{}", i ? " " : "", ids[i]);
  if (ids.size() > max) s += fmt::format("{} (+{}{})", ellipsis, ids.size() - max, more);
  return s;
}

// One descriptor set of an I/O wait, for people: "tcp 127.0.0.1:41234 ->
// 127.0.0.1:5432 ESTABLISHED (fd 5)"; an epoll set as "epoll fd 7 watching
// ..."; at most `max` descriptors, then "+N more".
std::string descriptors_text(const std::vector<Descriptor>& ds, std::size_t max = 4);

// How much a diff entry grew: new TIDs for one process, else the count rise.
std::size_t growth(const Diff& d, const DiffEntry& e);

// The text report's stack block (report/text.cpp).
std::string stack_text(const std::vector<Frame>& frames, bool color);

}  // namespace threadleak::detail
