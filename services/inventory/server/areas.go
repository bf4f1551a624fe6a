package server

import (
	"cmp"
	"context"
	"sort"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"ticketflow/internal/seatplan"
	"ticketflow/services/inventory"
)

// General-admission areas. An area's places are rows of seats (area = true) — held, expired,
// released, confirmed by their booking and counted in the buyer limit as seats are — so this file
// holds only what differs: a booking asks for a quantity, and the hold picks the places. A hold
// takes free places nobody else is taking (FOR UPDATE SKIP LOCKED: a hundred buyers of one area
// never queue on one another's rows), then, when too few are free, places whose hold expired,
// exactly as a seat held by an expired hold is taken. BENCHMARKS.md weighs this design against a
// counter per area and counters split over slots.
//
// Each area also has a row in areas with its places by stored status, moved by every transaction
// that moves its places, behind the seat map's version lock (recordChange): the seat map and each
// streamed change read an area's counts there, never by counting its 50,000 rows (only its held
// places whose hold expired, an index range that is normally empty).

// areaDelta is how a transaction moved the places of one area, by stored status.
type areaDelta struct {
	section          string // the area's section name (seats.section)
	locked, reserved int
}

// queryer is a transaction or the pool.
type queryer interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// createAreas records the areas of a plan being loaded, with the position of each one's first
// place (the plan's order).
func createAreas(ctx context.Context, tx pgx.Tx, eventID, currency string, seats []seatplan.Seat) error {
	type area struct {
		name       string
		price      int64
		first, cap int
	}
	var areas []*area
	byName := map[string]*area{}
	for i, st := range seats {
		if !st.Area {
			continue
		}
		a := byName[st.Section]
		if a == nil {
			a = &area{name: st.Section, price: st.PriceMinor, first: i}
			byName[st.Section] = a
			areas = append(areas, a)
		}
		a.cap++
	}
	for _, a := range areas {
		if _, err := tx.Exec(ctx, `INSERT INTO areas (event_id, key, section, capacity, price_minor, currency, position)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`, eventID, seatplan.SectionKey(a.name), a.name, a.cap, a.price, currency,
			a.first); err != nil {
			return err
		}
	}
	return nil
}

// area is an area as the store reads it: its counts are of stored statuses, expired the held
// places whose hold has expired (available to readers and to holds).
type area struct {
	key, section     string
	capacity         int
	priceMinor       int64
	currency         string
	locked, reserved int
	expired          int
}

// left is how many places a hold could take now.
func (a area) left() int { return a.capacity - a.reserved - (a.locked - a.expired) }

// areasByKey reads the event's areas named by keys (with their expired places when counted is
// set), and names those it does not have.
func areasByKey(ctx context.Context, q queryer, eventID string, keys []string, counted bool) (map[string]area, []string, error) {
	rows, err := q.Query(ctx, `
		SELECT a.key, a.section, a.capacity, a.price_minor, a.currency, a.locked, a.reserved,
		       CASE WHEN $3 THEN (SELECT count(*) FROM seats s WHERE s.event_id = a.event_id AND s.section = a.section
		                            AND s.area AND s.status = 'LOCKED' AND s.held_until <= now()) ELSE 0 END
		FROM areas a WHERE a.event_id = $1 AND a.key = ANY($2)`, eventID, keys, counted)
	if err != nil {
		return nil, nil, err
	}
	found := map[string]area{}
	for rows.Next() {
		var a area
		if err := rows.Scan(&a.key, &a.section, &a.capacity, &a.priceMinor, &a.currency, &a.locked, &a.reserved, &a.expired); err != nil {
			return nil, nil, err
		}
		found[a.key] = a
	}
	if err := rows.Err(); err != nil {
		return nil, nil, err
	}
	var missing []string
	for _, k := range keys {
		if _, ok := found[k]; !ok {
			missing = append(missing, k)
		}
	}
	return found, missing, nil
}

func keysOf(quantities []seatplan.Quantity) []string {
	keys := make([]string, len(quantities))
	for i, q := range quantities {
		keys[i] = q.Section
	}
	return keys
}

// quoteAreas prices the places asked of each area into q and names the areas with fewer places
// left than asked for; unknown areas are a *SeatsError wrapping ErrUnknownSeat.
func (s *store) quoteAreas(ctx context.Context, eventID string, quantities []seatplan.Quantity, q *inventory.Quote) error {
	areas, missing, err := areasByKey(ctx, s.pool, eventID, keysOf(quantities), true)
	if err != nil {
		return err
	}
	if len(missing) > 0 {
		return &inventory.SeatsError{Err: inventory.ErrUnknownSeat, Sections: missing}
	}
	for _, want := range quantities {
		a := areas[want.Section]
		q.Areas = append(q.Areas, inventory.QuotedArea{Section: a.key, Name: a.section, Quantity: want.Quantity, PriceMinor: a.priceMinor})
		q.AmountMinor += a.priceMinor * int64(want.Quantity)
		if q.Currency == "" {
			q.Currency = a.currency
		}
		if a.left() < want.Quantity {
			q.UnavailableSections = append(q.UnavailableSections, a.key)
		}
	}
	return nil
}

// takeAreas holds the places r asks of each area for its booking, within the hold's transaction,
// and returns how the areas' counts moved. A retried hold (retried) keeps (and renews) the places
// its booking holds already and takes only what is missing. An area with too few places left makes the
// whole hold a *SeatsError wrapping ErrUnavailable naming it (with every other such area); an area
// the event does not have, one wrapping ErrUnknownSeat. The caller rolls back on either.
func (s *store) takeAreas(ctx context.Context, tx pgx.Tx, r inventory.HoldRequest, retried bool) ([]areaDelta, error) {
	// A retried hold (retried: the booking holds places already): those places, their hold
	// renewed. Found by the booking alone (one index, seats_booking): a condition on the event or
	// the area would let the planner walk every held place of the area instead.
	have := map[string]int{} // by area key
	if retried {
		rows, err := tx.Query(ctx, `UPDATE seats SET held_until = $2, buyer_id = $3, updated_at = now()
			WHERE booking_id = $1 AND area AND status = 'LOCKED'
			RETURNING (SELECT key FROM areas a WHERE a.event_id = seats.event_id AND a.section = seats.section)`,
			r.BookingID, r.HoldUntil, nullable(r.BuyerID))
		if err != nil {
			return nil, err
		}
		keys, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return nil, err
		}
		for _, k := range keys {
			have[k]++
		}
	}
	var deltas []areaDelta
	var short []string
	for _, want := range r.Quantities {
		need := want.Quantity - have[want.Section]
		if need <= 0 {
			continue
		}
		// Free places from a random one on, then from the first: a hundred buyers at once start
		// apart instead of each stepping over the places the others are taking.
		section, free, err := takePlaces(ctx, tx, r, want.Section, need, `status = 'AVAILABLE'
			AND position >= (SELECT position + floor(random() * capacity)::int FROM areas WHERE event_id = $1 AND key = $2)
			ORDER BY position`)
		if err != nil {
			return nil, err
		}
		if free < need {
			sec, more, err := takePlaces(ctx, tx, r, want.Section, need-free, `status = 'AVAILABLE' ORDER BY position`)
			if err != nil {
				return nil, err
			}
			section, free = cmp.Or(section, sec), free+more
		}
		lapsed := 0
		if free < need {
			var sec string
			if sec, lapsed, err = takePlaces(ctx, tx, r, want.Section, need-free,
				`status = 'LOCKED' AND held_until < now() ORDER BY held_until`); err != nil {
				return nil, err
			}
			section = cmp.Or(section, sec)
		}
		if free+lapsed < need {
			short = append(short, want.Section)
			continue
		}
		deltas = append(deltas, areaDelta{section: section, locked: free})
	}
	if len(short) == 0 {
		return deltas, nil
	}
	// Too few places, or no such area: which (areas the event does not have are named as such).
	_, missing, err := areasByKey(ctx, tx, r.EventID, short, false)
	if err != nil {
		return nil, err
	}
	if len(missing) > 0 {
		if ok, err := s.hasPlan(ctx, r.EventID); err == nil && !ok {
			return nil, inventory.ErrNoSeatPlan
		}
		return nil, &inventory.SeatsError{Err: inventory.ErrUnknownSeat, Sections: missing}
	}
	return nil, &inventory.SeatsError{Err: inventory.ErrUnavailable, SeatIDs: []string{}, Sections: short}
}

// takePlaces holds up to n places of the area (by key) that match which (a condition and an order)
// and that no other transaction has locked, for r's booking; it returns the area's section name
// (empty when it took none) and how many it took. The area is found by its key within the
// statement: a hold is one round trip per area.
func takePlaces(ctx context.Context, tx pgx.Tx, r inventory.HoldRequest, key string, n int, which string) (string, int, error) {
	// The limit is written into the statement (n is 1..10): as a parameter, the plan's estimate
	// of a generic LIMIT (a tenth of the free places) made PostgreSQL plan every hold afresh,
	// which cost more CPU than the hold itself (BENCHMARKS.md).
	rows, err := tx.Query(ctx, `
		WITH picked AS (
			SELECT seat_id FROM seats
			WHERE event_id = $1 AND section = (SELECT section FROM areas WHERE event_id = $1 AND key = $2)
			  AND area AND `+which+`
			LIMIT `+strconv.Itoa(n)+` FOR UPDATE SKIP LOCKED)
		UPDATE seats s SET status = 'LOCKED', booking_id = $3, held_until = $4, buyer_id = $5, updated_at = now()
		FROM picked p WHERE s.event_id = $1 AND s.seat_id = p.seat_id
		RETURNING s.section`,
		r.EventID, key, r.BookingID, r.HoldUntil, nullable(r.BuyerID))
	if err != nil {
		return "", 0, err
	}
	sections, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil || len(sections) == 0 {
		return "", 0, err
	}
	return sections[0], len(sections), nil
}

// confirmAreas sells the places the booking holds; ErrHoldLost when it holds fewer in an area than
// r asks (another booking took some after its hold expired). A retry is a no-op.
func confirmAreas(ctx context.Context, tx pgx.Tx, bookingID string, r inventory.SeatsRequest) ([]areaDelta, error) {
	areas, missing, err := areasByKey(ctx, tx, r.EventID, keysOf(r.Quantities), false)
	if err != nil {
		return nil, err
	}
	if len(missing) > 0 {
		return nil, inventory.ErrHoldLost
	}
	moved, err := movePlaces(ctx, tx, r.EventID, bookingID, `status IN ('LOCKED', 'RESERVED')`,
		`status = 'RESERVED', held_until = NULL`)
	if err != nil {
		return nil, err
	}
	var deltas []areaDelta
	for _, want := range r.Quantities {
		section := areas[want.Section].section
		m := moved[section]
		if m[inventory.Locked]+m[inventory.Reserved] < want.Quantity {
			return nil, inventory.ErrHoldLost
		}
		deltas = append(deltas, areaDelta{section: section, locked: -m[inventory.Locked], reserved: m[inventory.Locked]})
	}
	return deltas, nil
}

// releaseAreas frees every place the booking holds or bought, and returns how many and how the
// areas' counts moved.
func releaseAreas(ctx context.Context, tx pgx.Tx, eventID, bookingID string) (int, []areaDelta, error) {
	moved, err := movePlaces(ctx, tx, eventID, bookingID, `true`,
		`status = 'AVAILABLE', booking_id = NULL, held_until = NULL, buyer_id = NULL`)
	if err != nil {
		return 0, nil, err
	}
	n := 0
	var deltas []areaDelta
	for section, m := range moved {
		n += m[inventory.Locked] + m[inventory.Reserved]
		deltas = append(deltas, areaDelta{section: section, locked: -m[inventory.Locked], reserved: -m[inventory.Reserved]})
	}
	return n, deltas, nil
}

// movePlaces sets (set) the booking's places that match which, and counts them by section and by
// the status they had. They are found by the booking alone (see takeAreas); the event is checked
// on the join.
func movePlaces(ctx context.Context, tx pgx.Tx, eventID, bookingID, which, set string) (map[string]map[string]int, error) {
	rows, err := tx.Query(ctx, `
		WITH mine AS (
			SELECT seat_id, section, status FROM seats
			WHERE booking_id = $2 AND area AND `+which+` FOR UPDATE)
		UPDATE seats s SET `+set+`, updated_at = now()
		FROM mine m WHERE s.event_id = $1 AND s.seat_id = m.seat_id
		RETURNING m.section, m.status`, eventID, bookingID)
	if err != nil {
		return nil, err
	}
	moved := map[string]map[string]int{}
	for rows.Next() {
		var section, status string
		if err := rows.Scan(&section, &status); err != nil {
			return nil, err
		}
		if moved[section] == nil {
			moved[section] = map[string]int{}
		}
		moved[section][status]++
	}
	return moved, rows.Err()
}

// sumDeltas sums the deltas by area, as recordChange's arrays: sections (in order), and how many
// places each moved to and from LOCKED and RESERVED.
func sumDeltas(deltas []areaDelta) (sections []string, locked, reserved []int32) {
	sum := map[string]areaDelta{}
	for _, d := range deltas {
		t := sum[d.section]
		t.locked, t.reserved = t.locked+d.locked, t.reserved+d.reserved
		sum[d.section] = t
	}
	sections = make([]string, 0, len(sum))
	for s := range sum {
		sections = append(sections, s)
	}
	sort.Strings(sections)
	for _, s := range sections {
		locked, reserved = append(locked, int32(sum[s].locked)), append(reserved, int32(sum[s].reserved))
	}
	return sections, locked, reserved
}

// readAreas reads the event's areas into a seat map being read (in its transaction): their counts
// as readers see them now, and when the view goes stale because one of their holds expires.
func readAreas(ctx context.Context, tx pgx.Tx, eventID string, v *seatView) error {
	rows, err := tx.Query(ctx, `
		SELECT a.key, a.section, a.capacity, a.price_minor, a.position, a.locked, a.reserved,
		       e.expired, e.last_expired, n.next_expiry
		FROM areas a
		CROSS JOIN LATERAL (SELECT count(*) AS expired, max(s.held_until) AS last_expired FROM seats s
			WHERE s.event_id = a.event_id AND s.section = a.section AND s.area AND s.status = 'LOCKED'
			  AND s.held_until <= now()) e
		CROSS JOIN LATERAL (SELECT min(s.held_until) AS next_expiry FROM seats s
			WHERE s.event_id = a.event_id AND s.section = a.section AND s.area AND s.status = 'LOCKED'
			  AND s.held_until > now()) n
		WHERE a.event_id = $1 ORDER BY a.position`, eventID)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var c inventory.AreaCount
		var pos, locked, expired int
		var lastExpired, nextExpiry *time.Time
		if err := rows.Scan(&c.Section, &c.Name, &c.Capacity, &c.PriceMinor, &pos, &locked, &c.Reserved, &expired,
			&lastExpired, &nextExpiry); err != nil {
			return err
		}
		c.Locked = locked - expired
		c.Available = c.Capacity - c.Locked - c.Reserved
		if lastExpired != nil && lastExpired.After(v.mark) {
			v.mark = *lastExpired
		}
		if nextExpiry != nil && (v.staleAt.IsZero() || nextExpiry.Before(v.staleAt)) {
			v.staleAt = *nextExpiry
		}
		v.areas = append(v.areas, c)
		v.areaPos = append(v.areaPos, pos)
	}
	return rows.Err()
}
