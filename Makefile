# cmaemu — build, test and demo. Every target installs what is missing first.

SHELL := /bin/bash
DEPS := $(CURDIR)/.deps
GO ?= go

# Unicorn: emu/unicorn's #cgo directives look in .deps/ (scripts/setup.sh);
# a system Unicorn >= 2.1 in a non-default prefix is added through pkg-config.
UC_SYSTEM := $(shell pkg-config --atleast-version=2.1 unicorn 2>/dev/null && echo yes)
ifeq ($(UC_SYSTEM),yes)
export CGO_CFLAGS := $(shell pkg-config --cflags unicorn)
export CGO_LDFLAGS := $(shell pkg-config --libs-only-L unicorn)
endif
export CGO_ENABLED := 1

.PHONY: all setup build guests test golden demo demo-html bench bench-quick vet clean fuzz fuzz-run mpi setup-mpi-i386 cpu-fuzz soak

all: build

setup:
	@bash scripts/setup.sh

build: setup guests
	$(GO) build -o bin/cmaemu ./cmd/cmaemu

guests: setup
	@$(MAKE) --no-print-directory -C testdata

vet: setup
	@bad=$$(gofmt -l $$(find . -name '*.go' -not -path './.deps/*')); test -z "$$bad" || { echo "gofmt: these files need formatting: $$bad"; exit 1; }
	$(GO) vet ./...

# TEST_TIMEOUT bounds each test binary: the guest suites take minutes on
# two busy cores, more than go test's default of ten.
TEST_TIMEOUT ?= 40m
test: build vet
	$(GO) test -count=1 -timeout $(TEST_TIMEOUT) ./...
	$(GO) test -count=1 -timeout $(TEST_TIMEOUT) -race ./mm/... ./syscalls/... ./fs/...
	@echo "== the guests with processes, threads and CMA, under cmaemu built with the race detector =="
	$(GO) build -race -o bin/cmaemu-race ./cmd/cmaemu
	CMAEMU=$(CURDIR)/bin/cmaemu-race $(GO) test -count=1 -timeout $(TEST_TIMEOUT) -run 'TestGuests/(cma|proc|thr_|mm_unmap_race|rel_|net_|ev_|ipc_)' ./tests
	set -o pipefail; CMAEMU=$(CURDIR)/bin/cmaemu-race $(GO) test -count=1 -timeout $(TEST_TIMEOUT) -v -run 'TestSoak|TestRandomCode' ./tests | grep -E '^(---|ok|FAIL|PASS)|(soak|randcode)_test.go'
	@echo "== the i386 guests against their golden files, as on a host that cannot run i386 =="
	CMAEMU=$(CURDIR)/bin/cmaemu CMAEMU_I386_ORACLE=golden $(GO) test -count=1 -timeout $(TEST_TIMEOUT) -run 'TestGuests/.*/i386$$|TestGuests/cma_cross' ./tests
	@echo "== the randomized CPU suite: $(CPU_BATCHES_SHORT) batches from seed $(CPU_SEED_SHORT) =="
	CMAEMU=$(CURDIR)/bin/cmaemu $(GO) test -count=1 -timeout $(TEST_TIMEOUT) -run TestDifferential ./tests/cpu -args -cpu.seed $(CPU_SEED_SHORT) -cpu.batches $(CPU_BATCHES_SHORT)
	@echo "== each fuzz target for $(FUZZTIME_SHORT) =="
	@$(MAKE) --no-print-directory fuzz-run FUZZTIME=$(FUZZTIME_SHORT)

# Fuzz targets (package:Target), each run for FUZZTIME by make fuzz and
# for FUZZTIME_SHORT inside make test; go test ./... runs their seeds.
# New inputs are kept in Go's fuzz cache; a failing one is written to the
# package's testdata/fuzz/.
FUZZ_TARGETS := mm:FuzzOps loader:FuzzLoad loader:FuzzLoadBinaries syscalls:FuzzIovecImport syscalls:FuzzSyscalls
FUZZTIME ?= 5m
FUZZTIME_SHORT ?= 8s
fuzz: build
	@$(MAKE) --no-print-directory fuzz-run

fuzz-run:
	@for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; name=$${t#*:}; echo "== fuzz $$pkg $$name for $(FUZZTIME) =="; \
		$(GO) test -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 5s ./$$pkg 2>&1 | \
			grep -v '^fuzz: elapsed' ; test $${PIPESTATUS[0]} -eq 0 || exit 1; \
	done

# The randomized differential CPU suite (tests/cpu): random instruction
# sequences natively and under cmaemu, from a new seed, for CPU_FUZZTIME.
# A difference not in the table of tests/cpu/known.go fails with the seed
# that reproduces it. Inside make test it runs a fixed set of batches
# (about 30 s), the same on every run, so that a test run passes or fails
# by the code alone; make cpu-fuzz explores new seeds.
CPU_FUZZTIME ?= 10m
CPU_SEED_SHORT ?= 1000
CPU_BATCHES_SHORT ?= 16
cpu-fuzz: build
	CMAEMU=$(CURDIR)/bin/cmaemu $(GO) test -count=1 -timeout 0 -run TestDifferential ./tests/cpu -args -cpu.seed 0 -cpu.time $(CPU_FUZZTIME)

# The soak (tests/soak_test.go, testdata/src/soak.c): 256 guest processes
# doing random CMA, fork/exit, mmap churn, shared file and shared anonymous
# memory and signals, SOAK_OPS operations each, under the race build of
# cmaemu, compared with the native run; the frames in use must be back to
# their start. Then random code (tests/randcode_test.go): RANDCODE_SEEDS
# seeds of RANDCODE_BLOBS random blobs, x86-64 and i386. make test runs
# both with small budgets.
SOAK_OPS ?= 600
SOAK_TIMEOUT ?= 1200
RANDCODE_SEEDS ?= 8
RANDCODE_BLOBS ?= 5000
soak: build
	$(GO) build -race -o bin/cmaemu-race ./cmd/cmaemu
	set -o pipefail; CMAEMU=$(CURDIR)/bin/cmaemu-race SOAK_OPS=$(SOAK_OPS) SOAK_TIMEOUT=$(SOAK_TIMEOUT) SOAK_VARIANTS="glibc musl" \
		RANDCODE_SEEDS=$(RANDCODE_SEEDS) RANDCODE_BLOBS=$(RANDCODE_BLOBS) \
		$(GO) test -count=1 -v -timeout 90m -run 'TestSoak|TestRandomCode' ./tests | grep -E '^(---|ok|FAIL|PASS)|(soak|randcode)_test.go'

# Open MPI jobs (testdata/mpi: a ping-pong from 8 B to 16 MiB over
# vader with and without the cma single-copy mechanism, an allreduce on 4
# ranks) natively and under one cmaemu instance, with the CMA calls
# counted from its trace (tests/mpi_test.go).
# The same jobs as i386 programs (tests/mpi_i386_test.go): Debian's i386
# Open MPI unpacked into .deps/i386-mpi as a sysroot (setup-mpi-i386), the
# whole job under cmaemu -L, against the x86-64 job run natively.
mpi: build setup-mpi-i386
	CMAEMU=$(CURDIR)/bin/cmaemu CMAEMU_MPI=1 CMAEMU_MPI_I386=$(DEPS)/i386-mpi $(GO) test -count=1 -timeout $(TEST_TIMEOUT) -v -run TestOpenMPI ./tests

setup-mpi-i386:
	@bash scripts/setup-mpi-i386.sh

# Records testdata/golden/ (the i386 oracle of hosts that cannot run i386):
# natively where this host runs i386, else from the fallback oracles of
# tests/golden_i386_test.go. Review the diff before committing it.
golden: build
	CMAEMU_GOLDEN=record $(GO) test -count=1 -v -run TestRecordGolden ./tests
	@git status --short testdata/golden

# The default scenario, narrated, and its page (bin/demo/cma.html).
demo: build
	@mkdir -p bin/demo
	bin/cmaemu demo --html bin/demo/cma.html

# Every scenario's page, and a screenshot of each in headless chromium
# (bin/demo/SCENARIO.html and .png, 1600x1000: what a projector shows).
CHROMIUM_FLAGS := --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
	--disable-background-networking --disable-component-update --disable-sync \
	--hide-scrollbars --window-size=1600,1000
demo-html: build
	@mkdir -p bin/demo
	@for s in $$(bin/cmaemu demo --list | awk '{print $$1}'); do \
		bin/cmaemu demo --color=never $$s --html bin/demo/$$s.html >/dev/null || exit 1; \
		profile=$$(mktemp -d); \
		chromium $(CHROMIUM_FLAGS) --user-data-dir=$$profile --screenshot=$(CURDIR)/bin/demo/$$s.png \
			file://$(CURDIR)/bin/demo/$$s.html >/dev/null 2>&1; rm -rf $$profile; \
		test -s bin/demo/$$s.png || { echo "demo-html: no screenshot of $$s"; exit 1; }; \
		echo "bin/demo/$$s.html bin/demo/$$s.png"; \
	done

# The benchmark guests (bench/src -> bench/bin), the harness (native vs
# qemu-user vs cmaemu, table + goals + bench/results.json; see
# bench/README.md), then the mm Go benchmarks. Harness flags go in
# BENCHFLAGS, e.g. make bench BENCHFLAGS='-quick' or BENCHFLAGS='-only cma'.
BENCHFLAGS ?=
bench: build
	@$(MAKE) --no-print-directory -C bench
	$(GO) run ./bench $(BENCHFLAGS)
	$(GO) test -run '^$$' -bench . -benchmem ./mm/...

# A short run (a minute or two) of the workloads that guard
# performance-sensitive changes, quick sizes, into bench/quick.json. With
# BENCH_BASE=OLD.json it then compares against that earlier run and fails
# when cmaemu got worse (go run ./bench -compare -gate; see bench/README.md).
BENCH_QUICK_ONLY ?= ^(cpu_|sys_|wake_|mem_mmap$$|mem_fork$$|thr_mutex$$|proc_mutex$$)
BENCH_QUICK_OUT ?= bench/quick.json
BENCH_BASE ?=
bench-quick: build
	@$(MAKE) --no-print-directory -C bench
	$(GO) run ./bench -quick -only '$(BENCH_QUICK_ONLY)' -out $(BENCH_QUICK_OUT) $(BENCHFLAGS)
	@if [ -n "$(BENCH_BASE)" ]; then \
		$(GO) run ./bench -compare -gate -threshold 15 $(BENCH_BASE) $(BENCH_QUICK_OUT); fi

clean:
	rm -rf bin testdata/bin
