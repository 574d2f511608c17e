# EZSCALE platform core. `make help` lists the targets.
# Every Go target covers the workspace's modules (go.work): the root module,
# sdk/, plugins/ and terraform/.

SHELL := /bin/bash
GO ?= go
MODULES := $(shell $(GO) list -m -f '{{.Dir}}')
BIN := $(CURDIR)/bin
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
# buf and the protoc plugins it calls (pinned in proto/buf.gen.yaml) run
# through the Go toolchain: nothing is downloaded but Go modules.
BUF := github.com/bufbuild/buf/cmd/buf@v1.75.0
CONFIG ?= config/examples/dev.hcl
# The OpenAPI linter (Redocly CLI), pinned by package-lock.json there.
OPENAPI_LINT := tools/openapi-lint
# The descriptor set of proto/ the Python example plugin loads.
PY_DESCRIPTORS := sdk/examples/python-provisioner/plugin_v1.binpb

.DEFAULT_GOAL := help

.PHONY: help
help: ## Show this help.
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[36m%-10s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: build
build: ## Build bin/ezscale and every plugin into bin/ezscale-plugin-<name>.
	@mkdir -p $(BIN)
	$(GO) build -o $(BIN)/ezscale ./core/cmd/ezscale
	@cd plugins && for d in */; do \
		name=$${d%/}; \
		if [ -f "$$name/main.go" ]; then \
			echo "go build -o bin/ezscale-plugin-$$name ./plugins/$$name"; \
			$(GO) build -o $(BIN)/ezscale-plugin-$$name ./$$name || exit 1; \
		fi; \
	done

.PHONY: web
web: ## Rebuild the web console into web/dist (commit the result): API types from the OpenAPI document, npm ci from the lockfile, type check, Vite build. Needs Node 20.19+ and npm.
	$(GO) run ./core/cmd/ezscale openapi > web/openapi.json
	cd web && npm ci --no-audit --no-fund && npm run gen && npm run check && npm run build
	@mkdir -p tests/testdata
	cp web/node_modules/axe-core/axe.min.js tests/testdata/axe.min.js

.PHONY: screenshots
screenshots: ## Run the console's browser walk in Chromium and save its pages' screenshots to docs/console/.
	cd tests && EZSCALE_SCREENSHOTS=1 $(GO) test -count=1 -run 'TestConsoleCustomerWalk|TestConsoleStaffWalk|TestConsoleCompliance' .

.PHONY: run
run: build ## Run the platform on SQLite at http://127.0.0.1:8080 (data/ is created on first run).
	$(BIN)/ezscale serve --config $(CONFIG)

.PHONY: demo
demo: build ## The sandbox: fakes of the panels, Discord and Stripe, a mail catcher, and a core with a demo catalog on http://127.0.0.1:8080 (docs/demo.md); Ctrl-C stops all.
	cd plugins && $(GO) build -o $(BIN)/ezscale-fakes ./cmd/ezscale-fakes
	./scripts/demo.sh

.PHONY: test
test: build ## Run every module's tests (SQLite always; PostgreSQL when EZSCALE_TEST_POSTGRES_URL is set, required when CI=true; the terraform CLI for terraform/'s acceptance tests, required when CI=true).
	@echo "go test $(TEST_FLAGS) -o bin/test/ $(or $(TEST_PACKAGES),<the packages with tests in $(TEST_PATTERNS)>)"
	@pkgs='$(TEST_PACKAGES)'; \
	if [ -z "$$pkgs" ]; then \
		pkgs=$$($(GO) list -f '{{if or .TestGoFiles .XTestGoFiles}}{{.ImportPath}}{{end}}' $(TEST_PATTERNS)) || exit 1; \
	fi; \
	GORACE='atexit_sleep_ms=0 $(GORACE)' $(GO) test $(TEST_FLAGS) -o $(BIN)/test/ $$pkgs

# -race instruments every package but one: modernc.org/sqlite/lib, SQLite's
# C engine machine-translated to Go. Its own mutexes (through
# modernc.org/libc, which stays instrumented) guard its memory, as in a cgo
# build of SQLite, whose C the detector never sees either; our code, bun,
# River, the SQLite driver and libc are all still checked. Instrumented,
# that one package was more than half of a SQLite test's CPU.
# -parallel 4: Go's default is GOMAXPROCS, two tests at once on the 2-core
# machine, while most of a test's time is spent waiting on its job engine,
# PostgreSQL or a process; four at once overlap those waits. Eight (with
# three packages at once) kept the machine busy with contention instead:
# the database-heavy packages took half again as long, and a whole run
# about 20 s longer and 40 s more CPU.
# -p 3: three packages at once on two cores. A package that waits (tests/
# on its processes and River's rescuer, core/app on plugin restarts, the
# terraform CLI) holds one of go test's slots while using little CPU; a
# third slot puts that idle core to work. Four at once was slower: the
# contention costs more CPU than it recovers.
# No debugging information in the test executables (-dwarf=false when
# compiling, -s -w when linking): go test links each of its ~80 race
# executables anew on every run, and writing and then reading DWARF was
# nearly half of that work. Nothing a test or the race detector prints needs it:
# stack traces and race reports come from the function table every Go
# executable keeps. The last -gcflags matching a package wins, so SQLite's
# engine is named with both of its flags.
# GORACE=atexit_sleep_ms=0: the race runtime otherwise sleeps a second
# before a passing executable exits, for goroutines still running to
# report a race. A race during a test fails that test as before; only one
# in the last second after a package's last test would go unseen. The ~80
# sleeps held go test's slots with the machine idle, most of them among
# the many small packages at the end. A GORACE of your own still applies.
# -vet=off: go test otherwise runs a subset of go vet over every package
# it tests, built with -race, so its results are never the ones make lint's
# full go vet already computed; on a machine with an empty build cache
# (CI's) that second vet was about 28 s of CPU. make lint runs go vet.
# -o bin/test/ (in the recipe): go test keeps each test executable there
# and, on the next run, links again only those whose inputs changed, by the
# check `go build -o` makes (the build ID in the file against the link's).
# Without -o it links all ~80 anew in a temporary directory on every run,
# about 80 s of CPU with nothing changed. -count=1 still runs every test.
# The executables take about 2.4 GB.
# docs/benchmarks.md, "The race detector, SQLite's engine and -parallel",
# "Three packages at once", "Test executables without debugging
# information", "Test executables kept between runs" and "Four tests of a
# package at once" have the runs behind these.
TEST_FLAGS := -vet=off -race -gcflags=all=-dwarf=false -gcflags='modernc.org/sqlite/lib=-race=false -dwarf=false' -ldflags='-s -w' -p 3 -parallel 4 -count=1 -timeout 30m

# Every module's packages in one `go test` (the workspace builds them
# together), so no module waits for the one before it to finish. `go test`
# starts packages in the order given: tests/ first, because its run is the
# longest and spends most of it waiting on the processes and the browser it
# drives. docs/benchmarks.md, "Test suite time", has the runs behind this.
# go test is given only the packages with tests, listed by go list (which
# stops the run on a package it cannot read): -o calls each executable
# after its package's last path element, and go test refuses two packages
# sharing one, with or without tests, with an error naming both.
# `make test TEST_PACKAGES=./core/billing` runs the packages named instead.
TEST_PATTERNS := ./tests/ ./... $(patsubst $(CURDIR)/%,./%/...,$(filter-out $(CURDIR),$(MODULES)))
TEST_PACKAGES ?=

.PHONY: bench
bench: build ## Run the benchmarks and write their figures into docs/benchmarks.md.
	$(GO) run ./core/cmd/benchreport -out docs/benchmarks.md

.PHONY: lint
lint: lint-openapi ## gofmt, go vet and staticcheck over every module, and lint-openapi.
	@out=$$(gofmt -l $$(git ls-files '*.go' | grep -v '\.pb\.go$$')); \
		if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	@set -e; for m in $(MODULES); do \
		echo "== vet + staticcheck $$m"; \
		(cd $$m && $(GO) vet ./... && $(GO) run $(STATICCHECK) ./...); \
	done

.PHONY: lint-openapi
lint-openapi: $(OPENAPI_LINT)/node_modules/.package-lock.json ## Lint the served OpenAPI document with Redocly (zero errors, zero warnings; needs node and npm).
	$(GO) run ./core/cmd/ezscale openapi > $(OPENAPI_LINT)/openapi.json
	cd $(OPENAPI_LINT) && REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true \
		./node_modules/.bin/redocly lint --lint-config error --config redocly.yaml openapi.json

# npm ci when node_modules is missing or older than the lock file.
$(OPENAPI_LINT)/node_modules/.package-lock.json: $(OPENAPI_LINT)/package.json $(OPENAPI_LINT)/package-lock.json
	@command -v node >/dev/null && command -v npm >/dev/null || \
		{ echo "lint-openapi needs node (>= 20.19) and npm: apt-get install nodejs npm"; exit 1; }
	cd $(OPENAPI_LINT) && npm ci --no-audit --no-fund --ignore-scripts

.PHONY: tidy
tidy: ## go mod tidy in every module.
	@set -e; for m in $(MODULES); do (cd $$m && $(GO) mod tidy); done

.PHONY: proto
proto: ## Lint proto/, regenerate the plugin protocol's Go code into sdk/pluginv1 and the Python example's descriptor set.
	cd proto && $(GO) run $(BUF) lint
	@# Start from an empty folder so a removed .proto leaves no stale .pb.go behind.
	rm -f sdk/pluginv1/*.pb.go
	cd proto && $(GO) run $(BUF) generate
	cd proto && $(GO) run $(BUF) build --exclude-source-info -o ../$(PY_DESCRIPTORS)

.PHONY: verify
verify: ## Fail when go.mod/go.sum are untidy or generated code is stale.
	@set -e; for m in $(MODULES); do (cd $$m && $(GO) mod tidy -diff); done
	$(MAKE) proto
	@if ! git diff --exit-code -- sdk/pluginv1 $(PY_DESCRIPTORS) || [ -n "$$(git status --porcelain -- sdk/pluginv1 $(PY_DESCRIPTORS))" ]; then \
		echo "sdk/pluginv1 or $(PY_DESCRIPTORS) is stale: run 'make proto' and commit the result"; exit 1; fi
