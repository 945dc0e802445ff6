#!/usr/bin/env bash
# threadleak against eu-stack, gdb and lldb-19 on the same cores, in one run.
#
#   bench/run.sh [--quick] [--cap SECONDS] [--no-build] [BUILD_DIR]   (also: make bench)
#
# For each scenario the park sample parks N threads four ways (condvar,
# mutex, sleep, pipe read; 64 KiB stacks) with a 1 ms ticker thread, and is
# dumped twice with gcore (core.a, core.b). While it runs, each tool takes a
# live look at it (three, median kept, when a look takes under 5 s) and the
# ticker's longest gap is read back: the pause the target suffered. Then
# every tool reads the same cores, timed by /usr/bin/time (wall, CPU, max
# RSS; best of three for runs under 5 s).
# Slow tools are killed at the cap and shown as "> cap".
#
# Scenarios: 100, 1,000 and 10,000 threads, and 1,000 threads with a 4 GiB
# mostly untouched heap (HEAP_MIB, HEAP_THREADS to change). --quick: 100
# threads only (well under a minute; CTest runs it, label bench).
# Cores live in BUILD_DIR/bench-scratch.PID and are removed at exit.
# Then (not with --quick) bench/go_vs_dlv.sh: a Go core of 10,000 leaked
# goroutines (GO_GOROUTINES to change), DWARF and stripped builds, against
# `dlv core`; a wrong goroutine count there fails the bench too.
# THREADLEAK=/path/to/threadleak benches another build of it (e.g. a saved
# baseline) against the same peers.
# The machine's load is printed: on a shared machine, wall times are noisy;
# the CPU column (user+sys) is what to compare then.
set -euo pipefail

quick=0
nobuild=0
cap=120
build=build
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=1 ;;
    --no-build) nobuild=1 ;;
    --cap) cap=$2; shift ;;
    -h|--help) sed -n '2,23p' "$0"; exit 0 ;;
    *) build=$1 ;;
  esac
  shift
done
heap_mib=${HEAP_MIB:-4096}
heap_threads=${HEAP_THREADS:-1000}
src=$(cd "$(dirname "$0")/.." && pwd)

die() { echo "bench: $*" >&2; exit 2; }

for tool in gcore eu-stack gdb lldb-19 /usr/bin/time timeout; do
  command -v "$tool" >/dev/null || die "$tool is missing: run scripts/install-deps.sh"
done
if [ $nobuild = 0 ]; then
  if [ ! -f "$build/CMakeCache.txt" ]; then
    cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  fi
  targets=(threadleak sample_park)
  [ $quick = 1 ] || targets+=(go_samples)
  cmake --build "$build" --target "${targets[@]}" -j2 >/dev/null || die "build failed in $build"
fi
tl=${THREADLEAK:-$(cd "$build" && pwd)/analyzer/threadleak}
park=$(cd "$build" && pwd)/samples/cpp/park

scratch=$(cd "$build" && pwd)/bench-scratch.$$
mkdir -p "$scratch"
park_pid=
cleanup() {
  if [ -n "$park_pid" ]; then kill -CONT "$park_pid" 2>/dev/null || true; kill -KILL "$park_pid" 2>/dev/null || true; fi
  rm -rf "$scratch"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

declare -A cell cpu live     # results, keyed "tool|scenario"
failed=0

# measure CMD...: runs CMD under the cap; sets wall/rss/cpus/rc.
measure() {
  local tf=$scratch/time.$$ out=$scratch/out.$$
  set +e
  /usr/bin/time -f '%e %M %U %S' -o "$tf" timeout -k 5 "$cap" "$@" >"$out" 2>"$out.err"
  rc=$?
  set -e
  read -r wall rss u s < <(tail -n1 "$tf") || true
  [ -n "${wall:-}" ] || { wall=0; rss=0; u=0; s=0; }
  cpus=$(awk -v u="$u" -v s="$s" 'BEGIN { printf "%.2f", u + s }')
  last_out=$out
}

# best_of CMD...: like measure, but a run under 5 s is repeated twice more
# and the fastest run is kept (one run of a slow tool is already stable).
best_of() {
  measure "$@"
  local bw=$wall br=$rss bc=$cpus brc=$rc i
  cp "$last_out" "$scratch/best.out"; cp "$last_out.err" "$scratch/best.out.err"
  if [ "$rc" -le 1 ] && awk -v w="$wall" 'BEGIN { exit !(w < 5) }'; then
    for i in 2 3; do
      measure "$@"
      if awk -v a="$wall" -v b="$bw" 'BEGIN { exit !(a < b) }'; then bw=$wall br=$rss bc=$cpus brc=$rc; fi
    done
  fi
  wall=$bw rss=$br cpus=$bc rc=$brc
  last_out=$scratch/best.out
}

# Exit status 0 (or 1 for diff when a group grew) is a successful run.
record() {  # record TOOL SCENARIO [ok-statuses...]
  local tool=$1 sc=$2; shift 2
  local ok=0
  for st in 0 "$@"; do [ "$rc" = "$st" ] && ok=1; done
  if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
    cell[$tool|$sc]="> ${cap} s"; cpu[$tool|$sc]="-"
  elif [ $ok = 0 ]; then
    cell[$tool|$sc]="failed ($rc)"; cpu[$tool|$sc]="-"
    echo "bench: $tool on $sc exited $rc: $(head -c 300 "$last_out.err")" >&2
  else
    cell[$tool|$sc]=$(printf '%.2f s, %d MB' "$wall" $((rss / 1024)))
    cpu[$tool|$sc]=$cpus
    eval "wall_of_${tool//[^a-z0-9]/_}_${sc//[^a-z0-9]/_}=$wall"
  fi
}

start_park() {  # start_park THREADS [HEAP_MIB]
  local q=$(($1 / 4))
  local args=(--condvar "$q" --mutex "$q" --sleep "$q" --read $(($1 - 3 * q)) --stack-kib 64 --ticker)
  [ "${2:-0}" -gt 0 ] && args+=(--heap-mib "$2")
  coproc PARK { exec "$park" "${args[@]}"; }
  park_pid=$PARK_PID
  exec {park_in}>&"${PARK[1]}" {park_out}<&"${PARK[0]}"
  local line
  read -r -t 600 -u "$park_out" line || die "park did not get ready"
  expected_threads=${line#ready }
}

gap_ms() {  # the ticker's longest gap since the last call, in ms
  local line
  kill -CONT "$park_pid" 2>/dev/null || true   # a killed debugger may leave it stopped
  echo gap >&"$park_in"
  read -r -t 60 -u "$park_out" line || { echo "?"; return; }
  awk -v us="${line#gap }" 'BEGIN { printf "%.1f", us / 1000 }'
}

stop_park() {
  echo quit >&"$park_in" || true
  wait "$park_pid" 2>/dev/null || true
  exec {park_in}>&- {park_out}<&-
  park_pid=
}

live_tools=(threadleak eu-stack gdb lldb)
live_cmd() {  # live_cmd TOOL PID
  case $1 in
    threadleak) echo "$tl stacks --pid $2" ;;
    eu-stack) echo "eu-stack -p $2" ;;
    gdb) echo "gdb -p $2 -batch -ex 'thread apply all bt'" ;;
    lldb) echo "lldb-19 -p $2 -b -o 'thread backtrace unique'" ;;
  esac
}

run_scenario() {  # run_scenario NAME THREADS HEAP_MIB
  local sc=$1 n=$2 heap=$3 dir=$scratch/$1
  mkdir -p "$dir"
  echo "bench: $sc: starting $n threads, heap $heap MiB; load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
  start_park "$n" "$heap"
  gap_ms >/dev/null
  for tool in "${live_tools[@]}"; do
    # A look under 5 s is taken three times and the median gap kept: one
    # pause of a few ms varies by several ms from look to look.
    local gaps=() walls=() look g
    for look in 1 2 3; do
      gap_ms >/dev/null
      eval "measure $(live_cmd "$tool" "$park_pid")"
      g=$(gap_ms)
      gaps+=("$g"); walls+=("$wall")
      [ "$rc" = 0 ] || [ "$tool" = eu-stack ] || break
      awk -v w="$wall" 'BEGIN { exit !(w < 5) }' || break
    done
    if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then live[$tool|$sc]="> ${cap} s (gap ${g} ms)"
    elif [ "$rc" != 0 ] && [ "$tool" != eu-stack ]; then live[$tool|$sc]="failed ($rc)"
    elif [ ${#gaps[@]} = 1 ]; then live[$tool|$sc]=$(printf '%s ms (run %.2f s)' "$g" "$wall")
    else
      local med; med=$(printf '%s\n' "${gaps[@]}" | sort -n | sed -n 2p)
      live[$tool|$sc]=$(printf '%s ms, median of %s-%s (run %.2f s)' "$med" \
        "$(printf '%s\n' "${gaps[@]}" | sort -n | head -1)" "$(printf '%s\n' "${gaps[@]}" | sort -n | tail -1)" \
        "$(printf '%s\n' "${walls[@]}" | sort -n | sed -n 2p)")
    fi
  done
  local t0=$SECONDS need
  need=$(( (2 * n * 200 + 2 * heap * 1300) / 1024 + 2048 ))   # MiB for two cores, roughly
  local avail; avail=$(df -Pm "$dir" | awk 'NR == 2 { print $4 }')
  [ "$avail" -ge "$need" ] || die "$sc: two cores need about $need MiB, only $avail MiB free under $scratch"
  for c in a b; do
    gcore -o "$dir/core" "$park_pid" >/dev/null 2>&1 || die "gcore of $n threads failed"
    mv "$dir/core.$park_pid" "$dir/core.$c"
  done
  echo "bench: $sc: two gcores in $((SECONDS - t0)) s, $(du -sh --apparent-size "$dir/core.a" | cut -f1) each" >&2
  stop_park
  local core=$dir/core.a
  best_of "$tl" stacks --json "$core"
  record threadleak "$sc"
  local got; got=$(grep -o '"count": [0-9]*' "$last_out" | awk '{ n += $2 } END { print n + 0 }')
  if [ "$got" != "$expected_threads" ]; then
    echo "bench: threadleak saw $got threads in $core, expected $expected_threads" >&2
    failed=1
  fi
  best_of "$tl" diff "$dir/core.a" "$dir/core.b"
  record "threadleak diff" "$sc" 1
  best_of eu-stack --core "$core"
  record eu-stack "$sc" 1     # eu-stack exits 1 when some frame did not unwind
  best_of gdb -batch -ex 'thread apply all bt' "$park" "$core"
  record gdb "$sc"
  best_of lldb-19 -b -o 'thread backtrace unique' --core "$core" "$park"
  record lldb "$sc"
  rm -f "$dir"/core.*
}

# The tables' header and separator, one column per scenario in `cols`
# (print_tables' local, seen here by bash's dynamic scoping).
table_head() {
  local line="| tool |" sep="|---|" sc
  for sc in "${cols[@]}"; do line+=" $sc |"; sep+="---|"; done
  echo "$line"; echo "$sep"
}

# table_rows ARRAY TOOL...: a row per tool, cells from the associative
# array ARRAY keyed "tool|scenario".
table_rows() {
  local -n cells=$1
  shift
  local tool sc line
  for tool in "$@"; do
    line="| $tool |"; for sc in "${cols[@]}"; do line+=" ${cells[$tool|$sc]:-} |"; done; echo "$line"
  done
}

print_tables() {
  local cols=("$@") tool sc line
  local rows=(threadleak "threadleak diff" eu-stack gdb lldb)
  echo
  echo "Cores: wall, max RSS, and wall relative to \`threadleak stacks\` on the same core"
  table_head
  for tool in "${rows[@]}"; do
    line="| $tool |"
    for sc in "${cols[@]}"; do
      local c=${cell[$tool|$sc]:-} ratio=""
      local base_var="wall_of_threadleak_${sc//[^a-z0-9]/_}" tool_var="wall_of_${tool//[^a-z0-9]/_}_${sc//[^a-z0-9]/_}"
      if [ -n "${!tool_var:-}" ] && [ -n "${!base_var:-}" ]; then
        ratio=$(awk -v a="${!tool_var}" -v b="${!base_var}" 'BEGIN { if (b > 0) printf ", %.1f×", a / b }')
      elif [[ "$c" == ">"* ]] && [ -n "${!base_var:-}" ]; then
        ratio=$(awk -v a="$cap" -v b="${!base_var}" 'BEGIN { if (b > 0) printf ", > %.0f×", a / b }')
      fi
      line+=" $c$ratio |"
    done
    echo "$line"
  done
  echo
  echo "Cores: CPU seconds (user+sys) - what to compare when the machine is busy"
  table_head
  table_rows cpu "${rows[@]}"
  echo
  echo "Live: the target's longest pause (1 ms ticker's gap) during a look (median of three looks when under 5 s), and the tool's run time"
  table_head
  table_rows live "${live_tools[@]}"
}

echo "bench: $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg), cap ${cap} s, threadleak $tl" >&2
if [ $quick = 1 ]; then
  scenarios=("100 threads")
  run_scenario "100 threads" 100 0
else
  scenarios=("100 threads" "1,000 threads" "10,000 threads" "1,000 threads + ${heap_mib} MiB heap")
  run_scenario "100 threads" 100 0
  run_scenario "1,000 threads" 1000 0
  run_scenario "10,000 threads" 10000 0
  run_scenario "1,000 threads + ${heap_mib} MiB heap" "$heap_threads" "$heap_mib"
fi
echo "bench: done; load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
print_tables "${scenarios[@]}"
if [ $quick = 0 ]; then
  echo
  "$src/bench/go_vs_dlv.sh" "$build" "${GO_GOROUTINES:-10000}" || failed=1
fi
exit $failed
