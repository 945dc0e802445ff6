// What a target lacks, fetched by build-id from the debuginfod servers in
// DEBUGINFOD_URLS, in bounded time.
//
// libdebuginfod (libdebuginfod.so.1) is loaded with dlopen the first time a
// lookup is needed and DEBUGINFOD_URLS names a server: without a server, no
// library is loaded and nothing is asked. Files land in libdebuginfod's own
// cache (DEBUGINFOD_CACHE_PATH, else ~/.cache/debuginfod_client), so a
// second run finds them there without the network.
//
// Bounds (T = DEBUGINFOD_TIMEOUT in seconds, 5 when unset or invalid):
// - a fetch is cancelled when no byte has arrived for T seconds (a server
//   that accepts the connection and never answers costs T, not forever);
// - the fetches of one window together stop after 6T;
// - after a fetch fails for any reason but "not there" (refused, no answer,
//   the budget spent), debuginfod is not asked again for 60 s: one dead
//   server costs one T per window, however many modules miss their files.
// Failures and the lookups skipped after them become warnings
// (take_debuginfod_warnings); -v logs where each fetched file came from.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace threadleak::detail {

enum class DebuginfodKind { executable, debuginfo };

// True when DEBUGINFOD_URLS names at least one server.
bool debuginfod_configured();

// The path, in libdebuginfod's cache, of the file of `kind` whose build-id
// is `build_id`, fetching it if the cache lacks it; nullopt when it is not
// to be had (not on the servers, a server failed, lookups suspended, no
// libdebuginfod). `module` names the module in logs and warnings.
// Thread-safe: lookups run one at a time, and each (kind, build-id) is asked
// at most once per process unless a failure left it unanswered.
std::optional<std::string> debuginfod_fetch(DebuginfodKind kind, const std::vector<unsigned char>& build_id,
                                            const std::string& module);

// The warnings gathered since the last call (failures, then one line naming
// the lookups skipped after them), and forgets them.
std::vector<std::string> take_debuginfod_warnings();

}  // namespace threadleak::detail
