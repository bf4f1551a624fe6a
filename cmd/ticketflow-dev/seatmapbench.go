package main

import (
	"context"
	"flag"
	"io"
	"time"

	"ticketflow/config"
	"ticketflow/tools/bench"
)

// runSeatMapBench is `ticketflow-dev seatmap-bench`: a sale on a stadium-sized event while
// thousands of watchers follow its seat map stream, against the polling page it replaced. Its
// last line is machine-readable (seatmap: freshness_p99_ms=… ratio=… …).
func runSeatMapBench(ctx context.Context, cfg *config.Config, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("seatmap-bench", flag.ContinueOnError)
	fs.SetOutput(out)
	o := bench.SeatMapOptions{}
	fs.IntVar(&o.Seats, "seats", 100_000, "seats of the event")
	fs.IntVar(&o.Watchers, "watchers", 2000, "stream watchers to open (the run reports how many it held)")
	fs.IntVar(&o.Bookings, "bookings", 2000, "bookings made during the sale")
	fs.IntVar(&o.Concurrency, "concurrency", 20, "buyers at once")
	fs.IntVar(&o.Pollers, "pollers", 10, "pollers of the baseline (the full map every 2.5 s, as the old page did)")
	fs.DurationVar(&o.PollFor, "poll-for", 30*time.Second, "length of the polling baseline")
	fs.DurationVar(&o.NotModified, "not-modified-for", 10*time.Second, "length of the 304 run")
	if err := fs.Parse(args); err != nil {
		return err
	}
	res, err := bench.SeatMap(ctx, cfg, o, out)
	if err != nil {
		return err
	}
	res.Print(out)
	return nil
}
