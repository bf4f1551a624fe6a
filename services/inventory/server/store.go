package server

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"ticketflow/internal/seatplan"
	"ticketflow/services/inventory"
)

// Seat is one seat of an event as the API shows it.
type Seat struct {
	ID         string `json:"id"`
	EventID    string `json:"eventId"`
	Section    string `json:"section"`
	Row        string `json:"row"`
	Number     int    `json:"number"`
	Label      string `json:"label"`
	PriceMinor int64  `json:"priceMinor"`
	Status     string `json:"status"`
	// SeatNumber is Number as a string, the field the original frontend reads.
	SeatNumber string `json:"seatNumber"`
}

// store is the inventory's PostgreSQL access. Every statement that changes seats runs in one
// transaction and checks the booking that holds them.
type store struct{ pool *pgxpool.Pool }

// createSeats loads an event's seat plan once: a second call for the same event changes nothing
// and reports the count stored the first time.
func (s *store) createSeats(ctx context.Context, eventID, currency string, seats []seatplan.Seat) (count int, created bool, err error) {
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `INSERT INTO seat_plans (event_id, seat_count) VALUES ($1, $2) ON CONFLICT DO NOTHING`,
			eventID, len(seats))
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return tx.QueryRow(ctx, `SELECT seat_count FROM seat_plans WHERE event_id = $1`, eventID).Scan(&count)
		}
		rows := make([][]any, len(seats))
		for i, st := range seats {
			rows[i] = []any{eventID, st.ID, st.Section, st.Row, st.Number, st.Label, st.PriceMinor, currency, i, st.Area}
		}
		if _, err = tx.CopyFrom(ctx, pgx.Identifier{"seats"},
			[]string{"event_id", "seat_id", "section", "row_label", "number", "label", "price_minor", "currency", "position", "area"},
			pgx.CopyFromRows(rows)); err != nil {
			return err
		}
		count, created = len(seats), true
		return createAreas(ctx, tx, eventID, currency, seats)
	})
	return count, created, err
}

// quote prices the seats and places of r from the seat data and names those taken right now: seats
// sold or held by a live hold, areas with fewer places left than asked for. Unknown seats and areas
// are a *SeatsError wrapping ErrUnknownSeat (ErrNoSeatPlan when the event has no seats at all).
func (s *store) quote(ctx context.Context, eventID string, r inventory.QuoteRequest) (inventory.Quote, error) {
	q, err := s.quoteSeats(ctx, eventID, r.SeatIDs)
	var unknown *inventory.SeatsError
	if err != nil && !(errors.As(err, &unknown) && errors.Is(err, inventory.ErrUnknownSeat)) {
		return inventory.Quote{}, err
	}
	if len(r.Quantities) > 0 {
		if err := s.quoteAreas(ctx, eventID, r.Quantities, &q); err != nil {
			var se *inventory.SeatsError
			if !errors.As(err, &se) || !errors.Is(err, inventory.ErrUnknownSeat) {
				return inventory.Quote{}, err
			}
			if unknown == nil {
				unknown = &inventory.SeatsError{Err: inventory.ErrUnknownSeat}
			}
			unknown.Sections = se.Sections
		}
	}
	if unknown != nil {
		if ok, err := s.hasPlan(ctx, eventID); err != nil {
			return inventory.Quote{}, err
		} else if !ok {
			return inventory.Quote{}, inventory.ErrNoSeatPlan
		}
		return inventory.Quote{}, unknown
	}
	return q, nil
}

// quoteSeats prices numbered seats (never an area's places: those are asked by quantity).
func (s *store) quoteSeats(ctx context.Context, eventID string, seatIDs []string) (inventory.Quote, error) {
	q := inventory.Quote{Seats: []inventory.QuotedSeat{}}
	if len(seatIDs) == 0 {
		return q, nil
	}
	rows, err := s.pool.Query(ctx, `SELECT seat_id, label, price_minor, currency,
			status = 'RESERVED' OR (status = 'LOCKED' AND held_until > now())
		FROM seats WHERE event_id = $1 AND seat_id = ANY($2) AND NOT area`, eventID, seatIDs)
	if err != nil {
		return inventory.Quote{}, err
	}
	found := map[string]bool{}
	for rows.Next() {
		var qs inventory.QuotedSeat
		var taken bool
		if err := rows.Scan(&qs.ID, &qs.Label, &qs.PriceMinor, &q.Currency, &taken); err != nil {
			return inventory.Quote{}, err
		}
		if taken {
			q.UnavailableSeatIDs = append(q.UnavailableSeatIDs, qs.ID)
		}
		found[qs.ID] = true
		q.Seats = append(q.Seats, qs)
		q.AmountMinor += qs.PriceMinor
	}
	if err := rows.Err(); err != nil {
		return inventory.Quote{}, err
	}
	sort.Slice(q.Seats, func(i, j int) bool { return q.Seats[i].ID < q.Seats[j].ID })
	sort.Strings(q.UnavailableSeatIDs)
	if missing := missingFrom(seatIDs, found); len(missing) > 0 {
		return q, &inventory.SeatsError{Err: inventory.ErrUnknownSeat, SeatIDs: missing}
	}
	return q, nil
}

func (s *store) hasPlan(ctx context.Context, eventID string) (bool, error) {
	var ok bool
	err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM seat_plans WHERE event_id = $1)`, eventID).Scan(&ok)
	return ok, err
}

// hold takes every seat and every place of the request for its booking, or none of them. A seat can
// be taken when it is AVAILABLE, LOCKED with an expired hold, or already held by this booking (so a
// retried hold is a no-op); an area's places are taken as takeAreas says. A booking that was
// released never holds again (ErrBookingReleased).
//
// The transaction first takes two advisory locks: the booking's, so a hold and a release of one
// booking never interleave (a release then always sees, or always undoes, the hold), and the
// buyer's for the event, so two parallel holds of one buyer cannot both pass the buyer limit.
// Rows are then locked in seat-id order so concurrent holds of overlapping sets never deadlock.
//
// A buyer waits on this transaction, and on a busy machine every round trip to PostgreSQL waits
// for a core twice: the locks and the checks that must follow them go in one batch (one round
// trip, each statement still with a snapshot of its own, taken after the locks are held).
func (s *store) hold(ctx context.Context, r inventory.HoldRequest) error {
	limited := r.MaxSeatsPerBuyer > 0 && r.BuyerID != ""
	return retryTx(ctx, func() error {
		return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			var b pgx.Batch
			b.Queue(lockBookingSQL, r.BookingID)
			if limited {
				b.Queue(`SELECT pg_advisory_xact_lock(hashtextextended('buyer:' || $1 || ':' || $2, 0))`, r.EventID, r.BuyerID)
			}
			// Whether the booking was released; for a hold of places, whether it holds places
			// already (a retried hold, whose places takeAreas renews rather than takes again); and
			// the buyer's live seats and places of the event, those of this booking (a retried
			// hold) not counted twice.
			var released, retried bool
			var live int
			b.Queue(`SELECT EXISTS (SELECT 1 FROM released_bookings WHERE booking_id = $1),
				$2 AND EXISTS (SELECT 1 FROM seats WHERE booking_id = $1 AND area AND status = 'LOCKED'),
				CASE WHEN $3 THEN (SELECT count(*) FROM seats WHERE event_id = $4 AND buyer_id = $5
					AND booking_id IS DISTINCT FROM $1
					AND (status = 'RESERVED' OR (status = 'LOCKED' AND held_until > now()))) ELSE 0 END`,
				r.BookingID, len(r.Quantities) > 0, limited, r.EventID, nullable(r.BuyerID)).QueryRow(func(row pgx.Row) error {
				return row.Scan(&released, &retried, &live)
			})
			if err := tx.SendBatch(ctx, &b).Close(); err != nil {
				return err
			}
			if released {
				return inventory.ErrBookingReleased
			}
			if limited && live+len(r.SeatIDs)+seatplan.Places(r.Quantities) > r.MaxSeatsPerBuyer {
				return &inventory.BuyerLimitError{Limit: r.MaxSeatsPerBuyer, Live: live}
			}
			got := []string{}
			if len(r.SeatIDs) > 0 {
				rows, err := tx.Query(ctx, `
					WITH target AS (
						SELECT seat_id FROM seats WHERE event_id = $1 AND seat_id = ANY($2) AND NOT area
						ORDER BY seat_id FOR UPDATE)
					UPDATE seats s SET status = 'LOCKED', booking_id = $3, held_until = $4, buyer_id = $5, updated_at = now()
					FROM target t
					WHERE s.event_id = $1 AND s.seat_id = t.seat_id
					  AND (s.status = 'AVAILABLE'
					       OR (s.status = 'LOCKED' AND (s.held_until < now() OR s.booking_id = $3)))
					RETURNING s.seat_id`, r.EventID, r.SeatIDs, r.BookingID, r.HoldUntil, nullable(r.BuyerID))
				if err != nil {
					return err
				}
				if got, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
					return err
				}
				if len(got) != len(r.SeatIDs) {
					// Short: find out why, then roll back so that nothing stays held.
					return s.explainShortfall(ctx, tx, r.EventID, r.SeatIDs, got)
				}
			}
			var deltas []areaDelta
			if len(r.Quantities) > 0 {
				var err error
				if deltas, err = s.takeAreas(ctx, tx, r, retried); err != nil {
					return err
				}
			}
			_, err := recordChange(ctx, tx, r.EventID, got, inventory.Locked, &r.HoldUntil, deltas)
			return err
		})
	})
}

// lockBooking serialises the transactions that hold or release one booking's seats.
func lockBooking(ctx context.Context, tx pgx.Tx, bookingID string) error {
	_, err := tx.Exec(ctx, lockBookingSQL, bookingID)
	return err
}

const lockBookingSQL = `SELECT pg_advisory_xact_lock(hashtextextended('booking:' || $1, 0))`

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func (s *store) explainShortfall(ctx context.Context, tx pgx.Tx, eventID string, seatIDs, taken []string) error {
	rows, err := tx.Query(ctx, `SELECT seat_id FROM seats WHERE event_id = $1 AND seat_id = ANY($2) AND NOT area`, eventID, seatIDs)
	if err != nil {
		return err
	}
	existing, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return err
	}
	exists := map[string]bool{}
	for _, id := range existing {
		exists[id] = true
	}
	if unknown := missingFrom(seatIDs, exists); len(unknown) > 0 {
		if len(existing) == 0 {
			if ok, err := s.hasPlan(ctx, eventID); err == nil && !ok {
				return inventory.ErrNoSeatPlan
			}
		}
		return &inventory.SeatsError{Err: inventory.ErrUnknownSeat, SeatIDs: unknown}
	}
	got := map[string]bool{}
	for _, id := range taken {
		got[id] = true
	}
	return &inventory.SeatsError{Err: inventory.ErrUnavailable, SeatIDs: missingFrom(seatIDs, got)}
}

// confirm turns the booking's held seats and places into sold ones. It succeeds only while the
// booking still holds every one of them (an expired hold nobody took over still counts); a retry is
// a no-op.
func (s *store) confirm(ctx context.Context, bookingID string, r inventory.SeatsRequest) error {
	return retryTx(ctx, func() error {
		return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			if len(r.SeatIDs) > 0 {
				tag, err := tx.Exec(ctx, `
					WITH target AS (
						SELECT seat_id FROM seats WHERE event_id = $1 AND seat_id = ANY($2) AND NOT area
						ORDER BY seat_id FOR UPDATE)
					UPDATE seats s SET status = 'RESERVED', held_until = NULL, updated_at = now()
					FROM target t
					WHERE s.event_id = $1 AND s.seat_id = t.seat_id AND s.booking_id = $3
					  AND s.status IN ('LOCKED', 'RESERVED')`, r.EventID, r.SeatIDs, bookingID)
				if err != nil {
					return err
				}
				if int(tag.RowsAffected()) != len(r.SeatIDs) {
					return inventory.ErrHoldLost
				}
			}
			var deltas []areaDelta
			if len(r.Quantities) > 0 {
				var err error
				if deltas, err = confirmAreas(ctx, tx, bookingID, r); err != nil {
					return err
				}
			}
			_, err := recordChange(ctx, tx, r.EventID, r.SeatIDs, inventory.Reserved, nil, deltas)
			return err
		})
	})
}

// release frees the seats this booking holds or bought, and every place of an area it holds or
// bought; seats and places of other bookings are untouched. It also marks the booking released, so
// that no hold of it applied later takes seats again.
func (s *store) release(ctx context.Context, eventID, bookingID string, seatIDs []string) (int, error) {
	var n int
	err := retryTx(ctx, func() error {
		return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			if err := lockBooking(ctx, tx, bookingID); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `INSERT INTO released_bookings (booking_id) VALUES ($1) ON CONFLICT DO NOTHING`,
				bookingID); err != nil {
				return err
			}
			rows, err := tx.Query(ctx, `
				WITH target AS (
					SELECT seat_id FROM seats WHERE event_id = $1 AND seat_id = ANY($2) AND booking_id = $3
					ORDER BY seat_id FOR UPDATE)
				UPDATE seats s SET status = 'AVAILABLE', booking_id = NULL, held_until = NULL, buyer_id = NULL, updated_at = now()
				FROM target t
				WHERE s.event_id = $1 AND s.seat_id = t.seat_id AND s.booking_id = $3
				RETURNING s.seat_id`, eventID, seatIDs, bookingID)
			if err != nil {
				return err
			}
			freed, err := pgx.CollectRows(rows, pgx.RowTo[string])
			if err != nil {
				return err
			}
			places, deltas, err := releaseAreas(ctx, tx, eventID, bookingID)
			if err != nil {
				return err
			}
			n = len(freed) + places
			if n == 0 {
				return nil
			}
			_, err = recordChange(ctx, tx, eventID, freed, inventory.Available, nil, deltas)
			return err
		})
	})
	return n, err
}

// sweepExpired frees holds that expired more than grace ago (readers already see them as
// AVAILABLE; this keeps the rows honest) and returns the events it touched.
func (s *store) sweepExpired(ctx context.Context, grace time.Duration) ([]string, error) {
	var events []string
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `
			UPDATE seats SET status = 'AVAILABLE', booking_id = NULL, held_until = NULL, buyer_id = NULL, updated_at = now()
			WHERE status = 'LOCKED' AND held_until < now() - $1::interval
			RETURNING event_id, seat_id, area, section`, grace.String())
		if err != nil {
			return err
		}
		freed := map[string][]string{}
		places := map[string]map[string]int{} // event → area's section → places freed
		for rows.Next() {
			var ev, seat, section string
			var area bool
			if err := rows.Scan(&ev, &seat, &area, &section); err != nil {
				return err
			}
			if freed[ev] == nil && places[ev] == nil {
				events = append(events, ev)
			}
			if area {
				if places[ev] == nil {
					places[ev] = map[string]int{}
				}
				places[ev][section]++
				continue
			}
			freed[ev] = append(freed[ev], seat)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		for _, ev := range events {
			var deltas []areaDelta
			for section, n := range places[ev] {
				deltas = append(deltas, areaDelta{section: section, locked: -n})
			}
			if _, err := recordChange(ctx, tx, ev, freed[ev], inventory.Available, nil, deltas); err != nil {
				return err
			}
		}
		return nil
	})
	return events, err
}

// recordChange bumps the event's seat-map version and records the change under it, in the
// transaction that makes the change; the notification goes out when (and only if) it commits.
// Called last in its transaction, so the version row — the event's one hot row: every write of
// the event queues on it — is locked only until the commit, and by this one statement: the bump,
// the counts of the areas whose places moved (deltas; kept behind the version's lock, so the counts
// a change carries are those of its version, and the area rows are never contended), the change
// and its notification.
func recordChange(ctx context.Context, tx pgx.Tx, eventID string, seatIDs []string, status string, heldUntil *time.Time, deltas []areaDelta) (int64, error) {
	if seatIDs == nil {
		seatIDs = []string{} // a change of areas' places only
	}
	sections, locked, reserved := sumDeltas(deltas)
	var version int64
	var notified string
	// The areas' UPDATE reads v's row, so it runs after the bump: every writer of the event takes
	// the version row first, then its areas' rows.
	err := tx.QueryRow(ctx, `
		WITH v AS (UPDATE seat_plans SET version = version + 1 WHERE event_id = $1 RETURNING version),
		a AS (UPDATE areas SET locked = areas.locked + d.locked, reserved = areas.reserved + d.reserved
		      FROM v, unnest($5::text[], $6::int[], $7::int[]) AS d(section, locked, reserved)
		      WHERE areas.event_id = $1 AND areas.section = d.section
		      RETURNING areas.key, areas.section, areas.capacity, areas.price_minor, areas.locked, areas.reserved,
		        (SELECT count(*) FROM seats s WHERE s.event_id = $1 AND s.section = areas.section AND s.area
		           AND s.status = 'LOCKED' AND s.held_until <= now()) AS expired),
		c AS (INSERT INTO seat_changes (event_id, version, seat_ids, status, held_until, areas)
		      SELECT $1, v.version, $2, $3, $4,
		        (SELECT jsonb_agg(jsonb_build_object('section', key, 'name', section, 'capacity', capacity,
		           'priceMinor', price_minor, 'available', capacity - (locked - expired) - reserved,
		           'locked', locked - expired, 'reserved', reserved) ORDER BY key) FROM a)
		      FROM v RETURNING version)
		SELECT version, pg_notify($8, $1 || ':' || version)::text FROM c`,
		eventID, seatIDs, status, heldUntil, sections, locked, reserved, changeChannel).Scan(&version, &notified)
	if err != nil {
		return 0, fmt.Errorf("bump the seat map version of %s: %w", eventID, err)
	}
	return version, nil
}

// changeChannel is the PostgreSQL notification channel of committed seat changes.
const changeChannel = "seat_changes"

// Change is one committed change of seat statuses, as the stream sends it: the seats that took
// Status, and the counts, at this version, of the general-admission areas whose places moved.
type Change struct {
	Version   int64                 `json:"version"`
	SeatIDs   []string              `json:"seatIds"`
	Status    string                `json:"status"`
	HeldUntil *time.Time            `json:"heldUntil,omitempty"`
	Areas     []inventory.AreaCount `json:"areas,omitempty"`
}

// changesSince returns up to limit changes of the event after version, oldest first.
func (s *store) changesSince(ctx context.Context, eventID string, version int64, limit int) ([]Change, error) {
	rows, err := s.pool.Query(ctx, `SELECT version, seat_ids, status, held_until, areas FROM seat_changes
		WHERE event_id = $1 AND version > $2 ORDER BY version LIMIT $3`, eventID, version, limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (Change, error) {
		var c Change
		err := row.Scan(&c.Version, &c.SeatIDs, &c.Status, &c.HeldUntil, &c.Areas)
		return c, err
	})
}

// version is the event's current seat-map version (ErrNoSeatPlan when it has no seats).
func (s *store) version(ctx context.Context, eventID string) (int64, error) {
	var v int64
	err := s.pool.QueryRow(ctx, `SELECT version FROM seat_plans WHERE event_id = $1`, eventID).Scan(&v)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, inventory.ErrNoSeatPlan
	}
	return v, err
}

// pruneChanges forgets changes older than keep (a watcher that far behind re-reads the snapshot).
func (s *store) pruneChanges(ctx context.Context, keep time.Duration) error {
	_, err := s.pool.Exec(ctx, `DELETE FROM seat_changes WHERE at < now() - $1::interval`, keep.String())
	return err
}

// seatView is an event's seats as readers must see them at one version: a LOCKED seat whose hold
// expired is AVAILABLE. Its general-admission areas are counts (a held place whose hold expired
// counts as available), in plan order; the summary counts their places with the seats.
type seatView struct {
	version int64
	seats   []Seat
	until   []time.Time // per seat: the live hold's expiry (zero unless LOCKED)
	pos     []int       // per seat: its position in the plan
	areas   []inventory.AreaCount
	areaPos []int // per area: the position of its first place
	summary inventory.Summary
	// mark is the latest hold expiry already passed when read (zero: none), staleAt the earliest
	// live one (zero: none): the view is the same from mark until staleAt.
	mark, staleAt time.Time
}

// seatMap reads every seat of an event with the version they are at, in one snapshot of the
// database, in the plan's order.
func (s *store) seatMap(ctx context.Context, eventID string) (*seatView, error) {
	v := &seatView{}
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly},
		func(tx pgx.Tx) error {
			err := tx.QueryRow(ctx, `SELECT version FROM seat_plans WHERE event_id = $1`, eventID).Scan(&v.version)
			if errors.Is(err, pgx.ErrNoRows) {
				return inventory.ErrNoSeatPlan
			}
			if err != nil {
				return err
			}
			rows, err := tx.Query(ctx, `
				SELECT seat_id, section, row_label, number, label, price_minor, status, held_until, now(), position
				FROM seats WHERE event_id = $1 AND NOT area ORDER BY position, seat_id`, eventID)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				st := Seat{EventID: eventID}
				var heldUntil *time.Time
				var now time.Time
				var pos int
				if err := rows.Scan(&st.ID, &st.Section, &st.Row, &st.Number, &st.Label, &st.PriceMinor, &st.Status,
					&heldUntil, &now, &pos); err != nil {
					return err
				}
				v.pos = append(v.pos, pos)
				var until time.Time
				if st.Status == inventory.Locked && heldUntil != nil {
					switch {
					case !heldUntil.After(now):
						st.Status = inventory.Available
						if heldUntil.After(v.mark) {
							v.mark = *heldUntil
						}
					default:
						until = *heldUntil
						if v.staleAt.IsZero() || heldUntil.Before(v.staleAt) {
							v.staleAt = *heldUntil
						}
					}
				}
				st.SeatNumber = strconv.Itoa(st.Number)
				v.summary.Add(st.Status)
				v.seats = append(v.seats, st)
				v.until = append(v.until, until)
			}
			if err := rows.Err(); err != nil {
				return err
			}
			return readAreas(ctx, tx, eventID, v)
		})
	if err != nil {
		return nil, err
	}
	v.summary.Total = len(v.seats)
	for _, a := range v.areas {
		v.summary.Total += a.Capacity
		v.summary.Available += a.Available
		v.summary.Locked += a.Locked
		v.summary.Reserved += a.Reserved
	}
	return v, nil
}

func missingFrom(want []string, have map[string]bool) []string {
	var out []string
	for _, id := range want {
		if !have[id] {
			out = append(out, id)
		}
	}
	return out
}

// retryTx reruns f when PostgreSQL aborted it for a deadlock or a serialization failure.
func retryTx(ctx context.Context, f func() error) error {
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		err = f()
		var pe *pgconn.PgError
		if !errors.As(err, &pe) || (pe.Code != "40P01" && pe.Code != "40001") {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Duration(attempt+1) * 5 * time.Millisecond):
		}
	}
	return err
}

// HoldWith runs the inventory's hold transaction (the one the hold route runs) on pool and
// nothing else: no HTTP, no cache, no quote. It returns what the route's store returns: nil when
// every seat is held, a *SeatsError (ErrUnavailable, ErrUnknownSeat), *BuyerLimitError or
// ErrBookingReleased when refused. It exists for the benchmark's physical-limit line
// (tools/bench), which must time exactly the statements a seat decision costs PostgreSQL.
func HoldWith(ctx context.Context, pool *pgxpool.Pool, r inventory.HoldRequest) error {
	return (&store{pool: pool}).hold(ctx, r)
}
