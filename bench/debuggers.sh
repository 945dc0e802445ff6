#!/bin/sh
# One run: `leaks` inside gdb and lldb-19 attached to a live process of 1,000
# parked threads with a 4 GiB heap, beside the debuggers' own all-thread
# backtraces (`thread apply all bt`, `bt all`). Each command runs in a fresh
# session (no warm caches); its time is measured inside the debugger (Python
# time.time around the command), its output goes to a file.
#   bench/debuggers.sh [BUILD_DIR]
set -eu
BUILD=${1:-build}
SRC=$(cd "$(dirname "$0")/.." && pwd)
PARK=$BUILD/samples/cpp/park
OUT=$(mktemp -d)
PID=
cleanup() { [ -n "$PID" ] && kill -9 "$PID" 2>/dev/null; rm -rf "$OUT"; }
trap cleanup EXIT
mkfifo "$OUT/in"
exec 3<>"$OUT/in"
"$PARK" --condvar 250 --mutex 250 --sleep 250 --read 249 --heap-mib 4096 <"$OUT/in" >"$OUT/park.out" &
PID=$!
until grep -q ready "$OUT/park.out"; do sleep 0.1; done
echo "park pid $PID: $(cut -d' ' -f2 "$OUT/park.out") threads, 4 GiB heap; load average $(cut -d' ' -f1 /proc/loadavg)"

gdb_time() {  # LABEL COMMAND
  gdb -nx -q -batch -ex "source $SRC/gdb/threadleak.py" -ex 'python import time; t0 = time.time()' \
    -ex "$2" -ex "python gdb.write('@@ $1 %.3f s\\n' % (time.time() - t0), gdb.STDERR)" \
    -p "$PID" >"$OUT/out" 2>"$OUT/err"
  grep '^@@' "$OUT/err" | sed 's/^@@ /  /'
}
lldb_time() {  # LABEL COMMAND
  lldb-19 -b --no-lldbinit -O "command script import $SRC/lldb/threadleak.py" \
    -o 'script import time; t0 = time.time()' -o "$2" \
    -o "script print('@@ $1 %.3f s' % (time.time() - t0))" -p "$PID" >"$OUT/out" 2>"$OUT/err"
  grep '^@@' "$OUT/out" | sed 's/^@@ /  /'
}
gdb_time "gdb leaks" leaks
grep -h "threads in" "$OUT/out" | head -1 | sed 's/^/    /'
gdb_time "gdb thread apply all bt" "thread apply all bt"
lldb_time "lldb-19 leaks" leaks
grep -h "threads in" "$OUT/out" | head -1 | sed 's/^/    /'
lldb_time "lldb-19 bt all" "bt all"
T0=$(date +%s.%N); "$BUILD/analyzer/threadleak" stacks --pid "$PID" >/dev/null
echo "  threadleak stacks --pid (no debugger) $(echo "$(date +%s.%N) - $T0" | bc | cut -c1-5) s"
