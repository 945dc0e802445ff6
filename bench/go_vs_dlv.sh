#!/usr/bin/env bash
# threadleak on a Go core with and without DWARF, next to `dlv core`, in one
# run.
#
#   bench/go_vs_dlv.sh [BUILD_DIR] [N]      (make bench runs it with N=100000)
#
# samples/go/leaksvc serves N requests (default 100000), each leaving one
# goroutine in time.Sleep, and is dumped with gcore; so is its stripped twin
# (leaksvc_stripped, -ldflags "-s -w": no DWARF, no symbol table; built here
# into the scratch directory when BUILD_DIR has none). Then, on each core:
#   - `threadleak stacks CORE`: DWARF build and stripped build, three runs
#     each, interleaved (a load spike hits both), median wall kept; the
#     stripped/DWARF ratio is the issue's target (within 20%);
#   - `dlv core BIN CORE` + `goroutines -group userloc`: on the DWARF core
#     three runs when the first takes under 20 s, else one, median kept;
#     killed at DLV_CAP seconds (default 180) and shown as "> cap"; on the
#     stripped core dlv refuses (its one-line error is shown).
# Every run is timed by /usr/bin/time (wall, user+sys CPU, max RSS) under a
# cap (CAP seconds, default 300). threadleak's largest goroutine group must
# be the time.Sleep group of exactly N goroutines on both cores, else the
# script exits 1. Cores (~730 MB each) live in BUILD_DIR/bench-go.XXXXXX and
# are removed at exit; free disk is checked before each gcore.
# GO_RESULTS=FILE: also writes "key value" lines there (n, tl_wall,
# tl_rss_kb, and dlv_wall or dlv_over) for bench/run.sh's targets table.
# THREADLEAK=/path/to/threadleak benches another build of it.
set -euo pipefail

build=${1:-build}; n=${2:-100000}
cap=${CAP:-300}
dlv_cap=${DLV_CAP:-180}
src=$(cd "$(dirname "$0")/.." && pwd)
die() { echo "go_vs_dlv: $*" >&2; exit 2; }

[[ "$n" =~ ^[0-9]+$ ]] && [ "$n" -ge 1 ] && [ "$n" -le 1000000 ] || die "N must be 1..1000000, not '$n'"
for tool in gcore dlv go /usr/bin/time timeout df; do
  command -v "$tool" >/dev/null || die "$tool is missing: run scripts/install-deps.sh"
done
build=$(cd "$build" && pwd) || die "no build directory $1"
tl=${THREADLEAK:-$build/analyzer/threadleak}
bin=$build/samples/go/leaksvc
[ -x "$tl" ] || die "no $tl: cmake --build $build --target threadleak"
[ -x "$bin" ] || die "no $bin: cmake --build $build --target go_samples"

dir=$(mktemp -d "$build/bench-go.XXXXXX")
pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

stripped=$build/samples/go/leaksvc_stripped
if [ ! -x "$stripped" ]; then
  stripped=$dir/leaksvc_stripped
  (cd "$src/samples/go" && GO111MODULE=off GOPATH=/usr/share/gocode GOFLAGS= GOTOOLCHAIN=local \
     go build -ldflags="-s -w" -o "$stripped" leaksvc.go protocol.go) || die "go build of leaksvc_stripped failed"
fi

# core_of NAME BIN: runs BIN -requests N, waits for "ready", dumps it with
# gcore to $dir/NAME.core and kills it.
core_of() {
  local name=$1 exe=$2 need avail pid line fd
  # A Go core is ~730 MB of reserved heap arenas plus ~10 KB per goroutine.
  need=$(( 1024 + n * 16 / 1024 ))
  avail=$(df -Pm "$dir" | awk 'NR == 2 { print $4 }')
  [ "$avail" -ge "$need" ] || die "a core of $name needs about $need MiB, only $avail MiB free under $dir"
  mkfifo "$dir/$name.in"
  "$exe" -requests "$n" < "$dir/$name.in" > "$dir/$name.out" 2>&1 &
  pid=$!; pids+=("$pid")
  exec {fd}> "$dir/$name.in"
  local t0=$SECONDS
  until grep -q '^ready' "$dir/$name.out"; do
    kill -0 "$pid" 2>/dev/null || die "$name exited: $(head -c 300 "$dir/$name.out")"
    [ $((SECONDS - t0)) -lt 600 ] || die "$name not ready after 600 s"
    sleep 0.2
  done
  line=$(grep -m1 '^ready' "$dir/$name.out")
  gcore -o "$dir/$name.core" "$pid" > "$dir/$name.gcore" 2>&1 || die "gcore of $name failed: $(tail -1 "$dir/$name.gcore")"
  mv "$dir/$name.core.$pid" "$dir/$name.core"
  kill -KILL "$pid"; wait "$pid" 2>/dev/null || true
  exec {fd}>&-
  echo "go_vs_dlv: $name: $line goroutines, core $(du -m --apparent-size "$dir/$name.core" | cut -f1) MB in $((SECONDS - t0)) s" >&2
}

# timed KEY CMD...: one run of CMD under $cap; appends "wall rss_kb cpu"
# to $dir/KEY.times, keeps the output in $dir/KEY.out and the status in rc.
# Wall is taken here to the microsecond (time's %e has 10 ms steps); RSS and
# CPU come from /usr/bin/time.
timed() {
  local key=$1 t0 t1; shift
  set +e
  t0=$EPOCHREALTIME
  /usr/bin/time -f '%M %U %S' -o "$dir/$key.time" timeout -k 5 "$cap" "$@" > "$dir/$key.out" 2>&1
  rc=$?
  t1=$EPOCHREALTIME
  set -e
  tail -n1 "$dir/$key.time" | awk -v t0="$t0" -v t1="$t1" '{ printf "%.3f %s %.2f\n", t1 - t0, $1, $2 + $3 }' >> "$dir/$key.times"
}

# median KEY COLUMN: the median of the runs' COLUMN (1 wall, 2 rss, 3 cpu).
median() { awk -v c="$2" '{ print $c }' "$dir/$1.times" | sort -g | awk '{ v[NR] = $0 } END { print v[int((NR + 1) / 2)] }'; }
spread() { awk -v c="$2" '{ print $c }' "$dir/$1.times" | sort -g | sed -n '1p;$p' | paste -sd-; }

# The largest goroutine group: the first "K goroutine(s) in state" header
# (groups are printed largest first), without its "[fingerprint] " tag.
largest_group() {
  grep -m1 -E '^(\[[0-9a-f]+\] )?[0-9]+ goroutines? in state' "$dir/$1.out" | sed -E 's/^\[[0-9a-f]+\] //' \
    | grep . || echo "(no goroutine group)"
}

check_group() {  # check_group KEY LABEL
  local g; g=$(largest_group "$1")
  if [[ "$g" != "$n goroutines in state sleep, with time.Sleep on top of the stack"* ]]; then
    echo "go_vs_dlv: FAIL: on the $2 core the largest group is not the time.Sleep group of $n goroutines but: $g" >&2
    failed=1
  fi
}

echo "go_vs_dlv: $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg), N=$n, threadleak $tl, $(dlv version | sed -n 2p)" >&2
core_of dwarf "$bin"
core_of stripped "$stripped"

failed=0
for i in 1 2 3; do
  for k in dwarf stripped; do
    timed "tl_$k" "$tl" stacks "$dir/$k.core"
    [ "$rc" = 0 ] || die "threadleak stacks on the $k core exited $rc: $(tail -3 "$dir/tl_$k.out")"
    [ "$i" != 1 ] || check_group "tl_$k" "$k"   # the same core gives the same groups
  done
done

printf 'goroutines -group userloc\nexit\n' > "$dir/dlv.cmds"
dlv_on() {  # dlv_on KEY BIN CORE
  timed "$1" dlv core "$2" "$3" --allow-non-terminal-interactive=true --init "$dir/dlv.cmds"
}
dlv_over=
for i in 1 2 3; do
  cap=$dlv_cap dlv_on dlv_dwarf "$bin" "$dir/dwarf.core" < /dev/null
  if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then dlv_over=$dlv_cap; break; fi
  [ "$rc" = 0 ] || die "dlv on the DWARF core exited $rc: $(tail -3 "$dir/dlv_dwarf.out")"
  awk -v w="$(tail -n1 "$dir/dlv_dwarf.times" | cut -d' ' -f1)" 'BEGIN { exit !(w < 20) }' || break
done
cap=$dlv_cap dlv_on dlv_stripped "$stripped" "$dir/stripped.core" < /dev/null
dlv_stripped_rc=$rc
dlv_refusal=$(grep -m1 . "$dir/dlv_stripped.out" || true)
# dlv's largest userloc group: "FILE:LINE in FUNC" followed by "Total: K".
dlv_group=$(awk '/^[^\t ].* in / { loc = $0 } /^\tTotal: / { print $2 "\t" loc }' "$dir/dlv_dwarf.out" \
  | sort -k1,1 -n | tail -1 | awk -F'\t' '{ print $1 " goroutines at " $2 }')

rm -f "$dir"/*.core     # the figures are in; free the disk before printing

w_d=$(median tl_dwarf 1); w_s=$(median tl_stripped 1); w_v=$(median dlv_dwarf 1)
r_d=$(median tl_dwarf 2); r_s=$(median tl_stripped 2); r_v=$(median dlv_dwarf 2)
c_d=$(median tl_dwarf 3); c_s=$(median tl_stripped 3); c_v=$(median dlv_dwarf 3)
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f×", a / b; else print "-" }'; }
row() {  # row TOOL CORE KEY WALL CPU RSS RELATIVE
  printf '| %s | %s | %.3f s (%s) | %.2f s | %d MB | %s |\n' "$1" "$2" "$4" "$(spread "$3" 1)" "$5" $(($6 / 1024)) "$7"
}
verdict=$(awk -v a="$w_s" -v b="$w_d" 'BEGIN { print (a <= 1.2 * b) ? "within the 20% target" : "OVER the 20% target" }')

echo
echo "Go core of leaksvc with $n leaked goroutines; median of the runs (min-max; threadleak 3 runs, dlv $(wc -l < "$dir/dlv_dwarf.times")), load $(cut -d' ' -f1-3 /proc/loadavg) at the end"
echo "| tool | core | wall | CPU (user+sys) | max RSS | relative (wall; CPU; RSS) |"
echo "|---|---|---|---|---|---|"
row "threadleak stacks" "DWARF" tl_dwarf "$w_d" "$c_d" "$r_d" "1 (baseline)"
row "threadleak stacks" "stripped (-s -w)" tl_stripped "$w_s" "$c_s" "$r_s" \
  "stripped/DWARF: $(ratio "$w_s" "$w_d"); $(ratio "$c_s" "$c_d"); $(ratio "$r_s" "$r_d") - $verdict"
if [ -n "$dlv_over" ]; then
  echo "| dlv core + goroutines -group userloc | DWARF | > $dlv_over s (killed at DLV_CAP) | | | vs threadleak DWARF: > $(ratio "$dlv_over" "$w_d") |"
else
  row "dlv core + goroutines -group userloc" "DWARF" dlv_dwarf "$w_v" "$c_v" "$r_v" \
    "vs threadleak DWARF: $(ratio "$w_v" "$w_d"); $(ratio "$c_v" "$c_d"); $(ratio "$r_v" "$r_d"); vs stripped: $(ratio "$w_v" "$w_s"); $(ratio "$c_v" "$c_s"); $(ratio "$r_v" "$r_s")"
fi
if [ "$dlv_stripped_rc" = 0 ]; then
  echo "| dlv core + goroutines -group userloc | stripped (-s -w) | read it (exit 0): $(grep -c Total "$dir/dlv_stripped.out") groups | | | |"
else
  echo "| dlv core + goroutines -group userloc | stripped (-s -w) | refused, exit $dlv_stripped_rc: \"$dlv_refusal\" | | | |"
fi
echo
echo "largest goroutine group - threadleak, DWARF core: $(largest_group tl_dwarf)"
echo "largest goroutine group - threadleak, stripped core: $(largest_group tl_stripped)"
echo "largest goroutine group - dlv, DWARF core: ${dlv_group:-(none: killed at the cap)}"
if [ -n "${GO_RESULTS:-}" ]; then
  { echo "n $n"; echo "tl_wall $w_d"; echo "tl_rss_kb $r_d"
    if [ -n "$dlv_over" ]; then echo "dlv_over $dlv_over"; else echo "dlv_wall $w_v"; fi; } > "$GO_RESULTS"
fi
exit $failed
