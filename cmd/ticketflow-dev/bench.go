package main

import (
	"context"
	"io"
	"time"

	"ticketflow/cmd/internal/cli"
	"ticketflow/tools/bench"
)

// runBench is `ticketflow-dev bench`: the flash-sale benchmark against the running stack. Its last
// line is machine-readable (bench: confirmed_per_s=… ratio=… oversold=… …). It exits 1 when a
// correctness figure (oversold, double charged, stuck) is not zero.
func runBench(ctx context.Context, args []string, out io.Writer) error {
	fs := cli.Flags("ticketflow-dev bench", "", "The flash-sale benchmark against the running stack (make bench; see BENCHMARKS.md):\n"+
		"B buyers race for S seats, then the drain, the audit, the Temporal ceiling and the seat-map reads,\n"+
		"with a progress line every second. Exits 1 when a correctness figure is not zero.")
	o := bench.Options{}
	fs.IntVar(&o.Seats, "seats", 1000, "seats of the event (S)")
	fs.IntVar(&o.Buyers, "buyers", 5000, "buyers, each trying once (B)")
	fs.IntVar(&o.Concurrency, "concurrency", 100, "buyers at once (C)")
	fs.IntVar(&o.MaxSeats, "max-seats", 4, "each buyer wants 1..max-seats seats")
	fs.Float64Var(&o.Decline, "decline", 0, "share of declined cards")
	fs.DurationVar(&o.Drain, "drain", 2*time.Minute, "how long to wait for every booking to end")
	fs.IntVar(&o.Ceiling, "ceiling-workflows", 0, "bare workflows for the ceiling (0: as many as confirmed, at least 200)")
	fs.DurationVar(&o.ReadFor, "read-for", 10*time.Second, "length of each seat-map read run")
	fs.IntVar(&o.ReadConc, "read-concurrency", 64, "concurrency of the seat-map read runs")
	fs.StringVar(&o.ProfileDir, "profile", "", "write CPU profiles of the hot processes to this folder")
	fs.BoolVar(&o.GeneralAdmission, "general-admission", false, "sell the S seats as places of one general-admission area:\n"+
		"each buyer asks for 1..max-seats places by quantity (the physical limit likewise)")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	cfg, _, err := setup()
	if err != nil {
		return err
	}
	res, err := bench.Run(ctx, cfg, o, out)
	if err != nil {
		return err
	}
	res.Print(out)
	if a := res.Audit; a.Oversold+a.Mismatched+a.Places.Wrong()+a.DoubleCharged+a.KeptCharges+a.Pending > 0 {
		return cli.ExitCode(1)
	}
	return nil
}
