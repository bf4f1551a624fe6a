package bus

import (
	"errors"
	"time"

	"ticketflow/internal/mailaddr"
	"ticketflow/internal/money"
	"ticketflow/internal/seatplan"
)

// Payloads of the contract's topics. Money is integer minor units plus an ISO-4217 currency.
// What each may hold is stated once, in its JSON Schema (bus/schemas/<eventType>.json): consumers
// check it there (DecodePayload), producers' tests too (ValidateMessage).

// Quantity is the places a booking asks of one general-admission area (schema version 2): the
// area by its key (the section's name as seat ids spell it, such as PIT) and how many places.
// A booking's messages carry its quantities beside its seat ids; a booking of seats only carries
// none, and its messages are those of version 1, byte for byte.
type Quantity = seatplan.Quantity

// UserRegistered is the payload of ticketflow.user.registered.
type UserRegistered struct {
	UserID string `json:"userId"`
	Email  string `json:"email"`
	Name   string `json:"name"`
}

// BookingInitiated is the payload of ticketflow.booking.initiated.
type BookingInitiated struct {
	BookingID      string     `json:"bookingId"`
	UserID         string     `json:"userId"`
	UserEmail      string     `json:"userEmail"`
	EventID        string     `json:"eventId"`
	EventName      string     `json:"eventName"`
	SeatIDs        []string   `json:"seatIds"`
	Quantities     []Quantity `json:"quantities,omitempty"`
	AmountMinor    int64      `json:"amountMinor"`
	Currency       string     `json:"currency"`
	IdempotencyKey string     `json:"idempotencyKey"`
}

// SeatsLocked is the payload of ticketflow.seats.locked.
type SeatsLocked struct {
	BookingID     string     `json:"bookingId"`
	EventID       string     `json:"eventId"`
	SeatIDs       []string   `json:"seatIds"`
	Quantities    []Quantity `json:"quantities,omitempty"`
	LockExpiresAt time.Time  `json:"lockExpiresAt"`
}

// PaymentRequested is the payload of ticketflow.payment.requested.
type PaymentRequested struct {
	BookingID          string `json:"bookingId"`
	UserID             string `json:"userId"`
	AmountMinor        int64  `json:"amountMinor"`
	Currency           string `json:"currency"`
	PaymentMethodToken string `json:"paymentMethodToken"`
	IdempotencyKey     string `json:"idempotencyKey"`
}

// Payment outcomes on ticketflow.payment.processed.
const (
	PaymentSuccess = "SUCCESS"
	PaymentFailed  = "FAILED"
)

// PaymentProcessed is the payload of ticketflow.payment.processed.
type PaymentProcessed struct {
	BookingID     string `json:"bookingId"`
	PaymentID     string `json:"paymentId"`
	Status        string `json:"status"`
	AmountMinor   int64  `json:"amountMinor"`
	Currency      string `json:"currency"`
	ProviderRef   string `json:"providerRef"`
	FailureReason string `json:"failureReason,omitempty"`
}

// BookingConfirmed is the payload of ticketflow.booking.confirmed.
type BookingConfirmed struct {
	BookingID   string     `json:"bookingId"`
	UserID      string     `json:"userId"`
	UserEmail   string     `json:"userEmail"`
	EventID     string     `json:"eventId"`
	EventName   string     `json:"eventName"`
	SeatIDs     []string   `json:"seatIds"`
	Quantities  []Quantity `json:"quantities,omitempty"`
	AmountMinor int64      `json:"amountMinor"`
	Currency    string     `json:"currency"`
	PaymentID   string     `json:"paymentId"`
}

// BookingEnded is the payload of ticketflow.booking.failed, .expired and .cancelled.
type BookingEnded struct {
	BookingID  string     `json:"bookingId"`
	UserID     string     `json:"userId"`
	EventID    string     `json:"eventId"`
	SeatIDs    []string   `json:"seatIds"`
	Quantities []Quantity `json:"quantities,omitempty"`
	Status     string     `json:"status"`
	Reason     string     `json:"reason,omitempty"`
}

// SeatsReleased is the payload of ticketflow.seats.released.
type SeatsReleased struct {
	BookingID  string     `json:"bookingId"`
	EventID    string     `json:"eventId"`
	SeatIDs    []string   `json:"seatIds"`
	Quantities []Quantity `json:"quantities,omitempty"`
	Reason     string     `json:"reason"`
}

// PaymentRefunded is the payload of ticketflow.payment.refunded.
type PaymentRefunded struct {
	BookingID   string `json:"bookingId"`
	PaymentID   string `json:"paymentId"`
	AmountMinor int64  `json:"amountMinor"`
	Currency    string `json:"currency"`
	ProviderRef string `json:"providerRef"`
	Reason      string `json:"reason"`
}

// TicketIssued is the payload of ticketflow.ticket.issued: one seat's ticket was issued to its
// holder, signed with key Kid. Replaces names the ticket a transfer revoked for it.
type TicketIssued struct {
	TicketID     string    `json:"ticketId"`
	BookingID    string    `json:"bookingId"`
	EventID      string    `json:"eventId"`
	SeatID       string    `json:"seatId"`
	HolderUserID string    `json:"holderUserId"`
	Kid          string    `json:"kid"`
	IssuedAt     time.Time `json:"issuedAt"`
	Replaces     string    `json:"replaces,omitempty"`
}

// TicketCheckedIn is the payload of ticketflow.ticket.checked_in: the ticket was admitted at
// Gate, at CheckedInAt (the scan's time; an offline scan's may be earlier than the message).
type TicketCheckedIn struct {
	TicketID    string    `json:"ticketId"`
	BookingID   string    `json:"bookingId"`
	EventID     string    `json:"eventId"`
	SeatID      string    `json:"seatId"`
	Gate        string    `json:"gate"`
	CheckedInAt time.Time `json:"checkedInAt"`
	ScannerID   string    `json:"scannerId"`
	Offline     bool      `json:"offline"`
}

// TicketRevoked is the payload of ticketflow.ticket.revoked: the ticket admits no one any more.
type TicketRevoked struct {
	TicketID  string    `json:"ticketId"`
	BookingID string    `json:"bookingId"`
	EventID   string    `json:"eventId"`
	SeatID    string    `json:"seatId"`
	RevokedAt time.Time `json:"revokedAt"`
	Reason    string    `json:"reason"`
}

// TicketTransferred is the payload of ticketflow.ticket.transferred: the holder handed the ticket
// to another account; TicketID (revoked) was replaced by NewTicketID. The notification service
// emails both holders.
type TicketTransferred struct {
	TicketID    string    `json:"ticketId"`
	NewTicketID string    `json:"newTicketId"`
	BookingID   string    `json:"bookingId"`
	EventID     string    `json:"eventId"`
	EventName   string    `json:"eventName"`
	SeatID      string    `json:"seatId"`
	FromUserID  string    `json:"fromUserId"`
	FromEmail   string    `json:"fromEmail"`
	FromName    string    `json:"fromName"`
	ToUserID    string    `json:"toUserId"`
	ToEmail     string    `json:"toEmail"`
	ToName      string    `json:"toName"`
	At          time.Time `json:"at"`
}

// The rules a JSON Schema cannot state, checked after it by DecodePayload: one address rule
// (mailaddr, as registration and the mailer apply it) and current ISO 4217 codes (money).

// ruled is a payload with rules beyond its schema.
type ruled interface{ rules() error }

func address(field, v string) error {
	if !mailaddr.Valid(v) {
		return errors.New(field + " must be a single email address (one addr-spec, no display name)")
	}
	return nil
}

func currency(v string) error {
	if !money.Known(v) {
		return errors.New("currency must be a current ISO 4217 code")
	}
	return nil
}

func (p *UserRegistered) rules() error   { return address("email", p.Email) }
func (p *BookingInitiated) rules() error { return address("userEmail", p.UserEmail) }
func (p *PaymentRequested) rules() error { return currency(p.Currency) }
func (p *PaymentProcessed) rules() error { return currency(p.Currency) }
func (p *PaymentRefunded) rules() error  { return currency(p.Currency) }
func (p *BookingConfirmed) rules() error {
	return errors.Join(address("userEmail", p.UserEmail), currency(p.Currency))
}
func (p *TicketTransferred) rules() error {
	return errors.Join(address("fromEmail", p.FromEmail), address("toEmail", p.ToEmail))
}
