#!/usr/bin/env bash
# The demo: the leaking sample serves 3 requests, is dumped (core.1), serves
# 5 more, is dumped again (core.2), and threadleak diffs the two cores.
set -euo pipefail
build=${1:-build}
out=out/demo
mkdir -p "$out"
rm -f "$out"/core.* "$out"/in

mkfifo "$out/in"
"$build/samples/cpp/leak" --requests 3 <"$out/in" >"$out/leak.log" &
pid=$!
exec 3>"$out/in"
trap 'kill $pid 2>/dev/null || true' EXIT

wait_ready() {  # waits for the n-th "ready" line of the sample
  for _ in $(seq 200); do
    [ "$(grep -c '^ready' "$out/leak.log" || true)" -ge "$1" ] && return 0
    sleep 0.05
  done
  echo "demo: the sample did not get ready" >&2
  exit 2
}

wait_ready 1
gcore -o "$out/core" "$pid" >/dev/null 2>&1 && mv "$out/core.$pid" "$out/core.1"
echo "more 5" >&3
wait_ready 2
gcore -o "$out/core" "$pid" >/dev/null 2>&1 && mv "$out/core.$pid" "$out/core.2"

echo "\$ threadleak diff $out/core.1 $out/core.2"
status=0
"$build/analyzer/threadleak" diff "$out/core.1" "$out/core.2" || status=$?
echo "(exit status $status: 1 means a group grew)"
[ "$status" -eq 1 ]
