package main

import (
	"context"
	"io"
	"os"
	"time"

	"ticketflow/cmd/internal/cli"
	"ticketflow/tools/bench"
)

// runOnSaleBench is `ticketflow-dev onsale-bench` (make bench-onsale; see BENCHMARKS.md). Its last
// line is machine-readable (bench: admitted_p99_decision_ms=… …). It exits 1 when a correctness
// figure (oversold, double charged, stuck) is not zero.
func runOnSaleBench(ctx context.Context, args []string, out io.Writer) error {
	fs := cli.Flags("ticketflow-dev onsale-bench", "", "The waiting-room benchmark against the running stack (make bench-onsale; see BENCHMARKS.md):\n"+
		"an on-sale whose waiting room admits automatically; half the buyers join in the minute before\n"+
		"opening, half just after; the admitted buy. Or, with --waiters, the cost of N waiting buyers on\n"+
		"one gateway process.")
	o := bench.OnSaleOptions{}
	fs.IntVar(&o.Seats, "seats", 1000, "seats of the event")
	fs.IntVar(&o.Buyers, "buyers", 10_000, "buyers")
	fs.DurationVar(&o.EarlyFor, "early-for", time.Minute, "the early half joins over this long before opening")
	fs.DurationVar(&o.LateFor, "late-for", 10*time.Second, "the late half joins over this long after opening")
	fs.IntVar(&o.MaxSeats, "max-seats", 2, "each buyer wants 1..max-seats seats")
	fs.Float64Var(&o.PollShare, "poll-share", 0.1, "share of buyers who poll every 2 s instead of following the stream")
	fs.DurationVar(&o.SaleFor, "sale-for", 5*time.Minute, "the longest the sale runs after opening")
	fs.DurationVar(&o.Drain, "drain", 2*time.Minute, "how long to wait for every booking to end")
	fs.IntVar(&o.CrowdNice, "crowd-nice", bench.CrowdNice, "the nice value of the process that runs the waiting crowd (their joins, streams\n"+
		"and polls: a real crowd's browsers are not on the stack's machine); -1 runs it in this process")
	w := bench.WaitersOptions{}
	fs.IntVar(&w.Waiters, "waiters", 0, "instead of the sale: this many buyers wait in one line on a gateway process of\n"+
		"the bench's own, and their memory and CPU per waiting buyer are measured")
	fs.IntVar(&w.Streams, "streams", 5000, "with --waiters: how many of them follow the stream (the rest poll)")
	fs.DurationVar(&w.PollEvery, "poll-every", 2*time.Second, "with --waiters: how often a poller asks")
	fs.DurationVar(&w.Hold, "hold", time.Minute, "with --waiters: how long they wait while measured")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	cfg, _, err := setup()
	if err != nil {
		return err
	}
	if w.Waiters > 0 {
		res, err := bench.Waiters(ctx, cfg, w, out)
		if err != nil {
			return err
		}
		res.Print(out)
		return nil
	}
	res, err := bench.OnSale(ctx, cfg, o, out)
	if err != nil {
		return err
	}
	res.Print(out)
	if a := res.Audit; a.Oversold+a.Mismatched+a.DoubleCharged+a.KeptCharges+a.Pending > 0 {
		return cli.ExitCode(1)
	}
	return nil
}

// runOnSaleCrowd is `ticketflow-dev onsale-crowd --plan FILE`, which onsale-bench starts: the
// waiting crowd of its plan, reporting on standard output, until its standard input closes.
func runOnSaleCrowd(ctx context.Context, args []string) error {
	fs := cli.Flags("ticketflow-dev onsale-crowd", "", "The waiting crowd of an onsale-bench run (started by it).")
	plan := fs.String("plan", "", "the run's plan (written by onsale-bench)")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	cfg, _, err := setup()
	if err != nil {
		return err
	}
	return bench.OnSaleCrowd(ctx, cfg, *plan, os.Stdin, os.Stdout)
}
