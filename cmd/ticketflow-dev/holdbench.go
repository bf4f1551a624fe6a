package main

import (
	"context"
	"io"

	"ticketflow/cmd/internal/cli"
	"ticketflow/tools/bench"
)

// runHoldBench is `ticketflow-dev hold-bench`: the hold statement alone on PostgreSQL, a seated
// event against a general-admission area of the same size, and the designs a general-admission
// hold could take (see BENCHMARKS.md).
func runHoldBench(ctx context.Context, args []string, out io.Writer) error {
	fs := cli.Flags("ticketflow-dev hold-bench", "", "The hold statement alone on the running stack's PostgreSQL (see BENCHMARKS.md): holds of\n"+
		"1..max-quantity places at once on one seated event and on one general-admission area of the\n"+
		"same size, and with --designs the designs a general-admission hold could take, on scratch tables.")
	o := bench.HoldBenchOptions{}
	fs.IntVar(&o.Capacity, "capacity", 50_000, "seats of the seated event, places of the area")
	fs.IntVar(&o.Holds, "holds", 10_000, "holds attempted per line")
	fs.IntVar(&o.Concurrency, "concurrency", 100, "holds at once")
	fs.IntVar(&o.MaxQuantity, "max-quantity", 4, "each hold wants 1..max-quantity places")
	fs.BoolVar(&o.Designs, "designs", false, "also measure the designs (counter, slots, units) on scratch tables")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	cfg, _, err := setup()
	if err != nil {
		return err
	}
	res, err := bench.RunHoldBench(ctx, cfg, o, out)
	if res != nil {
		res.Print(out)
	}
	return err
}
