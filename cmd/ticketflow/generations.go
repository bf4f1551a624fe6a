package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"ticketflow/cmd/internal/cli"
	"ticketflow/internal/lifecycle"
	"ticketflow/internal/temporalclient"
	"ticketflow/workflows"
)

// generations counts the open runs of each generation of BookingWorkflow, so that the code of a
// generation no open run needs can be removed (workflows/legacy.go says how). With --need-none G,
// it exits 1 while a run of any generation up to G (a number, e.g. 3 for generations 0 to 3) is
// open: a deployment can check it before shipping a build without that code.
func generations(ctx context.Context, args []string, out io.Writer) error {
	fs := cli.Flags("ticketflow generations", "", "Count the open BookingWorkflow runs of each generation (a visibility query per\n"+
		"generation; workflows/generations.go). The code of a generation can go when none is open.")
	needNone := fs.Int("need-none", -1, "exit 1 while a run of any generation up to this number is open")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	cfg, err := loadConfig()
	if err != nil {
		return err
	}
	c, err := temporalclient.Dial(ctx, cfg)
	if err != nil {
		return err
	}
	defer c.Close()
	door := lifecycle.NewDoor(c, cfg.TaskQueue, cfg.TemporalNS)
	fmt.Fprintf(out, "open BookingWorkflow runs by generation (namespace %s)\n", cfg.TemporalNS)
	blocking := int64(0)
	for _, g := range workflows.Generations {
		n, err := door.CountOpen(ctx, g.Query)
		if err != nil {
			return fmt.Errorf("count generation %s: %w", g.Numbers, err)
		}
		fmt.Fprintf(out, "  generation %-4s %8d   %s\n", g.Numbers, n, g.Code)
		if *needNone >= 0 && lastOf(g.Numbers) <= *needNone {
			blocking += n
		}
	}
	if *needNone >= 0 {
		if blocking > 0 {
			fmt.Fprintf(out, "%d open run(s) still need generations up to %d: keep their code\n", blocking, *needNone)
			return cli.ExitCode(1)
		}
		fmt.Fprintf(out, "no open run needs generations up to %d: their code can go (workflows/legacy.go says how)\n", *needNone)
	}
	return nil
}

// lastOf is the last generation number of "0-3" or "4".
func lastOf(numbers string) int {
	var n int
	_, _ = fmt.Sscanf(numbers[strings.LastIndex(numbers, "-")+1:], "%d", &n)
	return n
}
