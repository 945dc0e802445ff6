#!/usr/bin/env bash
# Runs the libFuzzer targets for a short while each, seeded with real inputs
# made here: a core of a tiny static program (gcore), its note segment, and
# a snapshot file of it. Exits non-zero when a fuzzer finds a crash.
set -euo pipefail
build=${1:-build-fuzz}
seconds=${2:-20}
work=$build/fuzz-work
rm -rf "$work"
mkdir -p "$work"/{seed-core,seed-notes,seed-json,corpus-core,corpus-notes,corpus-json}

printf '#include <unistd.h>\nint main(void){pause();}\n' >"$work/tiny.c"
gcc -static -O1 -o "$work/tiny" "$work/tiny.c"
"$work/tiny" &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
sleep 0.2
gcore -o "$work/core" "$pid" >/dev/null 2>&1
core="$work/core.$pid"
cp "$core" "$work/seed-core/tiny.core"
read -r off size < <(readelf -lW "$core" | awk '$1 == "NOTE" {print $2, $5; exit}')
off=$((off)); size=$((size))
dd if="$core" of="$work/seed-notes/tiny.notes" bs=1 skip="$off" count="$size" status=none
threadleak=$(dirname "$build")/$(basename "$build" -fuzz)/analyzer/threadleak
[ -x "$threadleak" ] || threadleak=build/analyzer/threadleak
"$threadleak" snapshot --pid "$pid" -o "$work/seed-json/tiny.json" 2>/dev/null
kill $pid

# A stripped Go binary (the park sample) for fuzz_go_stripped to patch.
GO111MODULE=off GOPATH=/usr/share/gocode GOFLAGS= GOCACHE="$(realpath "$work")/gocache" \
  go build -ldflags="-s -w" -o "$work/go-stripped" samples/go/park.go samples/go/protocol.go
GO111MODULE=off GOPATH=/usr/share/gocode GOFLAGS= GOCACHE="$(realpath "$work")/gocache" \
  go build -buildmode=pie -ldflags="-s -w" -o "$work/go-pie-stripped" samples/go/park.go samples/go/protocol.go
export THREADLEAK_FUZZ_GO_BASE=$work/go-stripped
mkdir -p "$work/corpus-go" "$work/seed-go"
printf '\0\0\0\0\0' >"$work/seed-go/none"

# fuzz_pclntab: a no-op patch of that binary's pclntab, and a whole
# two-function table in the Go 1.18 format (raw mode, first byte odd).
mkdir -p "$work/corpus-pcln" "$work/seed-pcln"
printf '\0\0\0\0\0\0' >"$work/seed-pcln/none"
python3 - "$work/seed-pcln/tiny118" <<'PY'
import struct, sys
names, cutab, files = b"main.a\0main.b\0", struct.pack("<I", 0), b"a.go\0"
pctab = bytes([0, 2, 16, 0, 2, 16, 0, 22, 16, 0])    # pcsp 0, pcfile 0, pcln 10, each over 16 bytes
hdr = 8 + 8 * 8
off = [hdr, hdr + len(names), hdr + len(names) + len(cutab), hdr + len(names) + len(cutab) + len(files)]
pcln = off[3] + len(pctab)
def func(entry, name):   # entryoff nameoff args deferreturn pcsp pcfile pcln npcdata cuOffset funcID flag pad nfuncdata
    return struct.pack("<IiiIIIIII4B", entry, name, 0, 0, 1, 4, 7, 0, 0, 0, 0, 0, 0)
ftab = struct.pack("<6I", 0, 24, 16, 64, 32, 0)
table = struct.pack("<IBBBBQQQQQQQQ", 0xfffffff0, 0, 0, 1, 8, 2, 1, 0x401000, *off, pcln)
table += names + cutab + files + pctab + ftab + func(0, 0) + func(16, 7)
open(sys.argv[1], "wb").write(bytes([1, 0, 0, 0, 0]) + table)
PY

run() {  # name corpus seed max_len
  echo "fuzz: $1 for ${seconds}s"
  "$build/tests/fuzz/$1" -max_total_time="$seconds" -max_len="$4" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=0 -artifact_prefix="$work/$1-" "$2" "$3" 2>"$work/$1.log" || {
    echo "fuzz: $1 found a problem; see $work/$1.log and $work/$1-*" >&2
    tail -30 "$work/$1.log" >&2
    return 1
  }
}
run fuzz_snapshot_json "$work/corpus-json" "$work/seed-json" 65536
run fuzz_core_notes "$work/corpus-notes" "$work/seed-notes" 16384
run fuzz_core_file "$work/corpus-core" "$work/seed-core" 400000
run fuzz_go_stripped "$work/corpus-go" "$work/seed-go" 256
mkdir -p "$work/corpus-go-pie"
echo "fuzz: (on a PIE base)"; THREADLEAK_FUZZ_GO_BASE=$work/go-pie-stripped run fuzz_go_stripped "$work/corpus-go-pie" "$work/seed-go" 256
run fuzz_pclntab "$work/corpus-pcln" "$work/seed-pcln" 4096
echo "fuzz: no crash"
