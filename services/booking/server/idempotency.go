package server

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"sort"
	"time"

	"github.com/jackc/pgx/v5"

	"ticketflow/internal/httpapi"
	"ticketflow/internal/ids"
	"ticketflow/services/booking"
)

// Idempotency-Key on POST /api/bookings, as draft-ietf-httpapi-idempotency-key-header describes it:
//
//   - the same user, key and request within 24 h get the first answer again, status and body,
//     409s included;
//   - the same key with another request is 422 IDEMPOTENCY_KEY_REUSED;
//   - the same key while the first request is still deciding waits for its answer (up to
//     keyWait), then gets 409 IDEMPOTENCY_KEY_IN_USE with Retry-After; never a 202 before the seats
//     are held;
//   - a 5xx does not bind the key. When the 5xx came before any booking existed the key is free
//     again; when a booking exists whose seat decision is still open (its workflow decides), the
//     key stays with that booking and a retry gets the workflow's decision — so a retry never
//     makes a second booking while the first may still hold the seats.
//
// A request whose process died while deciding leaves its key DECIDING; after keyLease a retry
// takes it over, with the same booking id.
const (
	idempotencyWindow = 24 * time.Hour
	keyLease          = 30 * time.Second
	keyWait           = 10 * time.Second
)

// keyState is what claimKey found.
type keyState int

const (
	keyFresh    keyState = iota // this request decides, for bookingID (new, or taken over)
	keyAnswered                 // answered before: replay answer
	keyInUse                    // another request is deciding right now
)

type claimed struct {
	state     keyState
	bookingID string
	answer    *storedAnswer
}

// storedAnswer is a decided answer. A nil body is a key of the first design: answer with the
// booking as it stands.
type storedAnswer struct {
	status int
	body   []byte
}

// fingerprint identifies a request's meaning: the event, the seats (in any order) and the card.
// Legacy fields the server ignores (eventName, totalAmount) are not part of it.
func fingerprint(req *createRequest) string {
	seats := append([]string(nil), req.SeatIDs...)
	sort.Strings(seats)
	token := defaultPaymentToken
	if req.PaymentMethod != nil {
		token = req.PaymentMethod.Type + ":" + req.PaymentMethod.Token
	}
	raw, _ := json.Marshal([]any{req.EventID, seats, token})
	sum := sha256.Sum256(raw)
	return hex.EncodeToString(sum[:])
}

var errKeyReused = httpapi.NewError(http.StatusUnprocessableEntity, "IDEMPOTENCY_KEY_REUSED",
	"this Idempotency-Key was used with another request")

// claimKey claims the user's key for a request with fingerprint fp.
func (s *store) claimKey(ctx context.Context, userID, key, fp string) (claimed, error) {
	var c claimed
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		fresh := ids.New()
		tag, err := tx.Exec(ctx, `INSERT INTO idempotency_requests (user_id, key, fingerprint, booking_id, state, lease_until)
			VALUES ($1, $2, $3, $4, 'DECIDING', now() + $5::interval) ON CONFLICT DO NOTHING`,
			userID, key, fp, fresh, keyLease.String())
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 1 {
			c = claimed{state: keyFresh, bookingID: fresh}
			return nil
		}
		var (
			storedFP, bookingID, state string
			leaseLive, expired         bool
			status                     *int
			body                       []byte
		)
		if err := tx.QueryRow(ctx, `SELECT fingerprint, booking_id::text, state, lease_until > now(),
				created_at <= now() - $3::interval, status_code, body
			FROM idempotency_requests WHERE user_id = $1 AND key = $2 FOR UPDATE`, userID, key, idempotencyWindow.String()).
			Scan(&storedFP, &bookingID, &state, &leaseLive, &expired, &status, &body); err != nil {
			return err
		}
		if expired && state == "DONE" {
			// Past its 24 hours the key is free: it makes a new booking.
			_, err := tx.Exec(ctx, `UPDATE idempotency_requests SET fingerprint = $3, booking_id = $4, state = 'DECIDING',
				lease_until = now() + $5::interval, status_code = NULL, body = NULL, created_at = now()
				WHERE user_id = $1 AND key = $2`, userID, key, fp, fresh, keyLease.String())
			c = claimed{state: keyFresh, bookingID: fresh}
			return err
		}
		if storedFP != "" && storedFP != fp {
			return errKeyReused
		}
		switch {
		case state == "DONE":
			c = claimed{state: keyAnswered, bookingID: bookingID, answer: &storedAnswer{body: body}}
			if status != nil {
				c.answer.status = *status
			}
		case state == "DECIDING" && leaseLive:
			c = claimed{state: keyInUse, bookingID: bookingID}
		default: // RETRY, or a decider that died: take it over, same booking
			_, err := tx.Exec(ctx, `UPDATE idempotency_requests SET state = 'DECIDING', lease_until = now() + $3::interval
				WHERE user_id = $1 AND key = $2`, userID, key, keyLease.String())
			c = claimed{state: keyFresh, bookingID: bookingID}
			return err
		}
		return nil
	})
	return c, err
}

// awaitKey waits for the request deciding a key to answer.
func (s *store) awaitKey(ctx context.Context, userID, key, fp string) (claimed, error) {
	deadline := time.Now().Add(keyWait)
	for {
		c, err := s.claimKey(ctx, userID, key, fp)
		if err != nil || c.state != keyInUse || time.Now().After(deadline) {
			return c, err
		}
		select {
		case <-ctx.Done():
			return c, ctx.Err()
		case <-time.After(25 * time.Millisecond):
		}
	}
}

// answerKey stores the answer of the request that holds the key for bookingID.
func (s *store) answerKey(ctx context.Context, userID, key, bookingID string, status int, body []byte) error {
	_, err := s.pool.Exec(ctx, `UPDATE idempotency_requests SET state = 'DONE', status_code = $4, body = $5
		WHERE user_id = $1 AND key = $2 AND booking_id = $3`, userID, key, bookingID, status, body)
	return err
}

// releaseKey frees a key after a 5xx: deleted when no booking was made, left for a retry (RETRY)
// when one was.
func (s *store) releaseKey(ctx context.Context, userID, key, bookingID string, bookingExists bool) error {
	if bookingExists {
		_, err := s.pool.Exec(ctx, `UPDATE idempotency_requests SET state = 'RETRY', lease_until = now()
			WHERE user_id = $1 AND key = $2 AND booking_id = $3 AND state = 'DECIDING'`, userID, key, bookingID)
		return err
	}
	_, err := s.pool.Exec(ctx, `DELETE FROM idempotency_requests WHERE user_id = $1 AND key = $2 AND booking_id = $3
		AND state = 'DECIDING'`, userID, key, bookingID)
	return err
}

// errKeyInUse answers a request whose key another request is still deciding.
func errKeyInUse() error {
	return httpapi.Conflict(booking.CodeKeyInUse, "a request with this Idempotency-Key is still being decided; retry shortly").
		WithRetryAfter(1)
}

// isKeyReused reports whether err is the 422 for a reused key.
func isKeyReused(err error) bool { return errors.Is(err, errKeyReused) }
