# TicketFlow. Two commands on a fresh machine: `make run` starts everything, `make test` passes
# the whole suite. Every target installs or builds what it needs, idempotently.

SHELL        := /bin/bash
GO           ?= go
TOOLS        := $(CURDIR)/.tools
BIN          := $(CURDIR)/bin/ticketflow
TEMPORAL_CLI := $(TOOLS)/bin/temporal
MAILPIT      := $(TOOLS)/bin/mailpit
KAFKA_JARS   := $(TOOLS)/kafka/libs/.complete
OWNER_FILE   := .data/run/started-by-make-test
SUDO         := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

TEMPORAL_CLI_VERSION := v1.5.1
MAILPIT_VERSION      := v1.27.11

export PATH := $(TOOLS)/bin:$(PATH)

.PHONY: run test unit integration build tools apt-tools vet clean stop bench chaos fuzz demo

## run: start the whole local stack in the foreground (Ctrl-C stops it)
run: tools build
	$(BIN) dev

## test: vet, unit tests, then integration tests against the real local stack
test: tools build vet unit integration

vet:
	$(GO) vet ./...
	$(GO) vet -tags integration ./...

unit:
	$(GO) test -count=1 ./...

# Starts the stack unless one is running (and then stops only what it started).
integration: tools build
	@rm -f $(OWNER_FILE)
	$(BIN) stack up --owner-file $(OWNER_FILE)
	@status=0; \
	$(GO) test -count=1 -p 1 -timeout 30m -tags integration ./... || status=$$?; \
	if [ -f $(OWNER_FILE) ]; then $(BIN) stack down; rm -f $(OWNER_FILE); fi; \
	exit $$status

build:
	$(GO) build -o $(BIN) ./cmd/ticketflow

## tools: everything the local stack runs that is not Go code of ours
tools: apt-tools $(TEMPORAL_CLI) $(MAILPIT) $(KAFKA_JARS)

apt-tools:
	@missing=""; \
	command -v redis-server >/dev/null || missing="$$missing redis-server"; \
	command -v kcat >/dev/null || missing="$$missing kcat"; \
	command -v java >/dev/null || missing="$$missing openjdk-17-jre-headless"; \
	command -v mvn >/dev/null || missing="$$missing maven"; \
	[ -x "$$(pg_config --bindir 2>/dev/null)/initdb" ] || missing="$$missing postgresql"; \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages:$$missing"; \
		$(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi

$(TEMPORAL_CLI):
	@echo "building the Temporal CLI $(TEMPORAL_CLI_VERSION) (a few minutes, once)"
	GOBIN=$(TOOLS)/bin $(GO) install github.com/temporalio/cli/cmd/temporal@$(TEMPORAL_CLI_VERSION)

$(MAILPIT):
	GOBIN=$(TOOLS)/bin $(GO) install github.com/axllent/mailpit@$(MAILPIT_VERSION)

$(KAFKA_JARS): infra/kafka/pom.xml
	rm -rf $(TOOLS)/kafka/libs
	mvn -q -B -f infra/kafka/pom.xml dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory=$(TOOLS)/kafka/libs
	touch $@

## stop: stop a stack started in the background (by make test or `ticketflow stack up`)
stop: build
	$(BIN) stack down

## clean: stop the stack and remove all its data
clean:
	-@[ -x $(BIN) ] && $(BIN) stack down
	rm -rf .data bin
