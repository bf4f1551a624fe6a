package main

import (
	"context"
	"io"
	"strings"
	"time"

	"ticketflow/cmd/internal/cli"
	"ticketflow/tools/chaos"
)

// runChaos is `ticketflow-dev chaos`: a run per fault class (process kills, then the faults that
// leave a process alive and wrong), each ending with the consistency table, then one row per
// class and the line `chaos: faults=<classes> bookings=<n> result=PASS|FAIL`. Exit status 1 when
// any line fails.
func runChaos(ctx context.Context, args []string, out io.Writer) error {
	fs := cli.Flags("ticketflow-dev chaos", "", "A sale per fault class against the running stack, each ending with the consistency table,\n"+
		"then a row per class (make chaos), with a progress line every second. The classes besides kills need\n"+
		"a fault-injecting stack (TICKETFLOW_FAULTS=1, as make chaos starts). Exits 1 when a line fails.")
	opt := chaos.Options{}.WithFaults()
	classes := fs.String("faults", strings.Join(chaos.ClassNames, ","), "fault classes to run, in order: "+strings.Join(chaos.ClassNames, ", "))
	sc := chaos.Scale{}
	fs.DurationVar(&sc.Hold, "fault-for", 30*time.Second, "how long a fault is held (the CPU quota twice as long)")
	fs.IntVar(&opt.Bookings, "bookings", 300, "bookings to attempt in each class's run")
	fs.IntVar(&opt.Seats, "seats", 200, "seats of each run's event")
	fs.IntVar(&opt.Places, "places", 100, "places of each event's general-admission area (0: none)")
	fs.Float64Var(&opt.AreaShare, "area-share", 0.4, "share of bookings asking for places of the area (half of them with a seat)")
	fs.IntVar(&opt.Concurrency, "concurrency", 10, "buyers at once")
	kills := fs.String("kill", strings.Join(chaos.DefaultKills, ","), "kills: processes to kill in turn (empty: none)")
	fs.DurationVar(&opt.KillEvery, "kill-every", 4*time.Second, "kills: pause between kills")
	fs.Float64Var(&opt.Decline, "decline", 0.1, "share of bookings paid with a declined card")
	fs.Float64Var(&opt.NoResponse, "no-response", 0.1, "share paid with tok_noResponse (they expire)")
	fs.Float64Var(&opt.Cancel, "cancel", 0.1, "share of held bookings the buyer cancels")
	fs.DurationVar(&opt.Drain, "drain", 0, "how long to wait for every booking to end (0: HOLD_TTL + 3m)")
	fs.Float64Var(&opt.ClientTimeouts, "client-timeouts", opt.ClientTimeouts, "kills: share of buyers whose first request times out (retried with its key)")
	fs.DurationVar(&opt.PauseFor, "pause-for", opt.PauseFor, "kills: how long a pause:<process> entry of -kill stops it")
	fs.Float64Var(&opt.TemporalCancels, "temporal-cancels", opt.TemporalCancels, "kills: share of held bookings cancelled in Temporal")
	fs.Float64Var(&opt.Terminates, "terminates", opt.Terminates, "kills: share of held bookings whose workflow is terminated")
	fs.Float64Var(&opt.Forge, "forge", opt.Forge, "kills: share of held bookings sent payment results that are not the payment of record")
	fs.Float64Var(&opt.LateCaptures, "late-captures", opt.LateCaptures, "kills: share of cancelled bookings sent a capture nobody expected")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	cfg, _, err := setup()
	if err != nil {
		return err
	}
	if opt.Drain == 0 {
		opt.Drain = cfg.HoldTTL + 3*time.Minute
	}
	if *kills != "" {
		opt.Kills = strings.Split(*kills, ",")
	}
	results, err := chaos.RunClasses(ctx, cfg, strings.Split(*classes, ","), opt, sc, out)
	if err != nil {
		return err
	}
	if !chaos.Summary(out, results) {
		return cli.ExitCode(1)
	}
	return nil
}
