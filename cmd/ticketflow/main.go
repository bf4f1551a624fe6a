// Command ticketflow is TicketFlow's production binary: every process of the system (`serve`),
// the preparation of servers it did not start (`setup`), and the replay of workflow histories. It
// links no local-stack tooling; that is cmd/ticketflow-dev.
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/debug"
	"strings"

	"go.temporal.io/api/enums/v1"

	"ticketflow/bus"
	"ticketflow/cmd/internal/cli"
	"ticketflow/config"
	"ticketflow/telemetry"
	"ticketflow/temporalclient"
	"ticketflow/workflows"
)

const usage = `usage: ticketflow <command> [arguments]

  serve <process>          run one process: gateway, user, event, booking, inventory, payment,
                           notification, worker or bridge
  setup                    create the Kafka topics (KAFKA_PARTITIONS, KAFKA_REPLICATION_FACTOR)
                           and the Temporal search attributes (docker-compose runs it once)
  replay --file F | --query Q
                           replay workflow histories against this build's workflows
  version                  print the build: module version and Go toolchain

The local stack, demo data, benchmark and chaos run are ticketflow-dev's (make run, make test).
`

func main() { cli.Main("ticketflow", usage, run) }

func run(ctx context.Context, cmd string, args []string) error {
	switch cmd {
	case "version":
		fmt.Println(version())
		return nil
	case "help", "-h", "--help":
		fmt.Print(usage)
		return nil
	}
	cfg, err := config.Load()
	if err != nil {
		return err
	}
	logger, err := newLogger(os.Stderr, cfg)
	if err != nil {
		return err
	}
	slog.SetDefault(logger)
	switch cmd {
	case "serve":
		if len(args) != 1 {
			return fmt.Errorf("serve needs one process name: %s", strings.Join(config.Processes, ", "))
		}
		if err := cfg.CheckSecrets(); err != nil {
			return err
		}
		return serve(ctx, cfg, args[0])
	case "replay":
		return replay(ctx, cfg, args, os.Stdout)
	case "setup":
		return setup(ctx, cfg)
	}
	fmt.Fprint(os.Stderr, usage)
	return cli.ExitCode(2)
}

// newLogger is the process's logger: LOG_FORMAT (text or json) from LOG_LEVEL up, every line
// written within a request, activity or message carrying its request, trace and booking ids.
func newLogger(w io.Writer, cfg *config.Config) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(cfg.LogLevel)); err != nil {
		return nil, fmt.Errorf("LOG_LEVEL=%q: %w", cfg.LogLevel, err)
	}
	return telemetry.NewLogger(w, cfg.LogFormat, level)
}

// version names this build: the main module's version (devel for a local build) and the Go
// toolchain that built it, which says whether the standard library's fixes are in.
func version() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "ticketflow (no build information)"
	}
	v := info.Main.Version
	if v == "" {
		v = "(devel)"
	}
	return fmt.Sprintf("ticketflow %s %s", v, info.GoVersion)
}

// setup prepares servers that the local stack did not start itself: topics and search attributes.
func setup(ctx context.Context, cfg *config.Config) error {
	if err := bus.CreateTopics(ctx, cfg.KafkaBrokers, cfg.KafkaPartitions, cfg.KafkaReplicas); err != nil {
		return err
	}
	c, err := temporalclient.Dial(ctx, cfg)
	if err != nil {
		return err
	}
	defer c.Close()
	defs := map[string]enums.IndexedValueType{}
	for _, sa := range workflows.SearchAttributeDefs {
		defs[sa.Name] = sa.Indexed
	}
	if err := temporalclient.RegisterSearchAttributes(ctx, c, cfg.TemporalNS, defs); err != nil {
		return err
	}
	fmt.Println("setup done: topics and search attributes exist")
	return nil
}
