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
)

// email is what a fact asks to be sent, before it is stored.
type email struct {
	Type    string
	UserID  string
	To      string
	Subject string
	Body    string
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

func confirmationEmail(p *bus.BookingConfirmed) (email, error) {
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
		"Payment: %s\n\n"+
		"Keep this email: your booking id is your ticket at the entrance.\n\n"+
		"Enjoy the show,\nThe TicketFlow team\n",
		event, event, label, strings.Join(p.SeatIDs, ", "), money.Format(p.AmountMinor, p.Currency), p.BookingID, p.PaymentID)
	return email{Type: TypeBookingConfirmed, UserID: p.UserID, To: to,
		Subject: "Your booking for " + event + " is confirmed", Body: body}, nil
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
	var b bytes.Buffer
	if _, err := m.WriteTo(&b); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
