package server

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"strings"
	"unicode"

	"github.com/wneessen/go-mail"

	"ticketflow/internal/bus"
	"ticketflow/internal/mailaddr"
	"ticketflow/internal/money"
	"ticketflow/services/ticket"
)

// email is what a fact asks to be sent, before it is stored.
type email struct {
	Type    string
	UserID  string
	To      string
	Subject string
	Body    string
	Tickets []MailTicket
}

// mailTickets are the valid tickets of ts, as an email carries them.
func mailTickets(ts []ticket.Ticket) []MailTicket {
	var out []MailTicket
	for _, t := range ts {
		if t.Status == ticket.StatusValid && t.Credential != "" {
			out = append(out, MailTicket{ID: t.ID, SeatID: t.SeatID, Credential: t.Credential})
		}
	}
	return out
}

// ticketLines lists the tickets an email carries: seat, ticket id and the code itself (what the
// attached QR code holds, for a scanner that takes a pasted code).
func ticketLines(ts []MailTicket) string {
	var b strings.Builder
	for _, t := range ts {
		fmt.Fprintf(&b, "Seat %s, ticket %s (QR code attached as ticket-%s.png):\n%s\n\n", t.SeatID, t.ID, t.SeatID, t.Credential)
	}
	return b.String()
}

func welcomeEmail(p *bus.UserRegistered) (email, error) {
	to, err := recipient(p.Email)
	if err != nil {
		return email{}, err
	}
	name := oneLine(p.Name)
	body := fmt.Sprintf("Hi %s,\n\n"+
		"Welcome to TicketFlow! Your account %s is ready: find an event, pick your seats and book them\n"+
		"in a few clicks.\n\n"+
		"See you at the show,\nThe TicketFlow team\n", name, to)
	return email{Type: TypeWelcome, UserID: p.UserID, To: to, Subject: "Welcome to TicketFlow, " + name + "!", Body: body}, nil
}

// confirmationEmail is the confirmation of a booking, with its tickets (issued by the saga before
// booking.confirmed; none for a booking confirmed before tickets existed).
func confirmationEmail(p *bus.BookingConfirmed, tickets []MailTicket) (email, error) {
	to, err := recipient(p.UserEmail)
	if err != nil {
		return email{}, err
	}
	event := oneLine(p.EventName)
	if event == "" {
		event = "your event"
	}
	label := "Seat:"
	if len(p.SeatIDs) > 1 {
		label = "Seats:"
	}
	body := fmt.Sprintf("Hi,\n\n"+
		"Your booking for %s is confirmed.\n\n"+
		"Event:   %s\n"+
		"%-9s%s\n"+
		"Amount:  %s\n"+
		"Booking: %s\n"+
		"Payment: %s\n\n",
		event, event, label, strings.Join(p.SeatIDs, ", "), money.Format(p.AmountMinor, p.Currency), p.BookingID, p.PaymentID)
	if len(tickets) > 0 {
		body += "Your tickets, one per seat: show its QR code at the entrance. Each admits one person once.\n\n" +
			ticketLines(tickets)
	} else {
		body += "Your tickets are under \"My tickets\" on TicketFlow.\n\n"
	}
	body += "Enjoy the show,\nThe TicketFlow team\n"
	return email{Type: TypeBookingConfirmed, UserID: p.UserID, To: to,
		Subject: "Your booking for " + event + " is confirmed", Body: body, Tickets: tickets}, nil
}

// transferEmails are the two emails of a transfer: to the holder who gave the ticket away, and to
// the one who received it, with the new ticket (none when it was revoked meanwhile).
func transferEmails(p *bus.TicketTransferred, received []MailTicket) (sent, got email, err error) {
	from, err := recipient(p.FromEmail)
	if err != nil {
		return sent, got, err
	}
	to, err := recipient(p.ToEmail)
	if err != nil {
		return sent, got, err
	}
	event := oneLine(p.EventName)
	sent = email{Type: TypeTicketSent, UserID: p.FromUserID, To: from,
		Subject: "You transferred your ticket for " + event,
		Body: fmt.Sprintf("Hi %s,\n\n"+
			"You transferred your ticket for %s, seat %s, to %s (%s).\n"+
			"Its code no longer admits anyone; %s has a new ticket of their own.\n\n"+
			"The TicketFlow team\n", oneLine(p.FromName), event, p.SeatID, oneLine(p.ToName), to, oneLine(p.ToName))}
	body := fmt.Sprintf("Hi %s,\n\n%s (%s) transferred a ticket to you: %s, seat %s.\n\n",
		oneLine(p.ToName), oneLine(p.FromName), from, event, p.SeatID)
	if len(received) > 0 {
		body += "Your ticket: show its QR code at the entrance. It admits one person once.\n\n" + ticketLines(received)
	} else {
		body += "The ticket was revoked since; it does not admit anyone.\n\n"
	}
	got = email{Type: TypeTicketReceived, UserID: p.ToUserID, To: to, Subject: "A ticket for " + event + " was transferred to you",
		Body: body + "Enjoy the show,\nThe TicketFlow team\n", Tickets: received}
	return sent, got, nil
}

// recipient checks that an address from a message is one plain address, by the rule
// registration applies (mailaddr). One that is not can never be delivered, so the message is
// malformed (dead-lettered), not retried.
func recipient(s string) (string, error) {
	a, err := mailaddr.Parse(s)
	if err != nil {
		return "", fmt.Errorf("%w: recipient %q: %v", bus.ErrMalformed, s, err)
	}
	return a, nil
}

// oneLine makes text from a message safe for a header or a line of the email: control
// characters (CR and LF included, so no header can be injected) become spaces.
func oneLine(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
	return strings.Join(strings.Fields(s), " ")
}

// safeMessageID matches the eventIds TicketFlow makes ("<uuid>:booking.confirmed"), which can be
// used as the left part of a Message-ID as they are.
var safeMessageID = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,200}$`)

// messageID is the email's Message-ID, a function of the fact alone: a re-sent email is
// recognisably the same one (mail clients and Mailpit can tell). An eventId with other characters
// (it comes from outside) is hashed rather than trusted in a header.
func messageID(eventID string) string { return "<" + messageIDValue(eventID) + ">" }

// messageIDValue is messageID without its angle brackets.
func messageIDValue(eventID string) string {
	left := eventID
	if !safeMessageID.MatchString(eventID) {
		sum := sha256.Sum256([]byte(eventID))
		left = "h-" + hex.EncodeToString(sum[:16])
	}
	return left + "@ticketflow.local"
}

// buildMessage is the RFC 5322 message of a stored notification. It depends only on what is
// stored (Date is the notification's creation), so every attempt sends the same bytes.
//
// go-mail writes it: header text that is not ASCII becomes RFC 2047 encoded-words (UTF-8,
// quoted-printable, each at most 75 characters) and every header is folded at whitespace to lines
// of at most 76 characters, so a long name or event in the Subject stays within RFC 5322's line
// limits (998, 78 recommended); the body is quoted-printable. An ASCII word longer than a line
// (there is no whitespace to fold it at) stays whole, within the 998 octets its field allows.
func buildMessage(n *Notification, from string) ([]byte, error) {
	m := mail.NewMsg(mail.WithCharset(mail.CharsetUTF8), mail.WithEncoding(mail.EncodingQP), mail.WithNoDefaultUserAgent())
	if err := m.From(from); err != nil {
		return nil, fmt.Errorf("from %q: %w", from, err)
	}
	if err := m.To(n.RecipientEmail); err != nil {
		return nil, fmt.Errorf("%w: recipient %q: %v", bus.ErrMalformed, n.RecipientEmail, err)
	}
	m.Subject(oneLine(n.Subject))
	m.SetDateWithValue(n.CreatedAt.UTC())
	m.SetMessageIDWithValue(messageIDValue(n.ID))
	m.SetGenHeader("X-TicketFlow-Type", n.Type)
	m.SetBodyString(mail.TypeTextPlain, n.Body)
	if err := attachTickets(m, n); err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if _, err := m.WriteTo(&b); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// attachTickets attaches each ticket's QR code (ticket.QR, a PNG) as ticket-<seat>.png, which
// makes the message multipart/mixed: the text, then the codes. The boundary is a function of the
// notification, so every attempt still sends the same bytes.
func attachTickets(m *mail.Msg, n *Notification) error {
	if len(n.Tickets) == 0 {
		return nil
	}
	sum := sha256.Sum256([]byte(n.ID))
	m.SetBoundary("ticketflow-" + hex.EncodeToString(sum[:12]))
	for _, t := range n.Tickets {
		png, err := ticket.QR(t.Credential)
		if err != nil {
			return fmt.Errorf("QR code of ticket %s: %w", t.ID, err)
		}
		if err := m.AttachReader("ticket-"+t.SeatID+".png", bytes.NewReader(png),
			mail.WithFileContentType("image/png"), mail.WithFileContentID(t.ID+"@ticketflow.local")); err != nil {
			return err
		}
	}
	return nil
}
