// Command ticketflow-dev is the tooling around TicketFlow, apart from the production binary: the
// local stack that runs the real servers and the `ticketflow` processes (what make run and make
// test use), the demo data, the flash-sale benchmark and the chaos run.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"ticketflow/cmd/internal/cli"
	"ticketflow/config"
	"ticketflow/tools/devstack"
	"ticketflow/tools/seed"
	"ticketflow/tools/traces"
)

const usage = `usage: ticketflow-dev <command> [arguments]

  dev                      run the local stack in the foreground (what make run does)
  stack up|down|status     start the local stack in the background (or reuse it), stop it, show it
  seed                     create the demo admin, user, venues and events (idempotent)
  bench [flags]            flash-sale benchmark against the running stack (make bench)
  chaos [flags]            bookings under process kills, then a consistency table (make chaos)
  trace <bookingId>        print the booking's traces from the stack's Jaeger as trees of spans
  infra ferretdb           run the MongoDB-protocol server (used by the local stack)

The stack runs each application process with the production binary, bin/ticketflow beside this
one (or TICKETFLOW_BIN).
`

func main() { cli.Main("ticketflow-dev", usage, run) }

func run(ctx context.Context, cmd string, args []string) error {
	if cmd == "help" || cmd == "-h" || cmd == "--help" {
		fmt.Print(usage)
		return nil
	}
	cfg, err := config.Load()
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	slog.SetDefault(log)
	switch cmd {
	case "dev":
		return dev(ctx, cfg, log)
	case "stack":
		return stack(ctx, cfg, args)
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
	case "trace":
		return trace(ctx, cfg, args)
	}
	fmt.Fprint(os.Stderr, usage)
	return cli.ExitCode(2)
}

// trace prints every trace of a booking (the request that made it, then each request or message
// about it) from the local stack's Jaeger.
func trace(ctx context.Context, cfg *config.Config, args []string) error {
	if len(args) != 1 {
		return errors.New("trace needs one booking id")
	}
	found, err := traces.OfBooking(ctx, cfg.JaegerURL, args[0])
	if err != nil {
		return err
	}
	if len(found) == 0 {
		return fmt.Errorf("Jaeger at %s has no trace of booking %s (traces are kept in memory, the last 50,000)", cfg.JaegerURL, args[0])
	}
	for i, t := range found {
		if i > 0 {
			fmt.Println()
		}
		traces.Print(os.Stdout, t)
	}
	return nil
}

func dev(ctx context.Context, cfg *config.Config, log *slog.Logger) error {
	cfg.Env = "local"
	s, err := devstack.New(cfg, log)
	if err != nil {
		return err
	}
	return s.Run(ctx, os.Stdout, func(ctx context.Context) error { return seedOnce(ctx, cfg) })
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
			return cli.ExitCode(1)
		}
		return nil
	}
	return fmt.Errorf("unknown stack command %q", args[0])
}
