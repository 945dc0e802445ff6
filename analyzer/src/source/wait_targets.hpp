// Capture-time half of hang triage: for each thread blocked on a glibc
// mutex, rwlock or condvar, the object it waits on and the owner glibc
// recorded in it (Thread::waiting_on). Internal to the analyzer.
#pragma once

#include "target.hpp"

namespace threadleak::detail {

// Fills snap.threads[i].waiting_on from t.threads[i]'s registers and the
// target's memory. Reads only; never writes to the target.
void find_wait_targets(Target& t, Snapshot& snap);

}  // namespace threadleak::detail
