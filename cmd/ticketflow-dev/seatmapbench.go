package main

import (
	"context"
	"io"
	"time"

	"ticketflow/cmd/internal/cli"
	"ticketflow/tools/bench"
)

// runSeatMapBench is `ticketflow-dev seatmap-bench` (make bench-seatmap; see BENCHMARKS.md).
func runSeatMapBench(ctx context.Context, args []string, out io.Writer) error {
	fs := cli.Flags("ticketflow-dev seatmap-bench", "", "The live seat map benchmark against the running stack (make bench-seatmap; see BENCHMARKS.md):\n"+
		"stream watchers and a sale on one large event; freshness of the pushed changes, the polling\n"+
		"baseline's bytes, and 304 answers per second.")
	o := bench.SeatMapOptions{}
	fs.IntVar(&o.Seats, "seats", 100_000, "seats of the event")
	fs.IntVar(&o.Watchers, "watchers", 2000, "stream watchers to open (the run reports how many it held)")
	fs.IntVar(&o.MeasureEvery, "measure-every", 10, "decode and time the changes on one watcher in this many (1: all); every\n"+
		"watcher reads every byte, but decoding on all of them costs the shared cores more than the server does")
	fs.IntVar(&o.Bookings, "bookings", 2000, "bookings made during the sale")
	fs.IntVar(&o.Concurrency, "concurrency", 20, "buyers at once")
	fs.IntVar(&o.Pollers, "pollers", 10, "pollers of the baseline (the full map every 2.5 s, as the old page did)")
	fs.DurationVar(&o.PollFor, "poll-for", 30*time.Second, "length of the polling baseline")
	fs.DurationVar(&o.NotModified, "not-modified-for", 10*time.Second, "length of the 304 run")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	cfg, _, err := setup()
	if err != nil {
		return err
	}
	res, err := bench.SeatMap(ctx, cfg, o, out)
	if err != nil {
		return err
	}
	res.Print(out)
	return nil
}
