package bus

import (
	"regexp"
	"time"
)

// Payloads of the contract's topics. Money is integer minor units plus an ISO-4217 currency.
// What each may hold is stated once, in its JSON Schema (bus/schemas/<eventType>.json): consumers
// check it there (DecodePayload), producers' tests too (ValidateMessage).

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

var currencyPattern = regexp.MustCompile(`^[A-Z]{3}$`)

// IsCurrency reports whether s looks like an ISO-4217 code.
func IsCurrency(s string) bool { return currencyPattern.MatchString(s) }
