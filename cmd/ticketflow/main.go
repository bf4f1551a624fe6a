// Command ticketflow is TicketFlow's one binary: every process of the system, the local stack
// that runs them, and the tools around them (seed, replay, bench).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"go.temporal.io/api/enums/v1"

	"ticketflow/config"
	"ticketflow/devstack"
	"ticketflow/seed"
	"ticketflow/temporalclient"
	"ticketflow/workflows"
)

const usage = `usage: ticketflow <command> [arguments]

  dev                      run the local stack in the foreground (what make run does)
  stack up|down|status     start the local stack in the background (or reuse it), stop it, show it
  serve <process>          run one process: gateway, user, event, booking, inventory, payment,
                           notification, worker or bridge
  seed                     create the demo admin, user, venues and events (idempotent)
  bench [flags]            flash-sale benchmark against the running stack (make bench)
  chaos [flags]            bookings under process kills, then a consistency table (make chaos)
  replay --file F | --query Q
                           replay workflow histories against this build's workflows
  setup                    create the Kafka topics and Temporal search attributes on servers the
                           local stack did not start (docker-compose runs it once)
  infra ferretdb           run the MongoDB-protocol server (used by the local stack)
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1], os.Args[2:])
	var exit exitCode
	switch {
	case errors.As(err, &exit):
		os.Exit(int(exit))
	case err != nil:
		fmt.Fprintf(os.Stderr, "ticketflow %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}

// exitCode ends the program with a status and no further message.
type exitCode int

func (e exitCode) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

func run(ctx context.Context, cmd string, args []string) error {
	cfg, err := config.Load()
	if err != nil {
		return err
	}
	log := newLogger(os.Stderr)
	slog.SetDefault(log)
	switch cmd {
	case "dev":
		return dev(ctx, cfg, log)
	case "stack":
		return stack(ctx, cfg, args)
	case "serve":
		if len(args) != 1 {
			return fmt.Errorf("serve needs one process name: %s", strings.Join(config.Processes, ", "))
		}
		if err := cfg.CheckSecrets(); err != nil {
			return err
		}
		return serve(ctx, cfg, args[0])
	case "infra":
		if len(args) != 1 || args[0] != "ferretdb" {
			return errors.New("infra takes one argument: ferretdb")
		}
		return devstack.RunFerretDB(ctx, cfg, log)
	case "seed":
		return seed.Run(ctx, cfg, os.Stdout)
	case "bench":
		return runBench(ctx, cfg, args, os.Stdout)
	case "chaos":
		return runChaos(ctx, cfg, args, os.Stdout)
	case "replay":
		return replay(ctx, cfg, args, os.Stdout)
	case "setup":
		return setup(ctx, cfg)
	case "help", "-h", "--help":
		fmt.Print(usage)
		return nil
	}
	fmt.Fprint(os.Stderr, usage)
	return exitCode(2)
}

func newLogger(w io.Writer) *slog.Logger {
	level := slog.LevelInfo
	if v := os.Getenv("LOG_LEVEL"); v != "" {
		_ = level.UnmarshalText([]byte(v))
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
}

func dev(ctx context.Context, cfg *config.Config, log *slog.Logger) error {
	cfg.Env = "local"
	s, err := devstack.New(cfg, log)
	if err != nil {
		return err
	}
	return s.Run(ctx, os.Stdout, func(ctx context.Context) error { return seedOnce(ctx, cfg) })
}

// setup prepares servers that the local stack did not start itself: topics and search attributes.
func setup(ctx context.Context, cfg *config.Config) error {
	if err := devstack.CreateTopics(ctx, cfg); err != nil {
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

// seedOnce seeds a fresh data dir (marked by .data/seeded) so `make run` shows data at once.
func seedOnce(ctx context.Context, cfg *config.Config) error {
	marker := filepath.Join(cfg.DataDir, "seeded")
	if _, err := os.Stat(marker); err == nil {
		return nil
	}
	if err := seed.Run(ctx, cfg, os.Stdout); err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	return os.WriteFile(marker, []byte(time.Now().Format(time.RFC3339)+"\n"), 0o644)
}

func stack(ctx context.Context, cfg *config.Config, args []string) error {
	fs := flag.NewFlagSet("stack", flag.ContinueOnError)
	wait := fs.Duration("wait", 5*time.Minute, "how long to wait for the stack to be ready")
	ownerFile := fs.String("owner-file", "", "up: write this file when this call started the stack")
	if len(args) == 0 {
		return errors.New("stack needs up, down or status")
	}
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	switch args[0] {
	case "up":
		started, err := devstack.Up(ctx, cfg, os.Stdout, *wait)
		if started && *ownerFile != "" {
			_ = os.WriteFile(*ownerFile, []byte("started by stack up\n"), 0o644)
		}
		if err != nil {
			return err
		}
		fmt.Printf("local stack ready: gateway %s, Temporal UI http://127.0.0.1:%d\n", cfg.URLs[config.Gateway], cfg.TemporalUIPort)
		return nil
	case "down":
		return devstack.Down(cfg, os.Stdout, time.Minute)
	case "status":
		if !devstack.Status(cfg, os.Stdout) {
			return exitCode(1)
		}
		return nil
	}
	return fmt.Errorf("unknown stack command %q", args[0])
}
