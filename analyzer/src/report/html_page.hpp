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
// <header>: title, the summary line (id="summary"), source, crash, warnings.
std::string snapshot_header(const Snapshot& snap, const std::string& summary);
// A stack as an <ol> of frames with file:line and module, own frames marked.
std::string stack_list(const std::vector<Frame>& frames);
// The "Groups" table (rows expand to stacks) and the icicle of all threads.
std::string groups_section(const std::vector<Group>& groups);
// The "All threads" icicle section with its state legend; groups whose
// signature is in `marked` are outlined.
std::string icicle_block(const std::vector<Group>& groups, const std::set<std::string>& marked);

}  // namespace threadleak::detail
