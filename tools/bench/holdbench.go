package bench

import (
	"context"
	"fmt"
	"io"

	"github.com/jackc/pgx/v5/pgxpool"

	"ticketflow/internal/config"
	"ticketflow/internal/ids"
	"ticketflow/tools/devstack"
	"ticketflow/tools/progress"
)

// HoldBenchOptions shape `ticketflow-dev hold-bench`: the hold statement alone, seated against
// general admission, on one event of Capacity places.
type HoldBenchOptions struct {
	Capacity    int  // seats of the seated event, places of the area
	Holds       int  // holds attempted per line
	Concurrency int  // holds at once
	MaxQuantity int  // each hold wants 1..MaxQuantity places (seats: adjacent in a row)
	Designs     bool // also the bare designs on scratch tables (gadesigns.go)
}

// HoldBench is the outcome: the seated hold (the flash sale's physical-limit line), the
// general-admission hold the inventory runs, and the designs.
type HoldBench struct {
	Options      HoldBenchOptions
	Seated, Area HoldLimit
	Designs      []DesignRun
}

// RunHoldBench runs the hold benchmark against the stack of cfg.
func RunHoldBench(ctx context.Context, cfg *devstack.Settings, o HoldBenchOptions, out io.Writer) (*HoldBench, error) {
	prog := progress.New(out, "hold-bench")
	defer prog.End()
	res := &HoldBench{Options: o}
	pc, err := pgxpool.ParseConfig(cfg.PostgresDSN(config.InventoryDB))
	if err != nil {
		return nil, err
	}
	pc.MaxConns = cfg.PostgresConns
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, err
	}
	defer pool.Close()
	tag := ids.New()[:8]
	if res.Seated, err = seatHoldLimit(ctx, cfg, "Hold bench seats "+tag, o.Capacity, o.Holds, o.Concurrency, o.MaxQuantity, prog); err != nil {
		return res, fmt.Errorf("seated: %w", err)
	}
	if res.Area, err = areaHoldLimit(ctx, cfg, "Hold bench area "+tag, o.Capacity, o.Holds, o.Concurrency, o.MaxQuantity, prog); err != nil {
		return res, fmt.Errorf("general admission: %w", err)
	}
	if o.Designs {
		if res.Designs, err = gaDesignRuns(ctx, pool, o.Capacity, o.Holds, o.Concurrency, o.MaxQuantity, prog); err != nil {
			return res, err
		}
	}
	return res, nil
}

// Print writes the figures, one line each, then the machine-readable line.
func (h *HoldBench) Print(w io.Writer) {
	o := h.Options
	fmt.Fprintf(w, "\nthe hold statement alone: %d holds of 1..%d places, %d at once, one event of %d places\n",
		o.Holds, o.MaxQuantity, o.Concurrency, o.Capacity)
	fmt.Fprintf(w, "%-44s %9s %9s %8s %8s %8s %8s\n", "line", "holds/s", "held", "places", "p50", "p95", "p99")
	for _, l := range []struct {
		name string
		h    HoldLimit
	}{{"seats: the inventory's hold (physical limit)", h.Seated}, {"general admission: the inventory's hold", h.Area}} {
		fmt.Fprintf(w, "%-44s %9.0f %9d %8d %8s %8s %8s\n", l.name, l.h.PerS(), l.h.Held, l.h.Places,
			pct(l.h.Latency, 50), pct(l.h.Latency, 95), pct(l.h.Latency, 99))
	}
	for _, d := range h.Designs {
		name := "design: " + d.Design
		if d.Version {
			name += " + version"
		}
		fmt.Fprintf(w, "%-44s %9.0f %9d %8d %8s %8s %8s\n", name, d.PerS(), d.Held, d.PlacesHeld,
			pct(d.Latency, 50), pct(d.Latency, 95), pct(d.Latency, 99))
	}
	fmt.Fprintf(w, "hold-bench: capacity=%d concurrency=%d seated_per_s=%.1f p99_seated_ms=%d area_per_s=%.1f p99_area_ms=%d area_places_held=%d\n",
		o.Capacity, o.Concurrency, h.Seated.PerS(), pct(h.Seated.Latency, 99).Milliseconds(), h.Area.PerS(),
		pct(h.Area.Latency, 99).Milliseconds(), h.Area.Places)
}
