#!/usr/bin/env bash
# One run each: threadleak vs `dlv core ... goroutines -group userloc` on a
# core of samples/go/leaksvc with N leaked goroutines (default 10000).
#   bench/go_vs_dlv.sh BUILD_DIR [N]
set -euo pipefail
build=${1:-build}; n=${2:-10000}
bin=$build/samples/go/leaksvc; tl=$build/analyzer/threadleak
dir=$(mktemp -d); trap 'kill "$pid" 2>/dev/null || true; rm -rf "$dir"' EXIT
mkfifo "$dir/in"
"$bin" -requests "$n" < "$dir/in" > "$dir/out" & pid=$!
exec 3> "$dir/in"
until grep -q ready "$dir/out"; do sleep 0.5; done
gcore -o "$dir/core" "$pid" > /dev/null 2>&1
core=$dir/core.$pid
printf 'goroutines -group userloc\nexit\n' > "$dir/cmds"
/usr/bin/time -f "threadleak stacks: %e s, %M KB max RSS" "$tl" stacks "$core" > "$dir/tl.txt"
sed -n 3p "$dir/tl.txt"
/usr/bin/time -o "$dir/dlv.time" -f "dlv goroutines -group userloc: %e s, %M KB max RSS" \
  dlv core "$bin" "$core" --allow-non-terminal-interactive=true --init "$dir/cmds" < /dev/null > "$dir/dlv.txt" 2>&1 || true
cat "$dir/dlv.time"
echo "dlv's largest group:$(grep Total "$dir/dlv.txt" | sort -t: -k2 -n | tail -1)"
