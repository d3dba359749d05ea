# Cadre — see README.md.
GO      ?= go
PORT    ?= 8080
ARGS    ?=
TESTFLAGS ?=

.PHONY: run build test bench bench-large cluster vet fmt clean generate

## run: one node on SQLite under ./var, web UI and API on http://localhost:8080
run:
	@test -x bin/cadre || echo "make run: first build of bin/cadre: fetching Go modules and compiling the SQLite driver (C code, needs gcc); this takes a few minutes once, later builds take seconds"
	$(GO) build -o bin/cadre .
	./bin/cadre -Dmidpoint.home=./var -Dserver.port=$(PORT) $(ARGS)

## build: compile ./bin/cadre
build:
	$(GO) build -o bin/cadre .

## test: every test, race detector on (PostgreSQL tests use CADRE_TEST_POSTGRES)
test: build
	$(GO) vet ./...
	$(GO) test -race -count=1 -timeout 15m $(TESTFLAGS) ./...

## bench: the figures of DESIGN §10 (never fails on speed)
bench: build
	$(GO) test -run '^$$' -bench . -benchtime 1x -count 1 -timeout 30m ./bench/... ./node/

## bench-large: import, recompute and API latency at 1,000,000 users on three PostgreSQL nodes (takes many minutes)
bench-large: build
	CADRE_BENCH_LARGE=1 $(GO) test -run '^$$' -bench 'Large' -benchtime 1x -count 1 -timeout 90m ./bench/

## cluster: three nodes (node1–node3) on the local PostgreSQL database cadre_cluster, ports 8081–8083
##          (PORTS="9001 9002" or BASE_PORT=9000 to move them; CADRE_CLUSTER_FRESH=1 resets); Ctrl-C stops them
cluster:
	PORTS="$(PORTS)" BASE_PORT="$(BASE_PORT)" bash scripts/cluster.sh

## generate: the Go API client (apiclient/) from interfaces/httpapi/openapi.yaml, with oapi-codegen at the version pinned in apiclient/apiclient.go
generate:
	cd apiclient && $(GO) generate ./...

vet:
	$(GO) vet ./...

fmt:
	gofmt -w $$(git ls-files '*.go')

clean:
	rm -rf bin
