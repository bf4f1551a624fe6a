package bus

import (
	"errors"
	"fmt"
	"time"

	"ticketflow/ids"
	"ticketflow/mailaddr"
	"ticketflow/money"
)

// Payloads of the contract's topics. Money is integer minor units plus an ISO-4217 currency.

// UserRegistered is the payload of ticketflow.user.registered.
type UserRegistered struct {
	UserID string `json:"userId"`
	Email  string `json:"email"`
	Name   string `json:"name"`
}

// BookingInitiated is the payload of ticketflow.booking.initiated.
type BookingInitiated struct {
	BookingID      string   `json:"bookingId"`
	UserID         string   `json:"userId"`
	UserEmail      string   `json:"userEmail"`
	EventID        string   `json:"eventId"`
	EventName      string   `json:"eventName"`
	SeatIDs        []string `json:"seatIds"`
	AmountMinor    int64    `json:"amountMinor"`
	Currency       string   `json:"currency"`
	IdempotencyKey string   `json:"idempotencyKey"`
}

// SeatsLocked is the payload of ticketflow.seats.locked.
type SeatsLocked struct {
	BookingID     string    `json:"bookingId"`
	EventID       string    `json:"eventId"`
	SeatIDs       []string  `json:"seatIds"`
	LockExpiresAt time.Time `json:"lockExpiresAt"`
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
	BookingID   string   `json:"bookingId"`
	UserID      string   `json:"userId"`
	UserEmail   string   `json:"userEmail"`
	EventID     string   `json:"eventId"`
	EventName   string   `json:"eventName"`
	SeatIDs     []string `json:"seatIds"`
	AmountMinor int64    `json:"amountMinor"`
	Currency    string   `json:"currency"`
	PaymentID   string   `json:"paymentId"`
}

// BookingEnded is the payload of ticketflow.booking.failed, .expired and .cancelled.
type BookingEnded struct {
	BookingID string   `json:"bookingId"`
	UserID    string   `json:"userId"`
	EventID   string   `json:"eventId"`
	SeatIDs   []string `json:"seatIds"`
	Status    string   `json:"status"`
	Reason    string   `json:"reason,omitempty"`
}

// SeatsReleased is the payload of ticketflow.seats.released.
type SeatsReleased struct {
	BookingID string   `json:"bookingId"`
	EventID   string   `json:"eventId"`
	SeatIDs   []string `json:"seatIds"`
	Reason    string   `json:"reason"`
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

type checker struct{ errs []string }

func (c *checker) need(ok bool, msg string) {
	if !ok {
		c.errs = append(c.errs, msg)
	}
}

func (c *checker) uuid(field, v string) { c.need(ids.IsUUID(v), field+" must be a UUID") }
func (c *checker) text(field, v string, max int) {
	c.need(v != "" && len(v) <= max, fmt.Sprintf("%s must be 1..%d bytes", field, max))
}
func (c *checker) email(field, v string) {
	c.need(mailaddr.Valid(v), field+" must be a single email address (mailaddr.Parse)")
}
func (c *checker) money(amount int64, currency string) {
	c.need(amount >= 0, "amountMinor must not be negative")
	c.need(money.Known(currency), "currency must be a current ISO 4217 code")
}
func (c *checker) seats(seatIDs []string) {
	c.need(len(seatIDs) >= 1 && len(seatIDs) <= 10, "seatIds must hold 1..10 seats")
	seen := map[string]bool{}
	for _, id := range seatIDs {
		c.need(ids.IsSeat(id) && !seen[id], "seatIds must be distinct seat ids")
		seen[id] = true
	}
}
func (c *checker) err() error {
	if len(c.errs) == 0 {
		return nil
	}
	return errors.New(c.errs[0])
}

func (p *UserRegistered) Validate() error {
	var c checker
	c.uuid("userId", p.UserID)
	c.email("email", p.Email)
	c.text("name", p.Name, 200)
	return c.err()
}

func (p *BookingInitiated) Validate() error {
	var c checker
	c.uuid("bookingId", p.BookingID)
	c.text("userId", p.UserID, 64)
	c.email("userEmail", p.UserEmail)
	c.text("eventId", p.EventID, 64)
	c.seats(p.SeatIDs)
	c.need(len(p.IdempotencyKey) <= 200, "idempotencyKey must be at most 200 bytes")
	return c.err()
}

func (p *SeatsLocked) Validate() error {
	var c checker
	c.uuid("bookingId", p.BookingID)
	c.text("eventId", p.EventID, 64)
	c.seats(p.SeatIDs)
	c.need(!p.LockExpiresAt.IsZero(), "lockExpiresAt is required")
	return c.err()
}

func (p *PaymentRequested) Validate() error {
	var c checker
	c.uuid("bookingId", p.BookingID)
	c.text("userId", p.UserID, 64)
	c.money(p.AmountMinor, p.Currency)
	c.text("paymentMethodToken", p.PaymentMethodToken, 200)
	c.text("idempotencyKey", p.IdempotencyKey, 200)
	return c.err()
}

func (p *PaymentProcessed) Validate() error {
	var c checker
	c.uuid("bookingId", p.BookingID)
	c.text("paymentId", p.PaymentID, 64)
	c.need(p.Status == PaymentSuccess || p.Status == PaymentFailed, "status must be SUCCESS or FAILED")
	c.money(p.AmountMinor, p.Currency)
	return c.err()
}

func (p *BookingConfirmed) Validate() error {
	var c checker
	c.uuid("bookingId", p.BookingID)
	c.text("userId", p.UserID, 64)
	c.email("userEmail", p.UserEmail)
	c.text("eventId", p.EventID, 64)
	c.seats(p.SeatIDs)
	c.money(p.AmountMinor, p.Currency)
	c.text("paymentId", p.PaymentID, 64)
	return c.err()
}

func (p *BookingEnded) Validate() error {
	var c checker
	c.uuid("bookingId", p.BookingID)
	c.text("status", p.Status, 20)
	return c.err()
}

func (p *SeatsReleased) Validate() error {
	var c checker
	c.uuid("bookingId", p.BookingID)
	c.text("eventId", p.EventID, 64)
	return c.err()
}

func (p *PaymentRefunded) Validate() error {
	var c checker
	c.uuid("bookingId", p.BookingID)
	c.text("paymentId", p.PaymentID, 64)
	c.money(p.AmountMinor, p.Currency)
	return c.err()
}
