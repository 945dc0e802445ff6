// systemd-coredump's file names: core.COMM.UID.BOOTID.PID.TIMESTAMP, then
// .zst, .lz4 or .xz when compressed (TIMESTAMP: microseconds since the
// epoch; COMM with '.', '/' and odd bytes written as \xNN). The name is the
// only place systemd puts the host's PID, the UID and the time next to the
// core, and containers rarely have coredumpctl to ask.
//
//   coredump_from_name("/var/lib/systemd/coredump/core.park.0.6f1c...b2.1234.1796283251000000.zst")
//     -> {comm "park", uid 0, pid 1234, boot_id "6f1c...b2", time "2026-12-03T07:34:11Z"}
#pragma once

#include <optional>
#include <string>

#include "threadleak/snapshot.hpp"

namespace threadleak::detail {

// The facts in `path`'s last component; nullopt unless it has exactly that
// layout (boot id of 32 hex digits, decimal UID, PID and timestamp).
std::optional<Coredump> coredump_from_name(const std::string& path);

}  // namespace threadleak::detail
