package main

import (
	"context"
	"io"
	"strings"
	"time"

	"ticketflow/cmd/internal/cli"
	"ticketflow/tools/chaos"
)

// runChaos is `ticketflow-dev chaos`: bookings under process kills, then the consistency table. Exit
// status 1 when any line fails.
func runChaos(ctx context.Context, args []string, out io.Writer) error {
	fs := cli.Flags("ticketflow-dev chaos", "", "Bookings under process kills and injected faults against the running stack, then the\n"+
		"consistency table (make chaos), with a progress line every second. Exits 1 when a line fails.")
	opt := chaos.Options{}.WithFaults()
	fs.IntVar(&opt.Bookings, "bookings", 300, "bookings to attempt")
	fs.IntVar(&opt.Seats, "seats", 200, "seats of the event")
	fs.IntVar(&opt.Places, "places", 100, "places of the event's general-admission area (0: none)")
	fs.Float64Var(&opt.AreaShare, "area-share", 0.4, "share of bookings asking for places of the area (half of them with a seat)")
	fs.IntVar(&opt.Concurrency, "concurrency", 10, "buyers at once")
	kills := fs.String("kill", strings.Join(chaos.DefaultKills, ","), "processes to kill in turn (empty: none)")
	fs.DurationVar(&opt.KillEvery, "kill-every", 4*time.Second, "pause between kills")
	fs.Float64Var(&opt.Decline, "decline", 0.1, "share of bookings paid with a declined card")
	fs.Float64Var(&opt.NoResponse, "no-response", 0.1, "share paid with tok_noResponse (they expire)")
	fs.Float64Var(&opt.Cancel, "cancel", 0.1, "share of held bookings the buyer cancels")
	fs.DurationVar(&opt.Drain, "drain", 0, "how long to wait for every booking to end (0: HOLD_TTL + 3m)")
	fs.Float64Var(&opt.ClientTimeouts, "client-timeouts", opt.ClientTimeouts, "share of buyers whose first request times out (retried with its key)")
	fs.DurationVar(&opt.PauseFor, "pause-for", opt.PauseFor, "how long a pause:<process> entry of -kill stops it")
	fs.Float64Var(&opt.TemporalCancels, "temporal-cancels", opt.TemporalCancels, "share of held bookings cancelled in Temporal")
	fs.Float64Var(&opt.Terminates, "terminates", opt.Terminates, "share of held bookings whose workflow is terminated")
	fs.Float64Var(&opt.Forge, "forge", opt.Forge, "share of held bookings sent payment results that are not the payment of record")
	fs.Float64Var(&opt.LateCaptures, "late-captures", opt.LateCaptures, "share of cancelled bookings sent a capture nobody expected")
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
	res, err := chaos.Run(ctx, cfg, opt, out)
	if err != nil {
		return err
	}
	res.Print(out)
	if !res.Passed() {
		return cli.ExitCode(1)
	}
	return nil
}
