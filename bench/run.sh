#!/usr/bin/env bash
# threadleak against eu-stack, gdb and lldb-19 (and dlv on a Go core) on the
# same cores and live processes, in one run, with the issue's targets.
#
#   bench/run.sh [--quick] [--cap S] [--big-cap S] [--no-build] [--no-go] [BUILD_DIR]
#   (make bench runs it; make bench BENCH_ARGS='--cap 60' passes options)
#
# For each scenario the park sample parks N threads four ways (condvar,
# mutex, sleep, pipe read; 64 KiB stacks) with a 1 ms ticker thread, and is
# dumped twice with gcore (core.a, core.b). While it runs, each tool takes
# live looks at it and the ticker's longest gap is read back after each:
# the pause the target suffered. threadleak takes LOOKS looks (default 5),
# a peer three when one takes under 5 s, else one; the median is shown with
# the range. Then every tool reads the same cores, timed (wall to the
# microsecond; CPU and max RSS from /usr/bin/time; best of three for runs
# under 5 s), and `threadleak diff core.a core.b` is timed too (the peers
# have no diff).
#
# Scenarios: THREADS threads each (default "100 1000 10000 30000"), then
# HEAP_THREADS (1000) threads with a HEAP_MIB (4096; 0 skips it) MiB mostly
# untouched heap. A scenario the kernel has no room for (pid_max,
# threads-max, vm.max_map_count: 2 maps a thread) is skipped and said so.
# Peers are killed at --cap (120 s), and above 10,000 threads at --big-cap
# (60 s), shown as "> cap". From KERNEL_DUMP_FROM (10001) threads on, the
# kernel dumps the park instead of gcore (gdb 13's gcore of 30,000 threads
# ran for over 14 minutes here): its own RLIMIT_CORE raised with prlimit,
# SIGABRT, the core taken from its cwd (core_pattern "core"; any other
# pattern falls back to gcore), and core.b is a copy of core.a; above
# 10,000 threads with gcore, core.b is a copy when the first took over 60 s.
# Then bench/go_vs_dlv.sh: a Go core of GO_GOROUTINES (100000; 0 skips it)
# leaked goroutines, DWARF and stripped builds, against `dlv core` (capped
# at DLV_CAP, 180 s); a wrong goroutine count there fails the bench too.
# Tables: cores (wall, RSS, peer/threadleak ratio), CPU, live pauses (with
# ratios), cost per thread, the Go table, the targets of issue 18 each with
# met / NOT met, and the whole run's wall time.
# --quick: 100 threads only, no heap, no Go (CTest runs it, label bench; it
# fails if threadleak misses a thread, never on a figure).
# Cores live in BUILD_DIR/bench-scratch.PID and are removed at exit.
# THREADLEAK=/path/to/threadleak benches another build of it (e.g. a saved
# baseline) against the same peers. The machine's load is printed: on a
# shared machine wall times are noisy; the CPU table is what to compare then.
set -euo pipefail
export LC_ALL=C
run_t0=$EPOCHREALTIME

quick=0
nobuild=0
nogo=0
cap_all=120
big_cap=60
kernel_dump_from=${KERNEL_DUMP_FROM:-10001}
build=build
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=1 ;;
    --no-build) nobuild=1 ;;
    --no-go) nogo=1 ;;
    --cap) cap_all=$2; shift ;;
    --big-cap) big_cap=$2; shift ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) build=$1 ;;
  esac
  shift
done
die() { echo "bench: $*" >&2; exit 2; }

threads_list=${THREADS:-100 1000 10000 30000}
heap_mib=${HEAP_MIB:-4096}
heap_threads=${HEAP_THREADS:-1000}
looks=${LOOKS:-5}
go_n=${GO_GOROUTINES:-100000}
if [ $quick = 1 ]; then threads_list=100; heap_mib=0; nogo=1; fi
[ "$go_n" != 0 ] || nogo=1
for v in $threads_list $heap_mib $heap_threads $looks $go_n $cap_all $big_cap $kernel_dump_from; do
  [[ "$v" =~ ^[0-9]+$ ]] || die "not a whole number: '$v' (THREADS, HEAP_MIB, HEAP_THREADS, LOOKS, GO_GOROUTINES, KERNEL_DUMP_FROM, --cap, --big-cap)"
done
[ "$looks" -ge 1 ] || die "LOOKS must be at least 1"
src=$(cd "$(dirname "$0")/.." && pwd)

for tool in gcore eu-stack gdb lldb-19 prlimit /usr/bin/time timeout; do
  command -v "$tool" >/dev/null || die "$tool is missing: run scripts/install-deps.sh"
done
if [ $nobuild = 0 ]; then
  if [ ! -f "$build/CMakeCache.txt" ]; then
    cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  fi
  targets=(threadleak sample_park)
  [ $nogo = 1 ] || targets+=(go_samples)
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

# Results, keyed "tool|scenario": cell (core table text), w (core wall, s),
# c (CPU s), over (the cap a run was killed at), live (live table text),
# p (median pause, ms), pover (pause of a look killed at the cap, ms).
declare -A cell cpu w c over live p pover nthreads skipped
failed=0
cap=$cap_all

commas() { echo "$1" | sed -e ':a' -e 's/\([0-9]\)\([0-9]\{3\}\)\($\|,\)/\1,\2\3/' -e 'ta'; }
fmt_s() { awk -v x="$1" 'BEGIN { if (x < 10) printf "%.3f s", x; else printf "%.1f s", x }'; }
# ratio A B [PREFIX]: ", A/B×" (whole numbers from 10 on), or nothing.
ratio() {
  awk -v a="$1" -v b="$2" -v pre="${3:-}" 'BEGIN { if (a == "" || b == "" || b <= 0) exit
    r = a / b; printf (r >= 10 ? ", %s%.0f×" : ", %s%.1f×"), pre, r }'
}

# measure CMD...: runs CMD under $cap; sets wall (s, to the microsecond),
# rss (KB), cpus (user+sys s) and rc.
measure() {
  local tf=$scratch/time.$$ out=$scratch/out.$$ t0 t1 u s
  set +e
  t0=$EPOCHREALTIME
  /usr/bin/time -f '%M %U %S' -o "$tf" timeout -k 5 "$cap" "$@" >"$out" 2>"$out.err"
  rc=$?
  t1=$EPOCHREALTIME
  set -e
  read -r rss u s < <(tail -n1 "$tf") || true
  [[ "${rss:-}" =~ ^[0-9]+$ ]] || { rss=0; u=0; s=0; }
  wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f", b - a }')
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
  local tool=$1 sc=$2 k="$1|$2"; shift 2
  local ok=0 st
  for st in 0 "$@"; do [ "$rc" = "$st" ] && ok=1; done
  if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
    cell[$k]="> ${cap} s"; cpu[$k]="-"; over[$k]=$cap
  elif [ $ok = 0 ]; then
    cell[$k]="failed ($rc)"; cpu[$k]="-"
    echo "bench: $tool on $sc exited $rc: $(head -c 300 "$last_out.err")" >&2
  else
    cell[$k]="$(fmt_s "$wall"), $((rss / 1024)) MB"
    cpu[$k]=$cpus; w[$k]=$wall; c[$k]=$cpus
  fi
}

start_park() {  # start_park THREADS [HEAP_MIB]
  local q=$(($1 / 4))
  local args=(--condvar "$q" --mutex "$q" --sleep "$q" --read $(($1 - 3 * q)) --stack-kib 64 --ticker)
  [ "${2:-0}" -gt 0 ] && args+=(--heap-mib "$2")
  coproc PARK { cd "$scratch" && exec "$park" "${args[@]}"; }   # a kernel dump lands in its cwd
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

# kernel_dump PATH: the kernel dumps the park (SIGABRT with its own
# RLIMIT_CORE raised; the host's limits and core_pattern are not touched)
# into PATH; false when core_pattern does not write a file in its cwd.
kernel_dump() {
  local pattern f
  pattern=$(cat /proc/sys/kernel/core_pattern)
  case "$pattern" in core|core.%p) ;; *) return 1 ;; esac
  rm -f "$scratch/core" "$scratch/core.$park_pid"
  prlimit --pid "$park_pid" --core=unlimited:unlimited || return 1
  kill -ABRT "$park_pid"
  wait "$park_pid" 2>/dev/null || true
  exec {park_in}>&- {park_out}<&-
  park_pid=
  for f in "$scratch/core" "$scratch/core".*; do
    [ -f "$f" ] && { mv "$f" "$1"; return 0; }
  done
  die "the kernel wrote no core of the park under $scratch (core_pattern '$pattern')"
}

stop_park() {
  [ -n "$park_pid" ] || return 0
  echo quit >&"$park_in" || true
  wait "$park_pid" 2>/dev/null || true
  exec {park_in}>&- {park_out}<&-
  park_pid=
}

# no_room N: why N more threads do not fit on this kernel now, or nothing.
no_room() {
  local n=$1 total pid_max tmax maps
  total=$(awk '{ split($4, a, "/"); print a[2] }' /proc/loadavg)
  pid_max=$(cat /proc/sys/kernel/pid_max); tmax=$(cat /proc/sys/kernel/threads-max)
  maps=$(cat /proc/sys/vm/max_map_count)
  if [ $((total + n + 500)) -gt "$pid_max" ]; then echo "kernel.pid_max is $pid_max and $total threads run already"
  elif [ $((total + n + 500)) -gt "$tmax" ]; then echo "kernel.threads-max is $tmax and $total threads run already"
  elif [ $((2 * n + 1000)) -gt "$maps" ]; then echo "vm.max_map_count $maps is under 2 maps a thread"
  fi
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
# peer_cap N: the cap of a peer in a scenario of N threads.
peer_cap() { if [ "$1" -gt 10000 ]; then echo "$big_cap"; else echo "$cap_all"; fi; }

run_scenario() {  # run_scenario NAME THREADS HEAP_MIB
  local sc=$1 n=$2 heap=$3 dir=$scratch/scenario cap=$cap_all why
  nthreads[$sc]=$n
  why=$(no_room "$n")
  if [ -n "$why" ]; then
    echo "bench: $sc: skipped: $why" >&2
    skipped[$sc]=$why
    return
  fi
  mkdir -p "$dir"
  echo "bench: $sc: starting $n threads, heap $heap MiB; load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
  start_park "$n" "$heap"
  gap_ms >/dev/null
  local tool
  for tool in "${live_tools[@]}"; do
    # threadleak looks $looks times; a peer three times when a look takes
    # under 5 s (one pause of a few ms varies by several ms from look to
    # look), else once. The median gap is kept.
    local gaps=() walls=() look g nlooks=3 k="$tool|$sc"
    cap=$cap_all
    if [ "$tool" = threadleak ]; then nlooks=$looks; else cap=$(peer_cap "$n"); fi
    for ((look = 1; look <= nlooks; look++)); do
      gap_ms >/dev/null
      eval "measure $(live_cmd "$tool" "$park_pid")"
      g=$(gap_ms)
      gaps+=("$g"); walls+=("$wall")
      [ "$rc" = 0 ] || [ "$tool" = eu-stack ] || break
      [ "$tool" = threadleak ] || awk -v w="$wall" 'BEGIN { exit !(w < 5) }' || break
    done
    local cnt=${#gaps[@]} mid med lo hi
    mid=$(((cnt + 1) / 2))
    med=$(printf '%s\n' "${gaps[@]}" | sort -g | sed -n "${mid}p")
    lo=$(printf '%s\n' "${gaps[@]}" | sort -g | head -1)
    hi=$(printf '%s\n' "${gaps[@]}" | sort -g | tail -1)
    local run; run=$(fmt_s "$(printf '%s\n' "${walls[@]}" | sort -g | sed -n "${mid}p")")
    if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
      live[$k]="> ${cap} s (gap ${g} ms)"; pover[$k]=$g
    elif [ "$rc" != 0 ] && [ "$tool" != eu-stack ]; then
      live[$k]="failed ($rc)"
    elif [ "$cnt" = 1 ]; then
      live[$k]="$g ms (run $run)"; p[$k]=$g
    else
      live[$k]="$med ms, median of $cnt: $lo-$hi (run $run)"; p[$k]=$med
    fi
  done
  cap=$cap_all
  local t0=$SECONDS need avail
  need=$(( (2 * n * 200 + 2 * heap * 1300) / 1024 + 2048 ))   # MiB for two cores, roughly
  avail=$(df -Pm "$dir" | awk 'NR == 2 { print $4 }')
  [ "$avail" -ge "$need" ] || die "$sc: two cores need about $need MiB, only $avail MiB free under $scratch"
  local first how
  if [ "$n" -ge "$kernel_dump_from" ] && kernel_dump "$dir/core.a"; then
    # gdb 13's gcore of 30,000 threads ran for over 14 minutes here: above
    # KERNEL_DUMP_FROM threads the kernel dumps the park (it ends), and
    # core.b is a copy.
    cp "$dir/core.a" "$dir/core.b"; how="a kernel dump and a copy of it"
  else
  gcore -o "$dir/core" "$park_pid" >/dev/null 2>&1 || die "gcore of $n threads failed"
  mv "$dir/core.$park_pid" "$dir/core.a"
  first=$((SECONDS - t0)); how="two gcores"
  if [ "$n" -gt 10000 ] && [ "$first" -gt 60 ]; then
    cp "$dir/core.a" "$dir/core.b"; how="a gcore ($first s) and a copy of it"
  else
    gcore -o "$dir/core" "$park_pid" >/dev/null 2>&1 || die "gcore of $n threads failed"
    mv "$dir/core.$park_pid" "$dir/core.b"
  fi
  fi
  echo "bench: $sc: $how in $((SECONDS - t0)) s, $(du -sh --apparent-size "$dir/core.a" | cut -f1) each" >&2
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
  cap=$(peer_cap "$n")
  best_of eu-stack --core "$core"
  record eu-stack "$sc" 1     # eu-stack exits 1 when some frame did not unwind
  best_of gdb -batch -ex 'thread apply all bt' "$park" "$core"
  record gdb "$sc"
  best_of lldb-19 -b -o 'thread backtrace unique' --core "$core" "$park"
  record lldb "$sc"
  cap=$cap_all
  rm -rf "$dir"
}

# The tables' header and separator, one column per scenario in `cols`
# (the caller's local, seen here by bash's dynamic scoping).
table_head() {
  local line="| $1 |" sep="|---|" sc
  for sc in "${cols[@]}"; do line+=" $sc |"; sep+="---|"; done
  echo "$line"; echo "$sep"
}

# cell_of TEXT KEY SCENARIO: a cell; a skipped scenario says so.
cell_of() {
  if [ -n "${skipped[$3]:-}" ]; then echo "skipped"; else echo "${1:-}"; fi
}

# table_rows TOOLS CELLS NUMBERS [OVER]: one row a tool, each cell its text and
# its number's ratio to threadleak's in that scenario; OVER (optional) holds the
# cap a tool ran over, shown as "> ratio". Arrays are passed by name; the
# columns are the caller's `cols`.
table_rows() {
  local -n tr_tools=$1 tr_cells=$2 tr_nums=$3
  local -A tr_none=()
  local -n tr_over=${4:-tr_none}
  local tool sc k b line
  for tool in "${tr_tools[@]}"; do
    line="| $tool |"
    for sc in "${cols[@]}"; do
      k="$tool|$sc" b="threadleak|$sc"
      if [ -n "${tr_over[$k]:-}" ]; then line+=" $(cell_of "${tr_cells[$k]}" "$k" "$sc")$(ratio "${tr_over[$k]}" "${tr_nums[$b]:-}" "> ") |"
      else line+=" $(cell_of "${tr_cells[$k]:-}" "$k" "$sc")$(ratio "${tr_nums[$k]:-}" "${tr_nums[$b]:-}") |"; fi
    done
    echo "$line"
  done
}

print_tables() {
  local cols=("$@")
  local rows=(threadleak "threadleak diff" eu-stack gdb lldb)
  echo
  echo "Cores: wall, max RSS, and wall relative to \`threadleak stacks\` on the same core (peers have no diff)"
  table_head tool
  table_rows rows cell w over
  echo
  echo "Cores: CPU seconds (user+sys) and relative to \`threadleak stacks\` - what to compare when the machine is busy"
  table_head tool
  table_rows rows cpu c
  echo
  echo "Live: the target's longest pause (1 ms ticker's gap) during a look, median of the looks, its range, the tool's run time, and the pause relative to threadleak's"
  table_head tool
  table_rows live_tools live p pover
}

# per_thread ARRAY KEY SCENARIO PREV_SCENARIO UNIT_S: wall (or pause) ÷
# threads in µs, and the marginal cost from the previous scenario.
per_thread() {
  local -n arr=$1
  local k=$2 sc=$3 prev=$4 unit=$5 n=${nthreads[$3]} pk px= pn=
  [ -z "${skipped[$sc]:-}" ] || { echo "skipped"; return; }
  if [ -z "${arr[$k]:-}" ] && [ -n "${over[$k]:-}" ] && [ "$unit" = 1 ]; then
    awk -v x="${over[$k]}" -v n="$n" 'BEGIN { printf "> %.0f µs", x / n * 1e6 }'; return
  fi
  [ -n "${arr[$k]:-}" ] || { echo "-"; return; }
  if [ -n "$prev" ]; then pk="${k%|*}|$prev"; px=${arr[$pk]:-}; pn=${nthreads[$prev]:-}; fi
  awk -v x="${arr[$k]}" -v n="$n" -v u="$unit" -v px="$px" -v pn="$pn" 'BEGIN {
    v = x * u / n * 1e6; printf (v >= 100 ? "%.0f µs" : "%.2f µs"), v
    if (px != "" && pn != "" && n > pn) printf " (%+.2f from %d)", (x - px) * u / (n - pn) * 1e6, pn }'
}

print_per_thread() {
  local cols=("$@") tool sc prev line
  echo
  echo "Cost per thread: wall (live: pause) ÷ threads in µs, and in brackets the µs each thread added since the previous scenario cost; flat means the bracket stays the same"
  table_head "tool"
  for tool in threadleak "threadleak diff" eu-stack gdb lldb; do
    line="| $tool (core) |"; prev=
    for sc in "${cols[@]}"; do line+=" $(per_thread w "$tool|$sc" "$sc" "$prev" 1) |"; prev=$sc; done
    echo "$line"
  done
  line="| threadleak (live pause) |"; prev=
  for sc in "${cols[@]}"; do line+=" $(per_thread p "threadleak|$sc" "$sc" "$prev" 0.001) |"; prev=$sc; done
  echo "$line"
}

# The targets of issue 18, each with what this run measured.
target_row() {  # target_row WHAT GOAL MEASURED VERDICT
  echo "| $1 | $2 | $3 | $4 |"
}
verdict() {  # verdict VALUE LIMIT: met when VALUE <= LIMIT
  if [ -z "$1" ]; then echo "not measured"
  else awk -v v="$1" -v l="$2" 'BEGIN { print (v <= l) ? "met" : "**NOT met**" }'; fi
}
# flat ARRAY TOOL UNIT: "a -> b µs a thread" from the last three thread
# scenarios' marginal costs, and met when the last is within 1.5x the one before.
flat_row() {
  local -n arr=$1
  local tool=$2 unit=$3 what=$4 n=${#thread_scs[@]}
  if [ "$n" -lt 3 ]; then target_row "$what" "marginal µs a thread within 1.5×" "needs three thread counts" "not measured"; return; fi
  local s1=${thread_scs[n-3]} s2=${thread_scs[n-2]} s3=${thread_scs[n-1]}
  local a=${arr[$tool|$s1]:-} b=${arr[$tool|$s2]:-} x=${arr[$tool|$s3]:-}
  if [ -z "$a" ] || [ -z "$b" ] || [ -z "$x" ]; then target_row "$what" "marginal µs a thread within 1.5×" "-" "not measured"; return; fi
  local m1 m2
  m1=$(awk -v a="$a" -v b="$b" -v na="${nthreads[$s1]}" -v nb="${nthreads[$s2]}" -v u="$unit" 'BEGIN { printf "%.2f", (b - a) * u / (nb - na) * 1e6 }')
  m2=$(awk -v a="$b" -v b="$x" -v na="${nthreads[$s2]}" -v nb="${nthreads[$s3]}" -v u="$unit" 'BEGIN { printf "%.2f", (b - a) * u / (nb - na) * 1e6 }')
  target_row "$what" "marginal µs a thread within 1.5×" "$m1 ($s1 to $s2), $m2 ($s2 to $s3)" \
    "$(awk -v a="$m1" -v b="$m2" 'BEGIN { print (b <= 1.5 * a || b <= 1) ? "met" : "**NOT met**" }')"
}

print_targets() {
  local s1k="1,000 threads" s10k="10,000 threads" k rssmb
  echo
  echo "Targets (issue 18), this run"
  echo "| target | goal | measured | verdict |"
  echo "|---|---|---|---|"
  k="threadleak|$s10k"
  target_row "10,000-thread core: \`threadleak stacks\` wall" "<= 0.06 s" \
    "${w[$k]:+$(fmt_s "${w[$k]}")}" "$(verdict "${w[$k]:-}" 0.06)"
  rssmb=$(sed -n 's/.*, \([0-9]*\) MB$/\1/p' <<<"${cell[$k]:-}")
  target_row "10,000-thread core: \`threadleak stacks\` max RSS" "<= 50 MB" "${rssmb:+$rssmb MB}" "$(verdict "$rssmb" 50)"
  k="threadleak diff|$s10k"
  target_row "two 10,000-thread cores: \`threadleak diff\` wall" "<= 0.12 s" \
    "${w[$k]:+$(fmt_s "${w[$k]}")}" "$(verdict "${w[$k]:-}" 0.12)"
  k="threadleak|$s1k"
  target_row "live, 1,000 threads: median pause" "<= 8 ms" "${p[$k]:+${p[$k]} ms}" "$(verdict "${p[$k]:-}" 8)"
  k="threadleak|$s10k"
  target_row "live, 10,000 threads: median pause" "<= 60 ms" "${p[$k]:+${p[$k]} ms}" "$(verdict "${p[$k]:-}" 60)"
  if [ -s "$scratch/go.results" ]; then
    local -A g
    local key val
    while read -r key val; do g[$key]=$val; done < "$scratch/go.results"
    local what="Go core, $(commas "${g[n]}") leaked goroutines: \`threadleak stacks\`"
    [ "${g[n]}" = 100000 ] || what+=" (the target is for 100,000)"
    local dlv="dlv: ${g[dlv_wall]:-?} s"
    [ -z "${g[dlv_over]:-}" ] || dlv="dlv: > ${g[dlv_over]} s"
    target_row "$what wall" "<= 1 s" "$(fmt_s "${g[tl_wall]}") ($dlv$(ratio "${g[dlv_wall]:-${g[dlv_over]:-}}" "${g[tl_wall]}" "${g[dlv_over]:+> }"))" \
      "$(verdict "${g[tl_wall]}" 1)"
    target_row "$what max RSS" "<= 200 MB" "$((g[tl_rss_kb] / 1024)) MB" "$(verdict $((g[tl_rss_kb] / 1024)) 200)"
  else
    target_row "Go core, 100,000 leaked goroutines: \`threadleak stacks\`" "<= 1 s, <= 200 MB" "-" "not measured"
  fi
  flat_row w threadleak 1 "cost per thread flat: \`threadleak stacks\` on cores"
  flat_row w "threadleak diff" 1 "cost per thread flat: \`threadleak diff\` on cores"
  flat_row p threadleak 0.001 "cost per thread flat: live pause"
}

echo "bench: $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg), cap ${cap_all} s (peers above 10,000 threads ${big_cap} s), threadleak $tl" >&2
scenarios=() thread_scs=()
for n in $(printf '%s\n' $threads_list | sort -n -u); do
  sc="$(commas "$n") threads"
  scenarios+=("$sc"); thread_scs+=("$sc")
  run_scenario "$sc" "$n" 0
done
if [ "$heap_mib" -gt 0 ]; then
  sc="$(commas "$heap_threads") threads + ${heap_mib} MiB heap"
  scenarios+=("$sc")
  run_scenario "$sc" "$heap_threads" "$heap_mib"
fi
echo "bench: threads done; load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
print_tables "${scenarios[@]}"
print_per_thread "${thread_scs[@]}"
if [ $nogo = 0 ]; then
  echo
  GO_RESULTS=$scratch/go.results "$src/bench/go_vs_dlv.sh" "$build" "$go_n" || failed=1
fi
print_targets
echo
awk -v a="$run_t0" -v b="$EPOCHREALTIME" -v l="$(cut -d' ' -f1-3 /proc/loadavg)" \
  'BEGIN { t = b - a; printf "Whole run: %d min %02d s (load at the end %s)\n", t / 60, t % 60, l }'
exit $failed
