package server

import (
	"context"
	"errors"
	"sort"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"ticketflow/internal/idempotency"
)

// Idempotency-Key on POST /api/bookings follows the API's one rule (internal/idempotency). What is
// the booking's own: its fingerprint, and its keys in PostgreSQL (idempotency_requests), where the
// key's resource is the booking id. A 5xx after the booking was stored (its seat decision still
// open: its workflow decides) keeps the key with that booking, so a retry gets the workflow's
// decision and never makes a second booking while the first may still hold the seats.

// fingerprint identifies a booking request's meaning: the event, the seats (in any order), the places
// asked of each area and the card. Legacy fields the server ignores (eventName, totalAmount) are
// not part of it.
func fingerprint(req *createRequest) string {
	seats := append([]string(nil), req.SeatIDs...)
	sort.Strings(seats)
	token := defaultPaymentToken
	if req.PaymentMethod != nil {
		token = req.PaymentMethod.Type + ":" + req.PaymentMethod.Token
	}
	parts := []any{req.EventID, seats, token}
	if len(req.Quantities) > 0 { // after check: in their one form; a request of seats only hashes as before
		parts = append(parts, req.Quantities)
	}
	return idempotency.Fingerprint(parts)
}

// keyStore keeps the booking service's Idempotency-Keys (idempotency.Store): scope is the user id,
// the resource the booking id.
type keyStore struct{ pool *pgxpool.Pool }

func (s keyStore) Insert(ctx context.Context, userID, key string, rec idempotency.Record) (bool, error) {
	tag, err := s.pool.Exec(ctx, `INSERT INTO idempotency_requests (user_id, key, fingerprint, booking_id, state,
			lease_until, created_at, status_code, body)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING`,
		userID, key, rec.Fingerprint, rec.ResourceID, string(rec.State), rec.LeaseUntil, rec.CreatedAt, status(rec), rec.Body)
	return tag.RowsAffected() == 1, err
}

func (s keyStore) Get(ctx context.Context, userID, key string) (idempotency.Record, error) {
	var (
		rec   idempotency.Record
		state string
		code  *int
	)
	err := s.pool.QueryRow(ctx, `SELECT fingerprint, booking_id::text, state, lease_until, created_at, status_code, body
		FROM idempotency_requests WHERE user_id = $1 AND key = $2`, userID, key).
		Scan(&rec.Fingerprint, &rec.ResourceID, &state, &rec.LeaseUntil, &rec.CreatedAt, &code, &rec.Body)
	if errors.Is(err, pgx.ErrNoRows) {
		return rec, idempotency.ErrNoKey
	}
	rec.State = idempotency.State(state)
	if code != nil {
		rec.Status = *code
	}
	return rec, err
}

// Replace compares and writes in one statement: the row lock of the UPDATE makes it atomic.
func (s keyStore) Replace(ctx context.Context, userID, key string, old, rec idempotency.Record) (bool, error) {
	tag, err := s.pool.Exec(ctx, `UPDATE idempotency_requests SET fingerprint = $6, booking_id = $7, state = $8,
			lease_until = $9, created_at = $10, status_code = $11, body = $12
		WHERE user_id = $1 AND key = $2 AND state = $3 AND booking_id = $4 AND lease_until = $5`,
		userID, key, string(old.State), old.ResourceID, old.LeaseUntil,
		rec.Fingerprint, rec.ResourceID, string(rec.State), rec.LeaseUntil, rec.CreatedAt, status(rec), rec.Body)
	return tag.RowsAffected() == 1, err
}

func (s keyStore) Delete(ctx context.Context, userID, key string, old idempotency.Record) error {
	_, err := s.pool.Exec(ctx, `DELETE FROM idempotency_requests
		WHERE user_id = $1 AND key = $2 AND state = $3 AND booking_id = $4 AND lease_until = $5`,
		userID, key, string(old.State), old.ResourceID, old.LeaseUntil)
	return err
}

// status is the record's answer status, NULL while it has none.
func status(rec idempotency.Record) *int {
	if rec.Status == 0 {
		return nil
	}
	return &rec.Status
}
