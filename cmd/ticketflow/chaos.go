package main

import (
	"context"
	"flag"
	"io"
	"strings"
	"time"

	"ticketflow/chaos"
	"ticketflow/config"
)

// runChaos is `ticketflow chaos`: bookings under process kills, then the consistency table. Exit
// status 1 when any line fails.
func runChaos(ctx context.Context, cfg *config.Config, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("chaos", flag.ContinueOnError)
	opt := chaos.Options{}
	fs.IntVar(&opt.Bookings, "bookings", 300, "bookings to attempt")
	fs.IntVar(&opt.Seats, "seats", 200, "seats of the event")
	fs.IntVar(&opt.Concurrency, "concurrency", 10, "buyers at once")
	kills := fs.String("kill", strings.Join(chaos.DefaultKills, ","), "processes to kill in turn (empty: none)")
	fs.DurationVar(&opt.KillEvery, "kill-every", 4*time.Second, "pause between kills")
	fs.Float64Var(&opt.Decline, "decline", 0.1, "share of bookings paid with a declined card")
	fs.Float64Var(&opt.NoResponse, "no-response", 0.1, "share paid with tok_noResponse (they expire)")
	fs.Float64Var(&opt.Cancel, "cancel", 0.1, "share of held bookings the buyer cancels")
	fs.DurationVar(&opt.Drain, "drain", cfg.HoldTTL+3*time.Minute, "how long to wait for every booking to end")
	if err := fs.Parse(args); err != nil {
		return err
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
		return exitCode(1)
	}
	return nil
}
