#!/usr/bin/env bash
# The cost of serving metrics (docs/metrics.md): a park sample with N
# threads (default 1,000) and a 1 ms ticker, `threadleak watch --interval 1h
# --metrics-listen 127.0.0.1:0` on it, then S scrapes (default 1,000) over
# one kept-alive connection. Prints the target's longest ticker gap and the
# watch process's CPU time during the scrapes, and the same for its one
# capture (what a scrape would cost if it captured).
#   bench/metrics_cost.sh [BUILD_DIR] [THREADS] [SCRAPES]
set -euo pipefail
build=${1:-build}
n=${2:-1000}
scrapes=${3:-1000}
tl=$build/analyzer/threadleak
park=$build/samples/cpp/park
work=$(mktemp -d)
park_pid=
cleanup() {
  [ -n "${watch_pid:-}" ] && kill "$watch_pid" 2>/dev/null && wait "$watch_pid" 2>/dev/null
  [ -n "$park_pid" ] && kill -9 "$park_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
q=$((n / 4))
coproc PARK { exec "$park" --condvar "$q" --mutex "$q" --sleep "$q" --read $((n - 3 * q)) --stack-kib 64 --ticker; }
park_pid=$PARK_PID
exec {park_in}>&"${PARK[1]}" {park_out}<&"${PARK[0]}"
read -r -t 600 -u "$park_out" line
echo "target: $line threads"
gap_ms() { echo gap >&"$park_in"; read -r -t 60 -u "$park_out" l; awk -v us="${l#gap }" 'BEGIN { printf "%.1f", us / 1000 }'; }
cpu_ms() { awk '{ printf "%.0f", ($14 + $15) * 1000 / '"$(getconf CLK_TCK)"' }' "/proc/$1/stat"; }
sleep 1; gap_ms >/dev/null
"$tl" watch --pid "$park_pid" --interval 1h --metrics-listen 127.0.0.1:0 > "$work/out" 2>&1 &
watch_pid=$!
until grep -q "snapshot 1:" "$work/out"; do sleep 0.05; done
url=$(grep -o 'http://[^ ]*' "$work/out")
echo "capture: ticker gap $(gap_ms) ms, watch CPU $(cpu_ms $watch_pid) ms (startup and the first capture)"
curl -s "$url" | grep -E "^threadleak_(threads|groups|capture)" | sed 's/{[^}]*}//'
sleep 1; gap_ms >/dev/null
before=$(cpu_ms $watch_pid)
t0=$(date +%s.%N)
args=(); for ((i = 0; i < scrapes; i++)); do args+=("$url"); done
curl -s "${args[@]}" > /dev/null
t1=$(date +%s.%N)
after=$(cpu_ms $watch_pid)
wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
echo "scrapes: $scrapes in $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }') s;" \
  "watch CPU $((after - before)) ms ($(awk -v c=$((after - before)) -v s="$scrapes" 'BEGIN { printf "%.3f", c / s }') ms per scrape);" \
  "ticker gap meanwhile $(gap_ms) ms; page $(curl -s "$url" | wc -c) bytes"
sleep "$wall"
echo "idle for as long, no scrapes: ticker gap $(gap_ms) ms (the machine's own noise)"
