# powermail: the two commands a newcomer needs are `make run` and `make test`.
GO      ?= go
BIN     := bin
GOFLAGS ?=

.PHONY: all build test vet fmt-check check-stash run clean

all: build

## build: every daemon and tool into bin/ (release build: no failpoints)
build:
	@mkdir -p $(BIN)
	$(GO) build -o $(BIN)/ ./impl/cmd/... ./loadgen/cmd/... ./sim/cmd/...

## test: vet, formatting, and every test of the module
test: check-stash fmt-check vet
	$(GO) test -count=1 -timeout 15m ./...

## test-galera: the userbase on a three-node MariaDB Galera cluster (loopback), one node killed under SMTP and POP traffic (~40 s; CI runs it)
.PHONY: test-galera
test-galera:
	$(GO) test -tags galera -count=1 -timeout 5m -run TestUserbaseSurvivesADatabaseNode -v ./impl/internal/e2e

vet:
	$(GO) vet ./...
	$(GO) vet -tags galera ./impl/internal/e2e

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

# failpoint-ctl leaves these behind when a rewrite is not undone; a release
# build made from such a tree would contain failpoint code.
check-stash:
	@left=$$(find . -name '*__failpoint_stash__*' -o -name 'binding__failpoint_binding__.go' | head -5); \
	if [ -n "$$left" ]; then echo "failpoint rewrite leftovers: $$left"; exit 1; fi

## run: a whole cluster on this machine (3 backends, R=2, embedded userbase); Ctrl-C stops it
run: build
	$(BIN)/pmdev -bin $(BIN) -dir run

clean:
	rm -rf $(BIN)

# chaos/ is also a directory: without .PHONY make could call the target up to date.
.PHONY: build-failpoints chaos-smoke chaos

## build-failpoints: the daemons with failpoints compiled in, into bin/fp/ (never bin/ itself).
# failpoint-toolexec rewrites the markers at compile time, so the tree is
# never touched; its own GOCACHE keeps the rewritten objects apart from the
# release ones (a shared cache silently mixes the two).
FPBIN   := $(BIN)/fp
FPCACHE ?= $(CURDIR)/.fpcache
build-failpoints:
	@mkdir -p $(FPBIN)
	TX=$$($(GO) tool -n failpoint-toolexec) && \
	GOCACHE=$(FPCACHE) $(GO) build -toolexec="$$TX" -o $(FPBIN)/ ./impl/cmd/...
	$(GO) build -o $(BIN)/chaos ./chaos/cmd/chaos

## chaos-smoke: every fault class once at R=2,W=2 against failpoint binaries, under each placement (CI, ~8 min)
# The Go tests first: release builds hold no failpoint code, failpoint
# builds do, a deliberately broken build is caught by the checker, and a
# real power cut of every backend (stores on FUSE: /dev/fuse and fuse3
# needed) loses nothing of a correct build and catches a broken store.
# Then the smoke tier under PowerMail's placement and under rendezvous.
CHAOS_OUT ?= results/chaos/smoke
chaos-smoke: build-failpoints
	REQUIRE_FAILPOINTS=1 FAILPOINT_BIN=$(CURDIR)/$(FPBIN) $(GO) test -count=1 -timeout 8m ./chaos/...
	$(BIN)/chaos -bin $(FPBIN) -tier smoke -seed 1 -out $(CHAOS_OUT)
	$(BIN)/chaos -bin $(FPBIN) -tier smoke -placement rendezvous -seed 1 -out $(CHAOS_OUT)-rendezvous

## chaos: the full matrix fault x phase x (R,W), power cuts on FUSE among them, once per seed; reports in results/chaos/matrix-SEED (~35 min per seed)
CHAOS_SEEDS ?= 20261201 20261202
chaos: build-failpoints
	for s in $(CHAOS_SEEDS); do $(BIN)/chaos -bin $(FPBIN) -tier matrix -seed $$s -out results/chaos/matrix-$$s || exit 1; done

## bench: the benchmark suite (loadgen/bench): machine limits, our cluster on loopback, results/ (~15 min)
# BENCH_MYSQL_DSN names a MariaDB for the userbase comparison (empty skips it).
BENCH_MYSQL_DSN ?= root@tcp(127.0.0.1:3306)/test
BENCH_NOTE      ?=
bench: build
	$(BIN)/pmbench -bin $(BIN) -out results -mysql-dsn '$(BENCH_MYSQL_DSN)' -note '$(BENCH_NOTE)'

## bench-quick: the same scenarios with small counts and one run, into results/quick (< 5 min, CI)
bench-quick: build
	$(BIN)/pmbench -bin $(BIN) -out results/quick -quick -mysql-dsn '$(BENCH_MYSQL_DSN)'

## bench-peers: Postfix + Dovecot from Debian packages on ports 2526/1111, same loadgen scenarios; ratios in results/peers.json (root; not in CI)
.PHONY: bench bench-quick bench-peers
bench-peers: build
	loadgen/peers/bench-peers.sh

## sim: every simulation scenario (sim/) into results/sim/: calibration (fitted on results/ of the last make bench), durability, scale-out, speed (1 simulated hour) (~10 min)
# SIM_BUDGET is the number of messages simulated per scale-out point.
SIM_BUDGET ?= 20000
# sim/ is also a directory: without .PHONY make would call the target up to date.
.PHONY: sim sim-day
sim:
	@mkdir -p $(BIN)
	$(GO) build -o $(BIN)/ ./sim/cmd/...
	$(BIN)/sim -scenario all -out results/sim -budget $(SIM_BUDGET)

## sim-day: the speed run in full: 1,000 backends, 10^7 mailboxes, one simulated day per policy (< 10 min each)
sim-day:
	@mkdir -p $(BIN)
	$(GO) build -o $(BIN)/ ./sim/cmd/...
	$(BIN)/sim -scenario speed -full -policy powermail -out results/sim
	$(BIN)/sim -scenario speed -full -policy rendezvous -out results/sim

## paper: draw results/chaos/outcomes.svg and regenerate paper.md's tables from results/; fails if a cited result file is missing, if the benchmark files it quotes come from several runs, or if results/sim/calibration.json was fitted on another run (order: make bench, make bench-peers, make sim, make paper)
.PHONY: paper
paper:
	$(GO) run ./sim/cmd/paper -paper paper.md -root .
