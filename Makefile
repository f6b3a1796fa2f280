# powermail: the two commands a newcomer needs are `make run` and `make test`.
GO      ?= go
BIN     := bin
GOFLAGS ?=

.PHONY: all build test vet fmt-check check-stash run clean

all: build

## build: every daemon and tool into bin/ (release build: no failpoints)
build:
	@mkdir -p $(BIN)
	$(GO) build -o $(BIN)/ ./impl/cmd/...

## test: vet, formatting, and every test of the module
test: check-stash fmt-check vet
	$(GO) test -count=1 -timeout 15m ./...

vet:
	$(GO) vet ./...

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
