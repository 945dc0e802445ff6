MAKEFLAGS += --no-print-directory
# The two commands of the README: `make demo` and `make test`. Both install
# what is missing (scripts/install-deps.sh, idempotent) and build first.
BUILD ?= build
JOBS ?= $(shell nproc)

.PHONY: all deps build demo test asan-test bench fuzz clean

all: build

deps:
	@scripts/install-deps.sh

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

demo: build
	@scripts/demo.sh $(BUILD)

test: build
	@ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS)

# The unit and core tests again under AddressSanitizer + UBSan.
asan-test: deps
	@cmake -S . -B $(BUILD)-asan -DCMAKE_BUILD_TYPE=Debug -DTHREADLEAK_SANITIZE=ON >/dev/null
	@cmake --build $(BUILD)-asan -j $(JOBS)
	@ASAN_OPTIONS=detect_leaks=1 ctest --test-dir $(BUILD)-asan --output-on-failure -j $(JOBS) -L 'unit|core|live|testing'

# The full bench (bench/run.sh: 100 to 30,000 threads, a 4 GiB heap, a Go
# core of 100,000 goroutines; ~20-25 minutes on 2 cores, ~15 GB of disk).
# Options go through BENCH_ARGS, e.g. make bench BENCH_ARGS='--cap 60'.
BENCH_ARGS ?=
bench: build
	@bench/run.sh $(BENCH_ARGS) $(BUILD)

clean:
	rm -rf $(BUILD) $(BUILD)-asan out

# Short libFuzzer runs of the parsers of untrusted input (clang build tree).
FUZZ_SECONDS ?= 20
fuzz: deps
	@CC=clang CXX=clang++ cmake -S . -B $(BUILD)-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTHREADLEAK_FUZZ=ON >/dev/null
	@cmake --build $(BUILD)-fuzz -j $(JOBS) --target fuzz_snapshot_json fuzz_core_notes fuzz_core_file fuzz_go_stripped fuzz_pclntab
	@scripts/fuzz.sh $(BUILD)-fuzz $(FUZZ_SECONDS)
