// Parts of the HTML report's page (report/html.cpp), shared with the other
// pages that use the same look (the hang report, report/hang_html.cpp).
#pragma once

#include <set>
#include <string>
#include <vector>

#include "threadleak/threadleak.hpp"

namespace threadleak::detail {

// <!DOCTYPE> to </head>: the CSP that forbids every load, the shared CSS and
// `extra_css` after it.
std::string page_head(const std::string& title, const std::string& extra_css = "");
// The footer, `extra_js` then the shared script (which sets body[data-ready]
// last), </body></html>.
std::string page_tail(const std::string& extra_js = "");
// <header>: title, the summary line (id="summary"), `more` (HTML, e.g.
// activity_summary()), source, systemd-coredump, crash, warnings, notes.
std::string snapshot_header(const Snapshot& snap, const std::string& summary, const std::string& more = "");
// A stack as an <ol> of frames with file:line and module, own frames marked.
std::string stack_list(const std::vector<Frame>& frames);
// What the text report says of a group besides its stack, for the row that
// opens to it (report/group_words.hpp): the descriptor sets its I/O waits
// are on, then `stack`, then what created its threads.
std::string group_details(const Group& g, const std::string& stack);
// The head line of a group's I/O waits ("1 thread in epoll_wait on ...") for
// the row itself; "" when none is known.
std::string waits_on_head(const Group& g);
// The row's activity between captures ("3 parked >= 2.0s"), with
// data-parked/-spinning/-woke; "" when no thread of the group was counted.
std::string group_activity(const Group& g, const ActivitySpan& span);
// The "Activity between the captures" section of a diff or series of one
// process (docs/activity.md): head line, where the times come from, one line
// per group with a counted thread; "" for captures of different processes.
std::string activity_section(const ActivitySpan& span, const std::vector<const Group*>& groups);
// The section's head line for the page's header (id="activity-summary"); "" as above.
std::string activity_summary(const ActivitySpan& span);
// The "Groups" table (rows expand to stacks) and the icicle of all threads.
std::string groups_section(const std::vector<Group>& groups);
// The "All threads" icicle section with its state legend; groups whose
// signature is in `marked` are outlined.
std::string icicle_block(const std::vector<Group>& groups, const std::set<std::string>& marked);

}  // namespace threadleak::detail
