// Command ticketflow-dev is the tooling around TicketFlow, apart from the production binary: the
// local stack that runs the real servers and the `ticketflow` processes (what make run and make
// test use), the demo data, the flash-sale benchmark and the chaos run.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"ticketflow/cmd/internal/cli"
	"ticketflow/internal/config"
	"ticketflow/tools/devstack"
	"ticketflow/tools/seed"
	"ticketflow/tools/traces"
)

const usage = `usage: ticketflow-dev <command> [arguments]

  dev                      run the local stack in the foreground (what make run does)
  stack up|down|status     start the local stack in the background (or reuse it), stop it, show it
  seed                     create the demo admin, user, venues and events (idempotent)
  bench [flags]            flash-sale benchmark against the running stack (make bench)
  seatmap-bench [flags]    live seat map benchmark (make bench-seatmap)
  onsale-bench [flags]     waiting-room on-sale benchmark (make bench-onsale)
  onsale-crowd --plan FILE the waiting crowd of an onsale-bench run (it starts this itself)
  hold-bench [flags]       the hold statement alone, seated against general admission (BENCHMARKS.md)
  chaos [flags]            bookings under process kills, then a consistency table (make chaos)
  trace <bookingId>        print the booking's traces from the stack's Jaeger as trees of spans
  infra ferretdb|toxiproxy run the MongoDB-protocol server, or the fault-injecting stack's proxies
                           (used by the local stack)

The stack runs each application process with the production binary, bin/ticketflow beside this
one (or TICKETFLOW_BIN). Every command takes -h or --help; --version prints the build.
`

func main() { cli.Main("ticketflow-dev", usage, run) }

func run(ctx context.Context, cmd string, args []string) error {
	switch cmd {
	case "dev":
		fs := cli.Flags("ticketflow-dev dev", "", "Run the local stack in the foreground (what make run does): the infrastructure, then each\n"+
			"TicketFlow process; demo data on a fresh data dir. Ctrl-C stops everything.")
		if err := cli.Parse(fs, args); err != nil {
			return err
		}
		cfg, log, err := setup()
		if err != nil {
			return err
		}
		return dev(ctx, cfg, log)
	case "stack":
		return stack(ctx, args)
	case "infra":
		fs := cli.Flags("ticketflow-dev infra", "ferretdb|toxiproxy", "Run a server of the local stack in this process (the stack runs them):\n"+
			"  ferretdb   the MongoDB-protocol server\n"+
			"  toxiproxy  the fault-injecting stack's proxies (TICKETFLOW_FAULTS=1)")
		if err := cli.Parse(fs, args); err != nil {
			return err
		}
		if fs.NArg() != 1 || (fs.Arg(0) != "ferretdb" && fs.Arg(0) != "toxiproxy") {
			return errors.New("infra takes one argument: ferretdb or toxiproxy")
		}
		cfg, log, err := setup()
		if err != nil {
			return err
		}
		if fs.Arg(0) == "toxiproxy" {
			return devstack.RunToxiproxy(ctx, cfg, log)
		}
		return devstack.RunFerretDB(ctx, cfg, log)
	case "seed":
		fs := cli.Flags("ticketflow-dev seed", "", "Create the demo admin, user, venues and events in the running stack (idempotent).")
		if err := cli.Parse(fs, args); err != nil {
			return err
		}
		cfg, _, err := setup()
		if err != nil {
			return err
		}
		return seed.Run(ctx, cfg, os.Stdout)
	case "bench":
		return runBench(ctx, args, os.Stdout)
	case "seatmap-bench":
		return runSeatMapBench(ctx, args, os.Stdout)
	case "onsale-bench":
		return runOnSaleBench(ctx, args, os.Stdout)
	case "onsale-crowd":
		return runOnSaleCrowd(ctx, args)
	case "hold-bench":
		return runHoldBench(ctx, args, os.Stdout)
	case "chaos":
		return runChaos(ctx, args, os.Stdout)
	case "trace":
		fs := cli.Flags("ticketflow-dev trace", "BOOKING_ID", "Print a booking's traces from the local stack's Jaeger as trees of spans.")
		if err := cli.Parse(fs, args); err != nil {
			return err
		}
		cfg, _, err := setup()
		if err != nil {
			return err
		}
		return trace(ctx, cfg, fs.Args())
	}
	fmt.Fprint(os.Stderr, usage)
	return cli.ExitCode(2)
}

// setup reads the configuration and sets up logging, for a command that runs.
func setup() (*devstack.Settings, *slog.Logger, error) {
	cfg, err := devstack.LoadSettings()
	if err != nil {
		return nil, nil, err
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	slog.SetDefault(log)
	return cfg, log, nil
}

// trace prints every trace of a booking (the request that made it, then each request or message
// about it) from the local stack's Jaeger.
func trace(ctx context.Context, cfg *devstack.Settings, args []string) error {
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

func dev(ctx context.Context, cfg *devstack.Settings, log *slog.Logger) error {
	cfg.Env = "local"
	s, err := devstack.New(cfg, log)
	if err != nil {
		return err
	}
	return s.Run(ctx, os.Stdout, func(ctx context.Context) error { return seedOnce(ctx, cfg) })
}

// seedOnce seeds a fresh data dir (marked by .data/seeded) so `make run` shows data at once.
func seedOnce(ctx context.Context, cfg *devstack.Settings) error {
	marker := devstack.SeedMarker(cfg)
	if _, err := os.Stat(marker); err == nil {
		return nil
	}
	if err := seed.Run(ctx, cfg, os.Stdout); err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	return os.WriteFile(marker, []byte(time.Now().Format(time.RFC3339)+"\n"), 0o644)
}

func stack(ctx context.Context, args []string) error {
	fs := cli.Flags("ticketflow-dev stack", "up|down|status", `The local stack in the background:
  up      start it (or reuse the running one) and wait until it is ready, with a progress line
  down    stop it
  status  show its processes (exit status 1 when it is not running)`)
	wait := fs.Duration("wait", 5*time.Minute, "how long to wait for the stack to be ready")
	ownerFile := fs.String("owner-file", "", "up: write this file when this call started the stack")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return errors.New("stack needs up, down or status")
	}
	// Flags may also follow the subcommand (stack up --owner-file F).
	sub := fs.Arg(0)
	if err := fs.Parse(fs.Args()[1:]); err != nil {
		return err
	}
	cfg, _, err := setup()
	if err != nil {
		return err
	}
	switch sub {
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
	return fmt.Errorf("unknown stack command %q", sub)
}
