package server

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"ticketflow/internal/bus"
	"ticketflow/internal/httpapi"
	"ticketflow/internal/ids"
	"ticketflow/internal/outbox"
	"ticketflow/services/ticket"
)

// store is the ticket service's PostgreSQL database (ticketflow_tickets). Every fact it writes
// goes to Kafka through its outbox, in the transaction that makes the fact.
type store struct{ pool *pgxpool.Pool }

// row is a ticket as stored.
type row struct {
	ticket.Ticket
	HolderUserID string
}

const ticketColumns = `t.id, t.booking_id, t.event_id, t.event_name, t.event_starts_at, t.seat_id, t.holder_user_id,
	t.holder_name, t.holder_email, t.issued_at, t.kid, t.credential, t.revoked_at, coalesce(t.revoked_reason, ''),
	coalesce(t.replaced_by::text, ''), c.scanned_at, coalesce(c.gate, '')`

const ticketFrom = ` FROM tickets t LEFT JOIN checkins c ON c.ticket_id = t.id `

func scanTicket(r pgx.Row) (row, error) {
	var t row
	err := r.Scan(&t.ID, &t.BookingID, &t.EventID, &t.EventName, &t.EventStartsAt, &t.SeatID, &t.HolderUserID,
		&t.HolderName, &t.HolderEmail, &t.IssuedAt, &t.KeyID, &t.Credential, &t.RevokedAt, &t.RevokedReason,
		&t.ReplacedBy, &t.CheckedInAt, &t.Gate)
	t.Status = ticket.StatusValid
	if t.RevokedAt != nil {
		t.Status = ticket.StatusRevoked
	}
	return t, err
}

func (s *store) query(ctx context.Context, sql string, args ...any) ([]row, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+ticketColumns+ticketFrom+sql, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []row
	for rows.Next() {
		t, err := scanTicket(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// booking returns a booking's tickets in seat order (a transfer's new ticket after the one it
// replaced), and the booking's owner ("" when nothing was issued for it).
func (s *store) booking(ctx context.Context, bookingID string) ([]row, string, error) {
	var owner *string
	err := s.pool.QueryRow(ctx, `SELECT user_id::text FROM issuances WHERE booking_id = $1`, bookingID).Scan(&owner)
	if errors.Is(err, pgx.ErrNoRows) || owner == nil {
		return nil, "", nil
	}
	if err != nil {
		return nil, "", err
	}
	ts, err := s.query(ctx, `WHERE t.booking_id = $1 ORDER BY t.seat_id, t.issued_at, t.revoked_at NULLS LAST`, bookingID)
	return ts, *owner, err
}

// held returns the tickets a user holds, newest first, a page at a time.
func (s *store) held(ctx context.Context, userID string, limit, offset int) ([]row, int, error) {
	var total int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM tickets WHERE holder_user_id = $1`, userID).Scan(&total); err != nil {
		return nil, 0, err
	}
	ts, err := s.query(ctx, `WHERE t.holder_user_id = $1 ORDER BY t.revoked_at IS NOT NULL, t.event_starts_at, t.seat_id
		LIMIT $2 OFFSET $3`, userID, limit, offset)
	return ts, total, err
}

// get returns one ticket (pgx.ErrNoRows when there is none).
func (s *store) get(ctx context.Context, id string) (row, error) {
	return scanTicket(s.pool.QueryRow(ctx, `SELECT `+ticketColumns+ticketFrom+`WHERE t.id = $1`, id))
}

// issuance is what issuing one booking needs, besides the request.
type issuance struct {
	req        ticket.IssueRequest
	holderName string
	eventName  string
	eventStart time.Time
	eventEnd   time.Time // when the event is over: its key stays published until then
}

// issue issues one ticket per seat of the booking, signed with key sk, once per booking: a
// booking issued before (or revoked before it was issued) gets what it has. The key's
// publish_until moves to the event's end in the same transaction.
func (s *store) issue(ctx context.Context, in issuance, sk *signingKey) (bool, error) {
	issued := false
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		now := time.Now().UTC().Truncate(time.Second)
		tag, err := tx.Exec(ctx, `INSERT INTO issuances (booking_id, user_id, event_id, issued_at) VALUES ($1, $2, $3, $4)
			ON CONFLICT (booking_id) DO NOTHING`, in.req.BookingID, in.req.UserID, in.req.EventID, now)
		if err != nil || tag.RowsAffected() == 0 {
			return err // issued, or revoked, before
		}
		issued = true
		for _, seat := range in.req.Seats() {
			if err := s.insertTicket(ctx, tx, sk, newTicket{id: ids.New(), bookingID: in.req.BookingID,
				eventID: in.req.EventID, eventName: in.eventName, eventStart: in.eventStart, seat: seat,
				holderID: in.req.UserID, holderName: in.holderName, holderEmail: in.req.UserEmail, at: now}); err != nil {
				return err
			}
		}
		_, err = tx.Exec(ctx, `UPDATE signing_keys SET publish_until = greatest(publish_until, $2) WHERE kid = $1`, sk.kid, in.eventEnd)
		return err
	})
	return issued, err
}

type newTicket struct {
	id, bookingID, eventID, eventName, seat string
	eventStart                              time.Time
	holderID, holderName, holderEmail       string
	at                                      time.Time
	replaces                                string
}

// insertTicket signs and stores one ticket, with its ticket.issued message.
func (s *store) insertTicket(ctx context.Context, tx pgx.Tx, sk *signingKey, t newTicket) error {
	cred, err := sk.sign(ticket.Claims{TicketID: t.id, EventID: t.eventID, SeatID: t.seat, Holder: t.holderName, IssuedAt: t.at.Unix()})
	if err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `INSERT INTO tickets (id, booking_id, event_id, event_name, event_starts_at, seat_id,
		holder_user_id, holder_name, holder_email, issued_at, kid, credential)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`, t.id, t.bookingID, t.eventID, t.eventName, t.eventStart,
		t.seat, t.holderID, t.holderName, t.holderEmail, t.at, sk.kid, cred); err != nil {
		return fmt.Errorf("insert ticket: %w", err)
	}
	msg, err := bus.NewTicketMessage(bus.TopicTicketIssued, t.bookingID, t.id, t.at, bus.TicketIssued{TicketID: t.id,
		BookingID: t.bookingID, EventID: t.eventID, SeatID: t.seat, HolderUserID: t.holderID, Kid: sk.kid, IssuedAt: t.at,
		Replaces: t.replaces})
	if err != nil {
		return err
	}
	return outbox.Write(ctx, tx, msg)
}

// revoke revokes every valid ticket of the booking, once, with ticket.revoked for each; a booking
// with nothing issued yet is marked revoked, so that a late issue issues nothing.
func (s *store) revoke(ctx context.Context, bookingID, reason string) (int, error) {
	n := 0
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		now := time.Now().UTC().Truncate(time.Second)
		if _, err := tx.Exec(ctx, `INSERT INTO issuances (booking_id, revoked_at, revoked_reason) VALUES ($1, $2, $3)
			ON CONFLICT (booking_id) DO UPDATE SET revoked_at = coalesce(issuances.revoked_at, EXCLUDED.revoked_at),
			revoked_reason = coalesce(issuances.revoked_reason, EXCLUDED.revoked_reason)`, bookingID, now, reason); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `UPDATE tickets SET revoked_at = $2, revoked_reason = $3
			WHERE booking_id = $1 AND revoked_at IS NULL RETURNING id, event_id, seat_id`, bookingID, now, reason)
		if err != nil {
			return err
		}
		var msgs []bus.Message
		for rows.Next() {
			var id, event, seat string
			if err := rows.Scan(&id, &event, &seat); err != nil {
				return err
			}
			m, err := bus.NewTicketMessage(bus.TopicTicketRevoked, bookingID, id, now, bus.TicketRevoked{TicketID: id,
				BookingID: bookingID, EventID: event, SeatID: seat, RevokedAt: now, Reason: reason})
			if err != nil {
				return err
			}
			msgs = append(msgs, m)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		for _, m := range msgs {
			if err := outbox.Write(ctx, tx, m); err != nil {
				return err
			}
		}
		n = len(msgs)
		return nil
	})
	return n, err
}

// scan is one scan of a credential at a gate.
type scan struct {
	claims    ticket.Claims
	event     string // the event being scanned for ("" when the scanner did not say)
	gate      string
	scannerID string
	at        time.Time
	offline   bool
}

// checkin is the result of a scan that verified.
type checkin struct {
	ticket  row
	outcome string    // ticket.ScanAdmitted or ticket.ScanDuplicate
	firstAt time.Time // the ticket's check-in: this scan when admitted, the earlier one when a duplicate
	gate    string
}

var errWrongEvent = httpapi.NewError(422, ticket.CodeWrongEvent, "this ticket is for another event")

// checkIn admits a ticket exactly once. The ticket's row is read FOR SHARE, so a revoke or a
// transfer (which update it) waits for the scan, or the scan for them; the check-in's primary key
// lets one of two gates scanning at once win, and the other finds it. An offline scan earlier
// than the recorded check-in takes its place (the earliest scan wins). Every scan is recorded.
func (s *store) checkIn(ctx context.Context, sc scan) (checkin, error) {
	var out checkin
	var refusal error // a refused scan is recorded (committed), then answered
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		t, err := scanTicket(tx.QueryRow(ctx, `SELECT `+ticketColumns+ticketFrom+`WHERE t.id = $1 FOR SHARE OF t`, sc.claims.TicketID))
		if errors.Is(err, pgx.ErrNoRows) {
			return httpapi.NewError(404, "NOT_FOUND", "no such ticket")
		}
		if err != nil {
			return err
		}
		out.ticket = t
		record := func(outcome string) error {
			_, err := tx.Exec(ctx, `INSERT INTO scans (ticket_id, event_id, scanned_at, gate, scanner_id, outcome, offline)
				VALUES ($1, $2, $3, $4, $5, $6, $7)`, t.ID, t.EventID, sc.at, sc.gate, sc.scannerID, outcome, sc.offline)
			return err
		}
		switch {
		case sc.event != "" && sc.event != t.EventID:
			refusal = errWrongEvent
			return record(ticket.CodeWrongEvent)
		case t.RevokedAt != nil:
			refusal = httpapi.Conflict(ticket.CodeTicketRevoked, "this ticket was revoked: "+t.RevokedReason).
				WithDetails(map[string]any{"ticketId": t.ID, "revokedAt": t.RevokedAt.UTC()})
			return record(ticket.CodeTicketRevoked)
		}
		tag, err := tx.Exec(ctx, `INSERT INTO checkins (ticket_id, scanned_at, gate, scanner_id, recorded_at)
			VALUES ($1, $2, $3, $4, now()) ON CONFLICT (ticket_id) DO NOTHING`, t.ID, sc.at, sc.gate, sc.scannerID)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 1 {
			out.outcome, out.firstAt, out.gate = ticket.ScanAdmitted, sc.at, sc.gate
			msg, err := bus.NewTicketMessage(bus.TopicTicketCheckedIn, t.BookingID, t.ID, sc.at, bus.TicketCheckedIn{
				TicketID: t.ID, BookingID: t.BookingID, EventID: t.EventID, SeatID: t.SeatID, Gate: sc.gate,
				CheckedInAt: sc.at, ScannerID: sc.scannerID, Offline: sc.offline})
			if err != nil {
				return err
			}
			if err := outbox.Write(ctx, tx, msg); err != nil {
				return err
			}
			return record(ticket.ScanAdmitted)
		}
		if sc.offline {
			// The earliest scan wins: an offline scan made before the recorded one takes its place.
			tag, err := tx.Exec(ctx, `UPDATE checkins SET scanned_at = $2, gate = $3, scanner_id = $4
				WHERE ticket_id = $1 AND scanned_at > $2`, t.ID, sc.at, sc.gate, sc.scannerID)
			if err != nil {
				return err
			}
			if tag.RowsAffected() == 1 {
				out.outcome, out.firstAt, out.gate = ticket.ScanAdmitted, sc.at, sc.gate
				return record(ticket.ScanAdmitted)
			}
		}
		if err := tx.QueryRow(ctx, `SELECT scanned_at, gate FROM checkins WHERE ticket_id = $1`, t.ID).Scan(&out.firstAt, &out.gate); err != nil {
			return err
		}
		out.outcome = ticket.ScanDuplicate
		return record(ticket.ScanDuplicate)
	})
	if err == nil {
		err = refusal
	}
	return out, err
}

// transfer hands a valid ticket of holder fromID to account to: the old ticket is revoked and a
// new one, for the same booking and seat, issued to the new holder and signed with sk, in one
// transaction with ticket.revoked, ticket.issued and ticket.transferred. Refused for a ticket
// checked in or revoked, and once its event has begun.
func (s *store) transfer(ctx context.Context, ticketID, fromID string, to recipient, sk *signingKey, eventEnd func(time.Time) time.Time) (row, error) {
	var newID string
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		t, err := scanTicket(tx.QueryRow(ctx, `SELECT `+ticketColumns+ticketFrom+`WHERE t.id = $1 FOR UPDATE OF t`, ticketID))
		if errors.Is(err, pgx.ErrNoRows) || (err == nil && t.HolderUserID != fromID) {
			return httpapi.NotFound("ticket")
		}
		if err != nil {
			return err
		}
		now := time.Now().UTC().Truncate(time.Second)
		switch {
		case t.RevokedAt != nil:
			return httpapi.Conflict(ticket.CodeTicketRevoked, "this ticket was revoked: "+t.RevokedReason)
		case t.CheckedInAt != nil:
			return httpapi.Conflict(ticket.CodeTicketCheckedIn, "this ticket was used at the door; it cannot be transferred")
		case !now.Before(t.EventStartsAt):
			return httpapi.Conflict(ticket.CodeEventOver, "the event has begun; its tickets can no longer be transferred")
		}
		newID = ids.New()
		reason := "transferred to another holder"
		if _, err := tx.Exec(ctx, `UPDATE tickets SET revoked_at = $2, revoked_reason = $3, replaced_by = $4 WHERE id = $1`,
			t.ID, now, reason, newID); err != nil {
			return err
		}
		if err := s.insertTicket(ctx, tx, sk, newTicket{id: newID, bookingID: t.BookingID, eventID: t.EventID,
			eventName: t.EventName, eventStart: t.EventStartsAt, seat: t.SeatID, holderID: to.ID, holderName: to.Name,
			holderEmail: to.Email, at: now, replaces: t.ID}); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE signing_keys SET publish_until = greatest(publish_until, $2) WHERE kid = $1`,
			sk.kid, eventEnd(t.EventStartsAt)); err != nil {
			return err
		}
		revoked, err := bus.NewTicketMessage(bus.TopicTicketRevoked, t.BookingID, t.ID, now, bus.TicketRevoked{TicketID: t.ID,
			BookingID: t.BookingID, EventID: t.EventID, SeatID: t.SeatID, RevokedAt: now, Reason: reason})
		if err != nil {
			return err
		}
		moved, err := bus.NewTicketMessage(bus.TopicTicketTransferred, t.BookingID, t.ID, now, bus.TicketTransferred{
			TicketID: t.ID, NewTicketID: newID, BookingID: t.BookingID, EventID: t.EventID, EventName: t.EventName,
			SeatID: t.SeatID, FromUserID: fromID, FromEmail: t.HolderEmail, FromName: t.HolderName, ToUserID: to.ID,
			ToEmail: to.Email, ToName: to.Name, At: now})
		if err != nil {
			return err
		}
		return errors.Join(outbox.Write(ctx, tx, revoked), outbox.Write(ctx, tx, moved))
	})
	if err != nil {
		return row{}, err
	}
	return s.get(ctx, newID)
}

// recipient is the account a ticket is transferred to.
type recipient struct{ ID, Name, Email string }

// revocations lists the ids of an event's revoked tickets, sorted.
func (s *store) revocations(ctx context.Context, eventID string) ([]string, error) {
	rows, err := s.pool.Query(ctx, `SELECT id::text FROM tickets WHERE event_id = $1 AND revoked_at IS NOT NULL ORDER BY id`, eventID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}
