// Small naming helpers shared by the renderers (text, folded, HTML).
#pragma once

#include <string>
#include <vector>

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

// How much a diff entry grew: new TIDs for one process, else the count rise.
std::size_t growth(const Diff& d, const DiffEntry& e);

// The text report's stack block (report/text.cpp).
std::string stack_text(const std::vector<Frame>& frames, bool color);

}  // namespace threadleak::detail
