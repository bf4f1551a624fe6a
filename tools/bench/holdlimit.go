package bench

import (
	"cmp"
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"ticketflow/internal/config"
	"ticketflow/internal/ids"
	"ticketflow/internal/seatplan"
	"ticketflow/services/event"
	"ticketflow/services/inventory"
	inventoryserver "ticketflow/services/inventory/server"
	"ticketflow/tools/devstack"
	"ticketflow/tools/loadgen"
	"ticketflow/tools/progress"
)

// HoldLimit is the physical-limit line: the hold transaction alone on PostgreSQL.
type HoldLimit struct {
	Attempts, Held int
	Places         int // seats and places held
	Elapsed        time.Duration
	Latency        []time.Duration
	Conns          int32 // connections the loop's pool had, as the inventory's own pool has
}

// PerS is decisions per second.
func (h HoldLimit) PerS() float64 {
	if h.Elapsed <= 0 {
		return 0
	}
	return float64(h.Attempts) / h.Elapsed.Seconds()
}

// holdLimit measures the physical limit of the seat decision: the inventory's hold transaction
// (inventoryserver.HoldWith) run directly on the inventory's PostgreSQL for as many decisions as the
// sale made, at the sale's concurrency, with the sale's seat choice (pick) on an event of the same
// size, on a pool of the inventory's size (PG_MAX_CONNS): a pgbench-style loop with no HTTP, no
// Temporal, no booking record. It runs after the sale, while the stack is quiet, so that the
// ratio of the sale's decision rate to this is what stands between the buyer and PostgreSQL. With
// o.GeneralAdmission the event is one area of as many places, and each hold asks for 1..MaxSeats
// of them.
func holdLimit(ctx context.Context, cfg *devstack.Settings, tag string, seats, attempts int, o Options, prog *progress.Reporter) (HoldLimit, error) {
	if o.GeneralAdmission {
		return areaHoldLimit(ctx, cfg, "Hold limit "+tag, seats, attempts, o.Concurrency, o.MaxSeats, prog)
	}
	return seatHoldLimit(ctx, cfg, "Hold limit "+tag, seats, attempts, o.Concurrency, o.MaxSeats, prog)
}

// seatHoldLimit times holds of 1..maxSeats adjacent seats (pick) on a new event of `seats` seats.
func seatHoldLimit(ctx context.Context, cfg *devstack.Settings, name string, seats, attempts, concurrency, maxSeats int, prog *progress.Reporter) (HoldLimit, error) {
	ev, err := loadgen.CreateEvent(ctx, cfg, name, seats, 5000)
	if err != nil {
		return HoldLimit{}, err
	}
	rows := (len(ev.Seats) + 19) / 20
	return holdLoop(ctx, cfg, "physical limit: the hold transaction alone on PostgreSQL", attempts, concurrency, prog,
		func(r *inventory.HoldRequest) {
			r.EventID, r.SeatIDs = ev.ID, pick(ev.Seats, rows, 1+rand.IntN(maxSeats))
		})
}

// areaHoldLimit times holds of 1..maxPlaces places of one general-admission area of `capacity`
// places (a new event).
func areaHoldLimit(ctx context.Context, cfg *devstack.Settings, name string, capacity, attempts, concurrency, maxPlaces int, prog *progress.Reporter) (HoldLimit, error) {
	ev, err := loadgen.CreateGAEvent(ctx, cfg, name, 0, capacity, 5000)
	if err != nil {
		return HoldLimit{}, err
	}
	return holdLoop(ctx, cfg, "physical limit: the general-admission hold alone on PostgreSQL", attempts, concurrency, prog,
		func(r *inventory.HoldRequest) {
			r.EventID = ev.ID
			r.Quantities = []seatplan.Quantity{{Section: ev.Area, Quantity: 1 + rand.IntN(maxPlaces)}}
		})
}

// holdLoop runs `attempts` holds, `concurrency` at once, each made by fill (an event and what it
// asks for; a fresh booking and buyer each), through the inventory's hold transaction on a pool of
// the inventory's size.
func holdLoop(ctx context.Context, cfg *devstack.Settings, phase string, attempts, concurrency int, prog *progress.Reporter, fill func(*inventory.HoldRequest)) (HoldLimit, error) {
	pc, err := pgxpool.ParseConfig(cfg.PostgresDSN(config.InventoryDB))
	if err != nil {
		return HoldLimit{}, err
	}
	pc.MaxConns = cfg.PostgresConns
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return HoldLimit{}, err
	}
	defer pool.Close()

	res := HoldLimit{Conns: pc.MaxConns}
	// Held long enough for the loop (a retaken expired hold would be other work), short enough
	// that the inventory's sweep frees the bench's seats soon after.
	holdUntil := time.Now().Add(2 * time.Minute)
	var mu sync.Mutex
	var next atomic.Int64
	var failed error
	prog.Phase(phase, int64(attempts), "holds")
	start := time.Now()
	var wg sync.WaitGroup
	for w := 0; w < concurrency; w++ {
		wg.Go(func() {
			for int(next.Add(1)) <= attempts && ctx.Err() == nil {
				r := inventory.HoldRequest{BookingID: ids.New(), HoldUntil: holdUntil, BuyerID: ids.New(),
					MaxSeatsPerBuyer: event.DefaultMaxSeatsPerBuyer}
				fill(&r)
				t := time.Now()
				err := inventoryserver.HoldWith(ctx, pool, r)
				d := time.Since(t)
				prog.Add(1)
				mu.Lock()
				if err != nil && !inventory.IsRefusal(err) {
					failed = cmp.Or(failed, err)
					mu.Unlock()
					continue
				}
				res.Attempts++
				res.Latency = append(res.Latency, d)
				if err == nil {
					res.Held++
					res.Places += len(r.SeatIDs) + seatplan.Places(r.Quantities)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	res.Elapsed = time.Since(start)
	if failed != nil {
		return res, fmt.Errorf("hold: %w", failed)
	}
	return res, nil
}
