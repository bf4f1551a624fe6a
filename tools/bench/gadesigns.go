package bench

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"ticketflow/internal/ids"
	"ticketflow/tools/progress"
)

// The designs a general-admission hold could take, each reduced to the statement that takes the
// places, run on scratch tables (schema ga_bench_<tag> of the inventory's database, dropped after)
// at the benchmark's concurrency. They answer the question — is one popular area one hot
// row? — before any of them is built into the inventory:
//
//   - counter: one row per area, `UPDATE … SET held = held + q WHERE held + q <= capacity`, and a
//     row per booking saying what it holds (to release or confirm it);
//   - slots: the same counter split over K rows of capacity/K each; a hold takes a slot with room
//     that nobody has locked (FOR UPDATE SKIP LOCKED, from a random slot on), and waits for one
//     only when every slot with room is locked;
//   - units: one row per place, AVAILABLE or held by a booking; a hold takes q free ones nobody has
//     locked (FOR UPDATE SKIP LOCKED) — the seats' own shape.
//
// Each runs bare, and again with the seat map's version bump every inventory write makes (one row
// per event, updated last in the transaction): the hot row every design then shares.
type gaDesign struct {
	name   string
	create string // DDL in the scratch schema; %d is the capacity (and slots' K)
	take   func(ctx context.Context, tx pgx.Tx, q int, booking string, until time.Time) (bool, error)
}

// slotCount is K, the slots design's number of counter rows per area.
const slotCount = 16

var gaDesigns = []gaDesign{
	{name: "counter",
		create: `CREATE TABLE area (id int PRIMARY KEY, capacity int NOT NULL, held int NOT NULL DEFAULT 0);
			INSERT INTO area VALUES (1, %d, 0);
			CREATE TABLE holding (booking_id uuid PRIMARY KEY, quantity int NOT NULL, held_until timestamptz NOT NULL);
			ANALYZE area;`,
		take: func(ctx context.Context, tx pgx.Tx, q int, booking string, until time.Time) (bool, error) {
			tag, err := tx.Exec(ctx, `UPDATE area SET held = held + $1 WHERE id = 1 AND held + $1 <= capacity`, q)
			if err != nil || tag.RowsAffected() == 0 {
				return false, err
			}
			_, err = tx.Exec(ctx, `INSERT INTO holding VALUES ($1, $2, $3)`, booking, q, until)
			return err == nil, err
		}},
	{name: fmt.Sprintf("slots (K=%d)", slotCount),
		create: `CREATE TABLE area_slot (slot int PRIMARY KEY, capacity int NOT NULL, held int NOT NULL DEFAULT 0);
			INSERT INTO area_slot SELECT s, %d / ` + fmt.Sprint(slotCount) + `, 0 FROM generate_series(0, ` + fmt.Sprint(slotCount-1) + `) s;
			CREATE TABLE holding (booking_id uuid PRIMARY KEY, slot int NOT NULL, quantity int NOT NULL, held_until timestamptz NOT NULL);
			ANALYZE area_slot;`,
		take: func(ctx context.Context, tx pgx.Tx, q int, booking string, until time.Time) (bool, error) {
			from := rand.IntN(slotCount)
			var slot int
			err := tx.QueryRow(ctx, `SELECT slot FROM area_slot WHERE held + $1 <= capacity
				ORDER BY (slot - $2 + $3) % $3 LIMIT 1 FOR UPDATE SKIP LOCKED`, q, from, slotCount).Scan(&slot)
			if errors.Is(err, pgx.ErrNoRows) { // every slot with room is busy: wait for one
				err = tx.QueryRow(ctx, `SELECT slot FROM area_slot WHERE held + $1 <= capacity
					ORDER BY (slot - $2 + $3) % $3 LIMIT 1 FOR UPDATE`, q, from, slotCount).Scan(&slot)
			}
			if errors.Is(err, pgx.ErrNoRows) {
				return false, nil
			}
			if err != nil {
				return false, err
			}
			tag, err := tx.Exec(ctx, `UPDATE area_slot SET held = held + $1 WHERE slot = $2 AND held + $1 <= capacity`, q, slot)
			if err != nil || tag.RowsAffected() == 0 {
				return false, err
			}
			_, err = tx.Exec(ctx, `INSERT INTO holding VALUES ($1, $2, $3, $4)`, booking, slot, q, until)
			return err == nil, err
		}},
	{name: "units (SKIP LOCKED)",
		create: `CREATE TABLE unit (id int PRIMARY KEY, status text NOT NULL DEFAULT 'AVAILABLE', booking_id uuid, held_until timestamptz);
			INSERT INTO unit (id) SELECT generate_series(1, %d);
			CREATE INDEX unit_free ON unit (id) WHERE status = 'AVAILABLE';
			ANALYZE unit;`,
		take: func(ctx context.Context, tx pgx.Tx, q int, booking string, until time.Time) (bool, error) {
			tag, err := tx.Exec(ctx, `UPDATE unit SET status = 'LOCKED', booking_id = $2, held_until = $3
				WHERE id IN (SELECT id FROM unit WHERE status = 'AVAILABLE' ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED)`,
				q, booking, until)
			return err == nil && int(tag.RowsAffected()) == q, err
		}},
}

// DesignRun is one design's figures: holds attempted and made, and each attempt's latency.
type DesignRun struct {
	Design     string
	Version    bool // with the seat map's version bump
	Attempts   int
	Held       int
	Elapsed    time.Duration
	Latency    []time.Duration
	Conns      int32
	PlacesHeld int
}

// PerS is holds attempted per second.
func (d DesignRun) PerS() float64 {
	if d.Elapsed <= 0 {
		return 0
	}
	return float64(d.Attempts) / d.Elapsed.Seconds()
}

// gaDesignRuns measures every design, bare and with the version bump, on scratch tables of an area
// of capacity places: attempts holds of 1..maxQ places, concurrency at once, over pool.
func gaDesignRuns(ctx context.Context, pool *pgxpool.Pool, capacity, attempts, concurrency, maxQ int, prog *progress.Reporter) ([]DesignRun, error) {
	var out []DesignRun
	for _, d := range gaDesigns {
		for _, version := range []bool{false, true} {
			run, err := gaDesignRun(ctx, pool, d, version, capacity, attempts, concurrency, maxQ, prog)
			if err != nil {
				return out, fmt.Errorf("%s: %w", d.name, err)
			}
			out = append(out, run)
		}
	}
	return out, nil
}

func gaDesignRun(ctx context.Context, pool *pgxpool.Pool, d gaDesign, version bool, capacity, attempts, concurrency, maxQ int, prog *progress.Reporter) (DesignRun, error) {
	schema := "ga_bench_" + ids.New()[:8]
	if _, err := pool.Exec(ctx, `CREATE SCHEMA `+schema); err != nil {
		return DesignRun{}, err
	}
	defer func() { _, _ = pool.Exec(context.WithoutCancel(ctx), `DROP SCHEMA `+schema+` CASCADE`) }()
	ddl := fmt.Sprintf(d.create, capacity) + `
		CREATE TABLE plan (id int PRIMARY KEY, version bigint NOT NULL); INSERT INTO plan VALUES (1, 1);`
	if _, err := pool.Exec(ctx, `SET search_path TO `+schema+`; `+ddl+`; RESET search_path`); err != nil {
		return DesignRun{}, err
	}
	name := d.name
	if version {
		name += " + version bump"
	}
	run := DesignRun{Design: d.name, Version: version, Conns: pool.Config().MaxConns}
	prog.Phase("hold designs: "+name, int64(attempts), "holds")
	until := time.Now().Add(10 * time.Minute)
	var mu sync.Mutex
	var next atomic.Int64
	var failed error
	start := time.Now()
	var wg sync.WaitGroup
	for w := 0; w < concurrency; w++ {
		wg.Go(func() {
			for int(next.Add(1)) <= attempts && ctx.Err() == nil {
				q := 1 + rand.IntN(maxQ)
				t := time.Now()
				var held bool
				err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
					if _, err := tx.Exec(ctx, `SET LOCAL search_path TO `+schema); err != nil {
						return err
					}
					var err error
					if held, err = d.take(ctx, tx, q, ids.New(), until); err != nil || !held {
						if err == nil {
							err = errShort
						}
						return err
					}
					if version {
						_, err = tx.Exec(ctx, `UPDATE plan SET version = version + 1 WHERE id = 1`)
					}
					return err
				})
				lat := time.Since(t)
				prog.Add(1)
				mu.Lock()
				switch {
				case err == nil:
					run.Held++
					run.PlacesHeld += q
				case !errors.Is(err, errShort):
					if failed == nil {
						failed = err
					}
				}
				run.Attempts++
				run.Latency = append(run.Latency, lat)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	run.Elapsed = time.Since(start)
	prog.End()
	return run, failed
}

// errShort rolls back a design's transaction that could not take every place it wanted.
var errShort = errors.New("not enough places")
