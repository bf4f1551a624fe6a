package server

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"ticketflow/internal/lifecycle"
	"ticketflow/internal/seatplan"
	"ticketflow/services/booking"
)

// ErrBadTransition is returned for a status change the lifecycle forbids.
var ErrBadTransition = errors.New("status change not allowed")

type store struct{ pool *pgxpool.Pool }

const bookingColumns = `id, user_id, user_email, event_id, event_name, seat_ids, amount_minor, currency, status,
	failure_reason, hold_expires_at, payment_id, payment_token, idempotency_key, origin, hold_decision,
	workflow_started, event_starts_at, max_seats_per_buyer, created_at, updated_at, quantities`

func scanBooking(row pgx.Row) (*booking.Booking, error) {
	var b booking.Booking
	err := row.Scan(&b.ID, &b.UserID, &b.UserEmail, &b.EventID, &b.EventName, &b.SeatIDs, &b.AmountMinor, &b.Currency,
		&b.Status, &b.FailureReason, &b.HoldExpiresAt, &b.PaymentID, &b.PaymentToken, &b.IdempotencyKey,
		&b.Origin, &b.HoldDecision, &b.WorkflowStarted, &b.EventStartsAt, &b.MaxSeatsPerBuyer, &b.CreatedAt, &b.UpdatedAt,
		&b.Quantities)
	if err != nil {
		return nil, err
	}
	return &b, nil
}

// create stores a new PENDING booking with its first history line (and its seat decision when
// it is made before the booking exists: a refusal outside the sales window). When a booking with this id
// exists already (a message delivered twice, a request taken over), it stores nothing and returns
// that booking instead.
func (s *store) create(ctx context.Context, b *booking.Booking) (existing *booking.Booking, err error) {
	// The hold's expiry is decided on PostgreSQL's clock, the one the inventory judges holds by:
	// b's times are replaced by the database's now() (its hold lasting as long as b's did), so a
	// booking process whose clock is off still holds seats for the whole HOLD_TTL.
	ttl := b.HoldExpiresAt.Sub(b.CreatedAt)
	// One statement, so one round trip on the decision path a buyer waits on (and atomic as a
	// transaction would be): the booking and its first history line.
	err = s.pool.QueryRow(ctx, `WITH b AS (
			INSERT INTO bookings (`+bookingColumns+`)
			VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,now() + $11::bigint * interval '1 microsecond',$12,$13,$14,$15,$16,false,$17,$18,now(),now(),$19)
			ON CONFLICT (id) DO NOTHING RETURNING id, status, created_at, hold_expires_at),
		h AS (INSERT INTO booking_status_history (booking_id, status, at) SELECT id, status, created_at FROM b)
		SELECT created_at, hold_expires_at FROM b`,
		b.ID, b.UserID, b.UserEmail, b.EventID, b.EventName, b.SeatIDs, b.AmountMinor, b.Currency, b.Status,
		b.FailureReason, ttl.Microseconds(), b.PaymentID, b.PaymentToken, b.IdempotencyKey, b.Origin,
		b.HoldDecision, b.EventStartsAt, b.MaxSeatsPerBuyer, quantitiesArg(b.Quantities)).Scan(&b.CreatedAt, &b.HoldExpiresAt)
	if errors.Is(err, pgx.ErrNoRows) {
		// A booking with this id exists (committed: the insert waited for it).
		return getBooking(ctx, s.pool, b.ID)
	}
	if err != nil {
		return nil, err
	}
	b.CreatedAt, b.HoldExpiresAt = b.CreatedAt.UTC(), b.HoldExpiresAt.UTC()
	b.UpdatedAt = b.CreatedAt
	return nil, nil
}

// setHoldDecision records the seat decision made within the request (never a status change).
func (s *store) setHoldDecision(ctx context.Context, id string, d *lifecycle.HoldResult) error {
	_, err := s.pool.Exec(ctx, `UPDATE bookings SET hold_decision = $2 WHERE id = $1`, id, d)
	return err
}

// markStarted records that the booking's workflow exists.
func (s *store) markStarted(ctx context.Context, id string) error {
	_, err := s.pool.Exec(ctx, `UPDATE bookings SET workflow_started = true WHERE id = $1 AND NOT workflow_started`, id)
	return err
}

// unstarted lists bookings created before t whose workflow is not known to exist, oldest first,
// after the given (created_at, id) position: the reconciler pages through all of them.
func (s *store) unstarted(ctx context.Context, before time.Time, afterAt time.Time, afterID string, limit int) ([]*booking.Booking, error) {
	return s.list(ctx, `SELECT `+bookingColumns+` FROM bookings
		WHERE NOT workflow_started AND created_at < $1 AND (created_at, id) > ($2, $3::uuid)
		ORDER BY created_at, id LIMIT $4`, before, afterAt, afterID, limit)
}

type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

func getBooking(ctx context.Context, q querier, id string) (*booking.Booking, error) {
	return scanBooking(q.QueryRow(ctx, `SELECT `+bookingColumns+` FROM bookings WHERE id = $1`, id))
}

func (s *store) get(ctx context.Context, id string) (*booking.Booking, error) {
	return getBooking(ctx, s.pool, id)
}

func (s *store) history(ctx context.Context, id string) ([]booking.StatusEntry, error) {
	rows, err := s.pool.Query(ctx, `SELECT status, reason, at FROM booking_status_history WHERE booking_id = $1 ORDER BY id`, id)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (booking.StatusEntry, error) {
		var e booking.StatusEntry
		err := row.Scan(&e.Status, &e.Reason, &e.At)
		return e, err
	})
}

func (s *store) listByUser(ctx context.Context, userID string, page, limit int) ([]*booking.Booking, error) {
	return s.list(ctx, `SELECT `+bookingColumns+` FROM bookings WHERE user_id = $1
		ORDER BY created_at DESC, id DESC LIMIT $2 OFFSET $3`, userID, limit, (page-1)*limit)
}

func (s *store) list(ctx context.Context, sql string, args ...any) ([]*booking.Booking, error) {
	rows, err := s.pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []*booking.Booking{}
	for rows.Next() {
		b, err := scanBooking(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, rows.Err()
}

// setStatus applies a status change from the workflow: PENDING may become any terminal status,
// CONFIRMED may become CANCELLED, nothing else changes a terminal status. Applying the status a
// booking already has is a no-op (a retried activity); changed says whether this call made the
// change.
func (s *store) setStatus(ctx context.Context, id, status string, reason, paymentID *string, at time.Time) (out *booking.Booking, changed bool, err error) {
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		changed = false // a retried transaction starts over
		b, err := scanBooking(tx.QueryRow(ctx, `SELECT `+bookingColumns+` FROM bookings WHERE id = $1 FOR UPDATE`, id))
		if err != nil {
			return err
		}
		out = b
		if b.Status == status {
			return nil
		}
		changed = true
		if !lifecycle.Allowed(b.Status, status) {
			return fmt.Errorf("%w: %s to %s", ErrBadTransition, b.Status, status)
		}
		out, err = scanBooking(tx.QueryRow(ctx, `UPDATE bookings SET status = $2, failure_reason = $3,
			payment_id = COALESCE($4, payment_id), updated_at = $5 WHERE id = $1 RETURNING `+bookingColumns,
			id, status, reason, paymentID, at))
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO booking_status_history (booking_id, status, reason, at) VALUES ($1,$2,$3,$4)`,
			id, status, reason, at)
		return err
	})
	return out, changed && err == nil, err
}

// quantitiesArg is a booking's quantities for their jsonb column: NULL for a booking of seats only.
func quantitiesArg(q []seatplan.Quantity) any {
	if len(q) == 0 {
		return nil
	}
	return q
}
