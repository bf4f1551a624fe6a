package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/segmentio/kafka-go"

	"ticketflow/internal/bus"
	"ticketflow/internal/mongodb"
	"ticketflow/services/ticket"
)

// maxErrorLen bounds an SMTP error kept in an attempt (servers can be chatty).
const maxErrorLen = 500

// service turns facts into emails.
type service struct {
	store   *store
	mail    mailer
	tickets *ticket.Client // the tickets an email carries
	from    string         // envelope sender: the bare address of MailFrom
	header  string         // From header: MailFrom as given, name included
}

// handleUserRegistered handles a ticketflow.user.registered message (decoded by bus.Handle): a
// welcome email.
func (s *service) handleUserRegistered(ctx context.Context, env bus.Envelope, p bus.UserRegistered, _ kafka.Message) error {
	e, err := welcomeEmail(&p)
	if err != nil {
		return err
	}
	return s.deliver(ctx, env.EventID, e)
}

// handleBookingConfirmed handles a ticketflow.booking.confirmed message (decoded by bus.Handle):
// the confirmation, with the booking's tickets (issued before the message; the ticket service
// being down delays the email, through the consumer's retries, rather than send it without them).
// A notification stored already is sent as it was stored.
func (s *service) handleBookingConfirmed(ctx context.Context, env bus.Envelope, p bus.BookingConfirmed, _ kafka.Message) error {
	issued, err := s.tickets.Tickets(ctx, p.BookingID)
	if err != nil {
		return fmt.Errorf("tickets of booking %s: %w", p.BookingID, err)
	}
	e, err := confirmationEmail(&p, mailTickets(issued.Tickets))
	if err != nil {
		return err
	}
	return s.deliver(ctx, env.EventID, e)
}

// handleTicketTransferred handles a ticketflow.ticket.transferred message: an email to the holder
// who gave the ticket away, and one, with the new ticket, to the holder who received it.
func (s *service) handleTicketTransferred(ctx context.Context, env bus.Envelope, p bus.TicketTransferred, _ kafka.Message) error {
	t, err := s.tickets.Get(ctx, p.NewTicketID)
	if err != nil {
		return fmt.Errorf("ticket %s: %w", p.NewTicketID, err)
	}
	sent, got, err := transferEmails(&p, mailTickets([]ticket.Ticket{t}))
	if err != nil {
		return err
	}
	return errors.Join(s.deliver(ctx, env.EventID+":from", sent), s.deliver(ctx, env.EventID+":to", got))
}

// deliver sends the email of fact eventID unless it was sent already. The notification is stored
// before the first attempt, and each attempt is recorded after it, so a fact whose email went out
// is never mailed again. The one gap SMTP leaves (the server took the message, then the process
// died before recording it) sends it again with the same Message-ID, which mail clients treat as
// the same email.
func (s *service) deliver(ctx context.Context, eventID string, e email) error {
	t := now()
	n := &Notification{ID: eventID, Type: e.Type, UserID: e.UserID, RecipientEmail: e.To, Subject: e.Subject,
		Body: e.Body, Tickets: e.Tickets, Status: StatusPending, Attempts: []Attempt{}, CreatedAt: t, UpdatedAt: t}
	if err := s.store.insert(ctx, n); err != nil {
		if !mongodb.IsDuplicateKey(err) {
			return err
		}
		// The same fact again: send what was stored the first time, if it is not out yet.
		if n, err = s.store.get(ctx, eventID); err != nil {
			return err
		}
		if n.Status == StatusSent {
			return nil
		}
	}
	msg, err := buildMessage(n, s.header)
	if err != nil {
		return err
	}
	sendErr := s.mail.Send(ctx, s.from, n.RecipientEmail, msg)
	a := Attempt{At: now(), OK: sendErr == nil}
	if sendErr != nil {
		a.Error = sendErr.Error()
		if len(a.Error) > maxErrorLen {
			a.Error = a.Error[:maxErrorLen]
		}
	}
	// Record the attempt even when ctx has just ended (shutdown): above all a sent email.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := s.store.recordAttempt(rctx, n.ID, a); err != nil {
		return fmt.Errorf("record attempt of notification %s: %w", n.ID, err)
	}
	if sendErr != nil {
		// Retried by the consumer (a mail server being down is no reason to drop the email).
		return fmt.Errorf("send %s email %s: %w", n.Type, n.ID, sendErr)
	}
	slog.InfoContext(ctx, "email sent", "notification", n.ID, "type", n.Type, "attempts", len(n.Attempts)+1)
	return nil
}
