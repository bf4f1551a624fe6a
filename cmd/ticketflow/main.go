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
	"strings"

	"go.temporal.io/api/enums/v1"

	"ticketflow/cmd/internal/cli"
	"ticketflow/internal/bus"
	"ticketflow/internal/config"
	"ticketflow/internal/lifecycle"
	"ticketflow/internal/telemetry"
	"ticketflow/internal/temporalclient"
)

const usage = `usage: ticketflow <command> [arguments]

  serve <process>          run one process: gateway, room, user, event, booking, inventory,
                           payment, notification, ticket, worker or bridge
  setup                    create the Kafka topics (KAFKA_PARTITIONS, KAFKA_REPLICATION_FACTOR)
                           and the Temporal search attributes (docker-compose runs it once)
  replay --file F | --query Q
                           replay workflow histories against this build's workflows
  generations [--need-none G]
                           count the open BookingWorkflow runs of each generation (whether the
                           code of earlier generations can be removed)
  version                  print the build: version, commit and Go toolchain (also --version)

Every command takes -h or --help. The local stack, demo data, benchmark and chaos run are
ticketflow-dev's (make run, make test).
`

func main() { cli.Main("ticketflow", usage, run) }

func run(ctx context.Context, cmd string, args []string) error {
	switch cmd {
	case "version":
		fs := cli.Flags("ticketflow version", "", "Print the build: version, commit and Go toolchain.")
		if err := cli.Parse(fs, args); err != nil {
			return err
		}
		fmt.Println(cli.Version("ticketflow"))
		return nil
	case "serve":
		fs := cli.Flags("ticketflow serve", "<process>", "Run one process of TicketFlow until SIGINT or SIGTERM: "+
			strings.Join(config.Processes, ", ")+".\nIts configuration comes from the environment (see config/config.go).")
		if err := cli.Parse(fs, args); err != nil {
			return err
		}
		if fs.NArg() != 1 {
			return fmt.Errorf("serve needs one process name: %s", strings.Join(config.Processes, ", "))
		}
		cfg, err := loadConfig()
		if err != nil {
			return err
		}
		if err := cfg.CheckSecrets(); err != nil {
			return err
		}
		return serve(ctx, cfg, fs.Arg(0))
	case "replay":
		return replay(ctx, args, os.Stdout)
	case "generations":
		return generations(ctx, args, os.Stdout)
	case "setup":
		fs := cli.Flags("ticketflow setup", "", "Create the Kafka topics (KAFKA_PARTITIONS, KAFKA_REPLICATION_FACTOR) and the\n"+
			"Temporal search attributes on servers the local stack did not start (docker-compose runs it once).")
		if err := cli.Parse(fs, args); err != nil {
			return err
		}
		cfg, err := loadConfig()
		if err != nil {
			return err
		}
		return setup(ctx, cfg)
	}
	fmt.Fprint(os.Stderr, usage)
	return cli.ExitCode(2)
}

// loadConfig reads the configuration and sets up logging, for a command that runs.
func loadConfig() (*config.Config, error) {
	cfg, err := config.Load()
	if err != nil {
		return nil, err
	}
	logger, err := newLogger(os.Stderr, cfg)
	if err != nil {
		return nil, err
	}
	slog.SetDefault(logger)
	return cfg, nil
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
	for _, sa := range lifecycle.SearchAttributeDefs {
		defs[sa.Name] = sa.Indexed
	}
	if err := temporalclient.RegisterSearchAttributes(ctx, c, cfg.TemporalNS, defs); err != nil {
		return err
	}
	fmt.Println("setup done: topics and search attributes exist")
	return nil
}
