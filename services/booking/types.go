// Package booking is the booking service's contract: the typed Client of its internal API
// (/internal/bookings: announced bookings, the record, status changes), the booking record's
// shape and the error codes it answers. Other processes import this package, never the server
// (services/booking/server).
package booking

import (
	"encoding/json"
	"time"

	"ticketflow/internal/idempotency"
	"ticketflow/internal/lifecycle"
	"ticketflow/internal/money"
	"ticketflow/internal/seatplan"
)

// Booking is the booking record. The workflow moves its status; reads never need Temporal.
type Booking struct {
	ID        string
	UserID    string
	UserEmail string
	EventID   string
	EventName string
	SeatIDs   []string
	// Quantities are the places asked of general-admission areas (by key, in key order); nil for a
	// booking of seats only.
	Quantities     []seatplan.Quantity
	AmountMinor    int64
	Currency       string
	Status         string
	FailureReason  *string
	HoldExpiresAt  time.Time
	PaymentID      *string
	PaymentToken   string
	IdempotencyKey *string
	Origin         string // "rest", or "kafka" for a booking.initiated from another producer
	// HoldDecision is the seat decision made within the request; nil while unknown (the workflow
	// then decides). WorkflowStarted is set once the booking's workflow is known to exist.
	HoldDecision     *lifecycle.HoldResult
	WorkflowStarted  bool
	EventStartsAt    *time.Time
	MaxSeatsPerBuyer int
	CreatedAt        time.Time
	UpdatedAt        time.Time
	// History is filled only for GET /api/bookings/{id}.
	History []StatusEntry
}

// bookingJSON is the contract's booking shape: id and bookingId both carry the id; totalAmount is
// the amount in major units by the currency's exponent (money.Amount), for older clients.
type bookingJSON struct {
	ID            string              `json:"id"`
	BookingID     string              `json:"bookingId"`
	UserID        string              `json:"userId"`
	EventID       string              `json:"eventId"`
	EventName     string              `json:"eventName"`
	SeatIDs       []string            `json:"seatIds"`
	Quantities    []seatplan.Quantity `json:"quantities,omitempty"`
	AmountMinor   int64               `json:"amountMinor"`
	TotalAmount   money.Amount        `json:"totalAmount"`
	Currency      string              `json:"currency"`
	Status        string              `json:"status"`
	FailureReason *string             `json:"failureReason"`
	HoldExpiresAt time.Time           `json:"holdExpiresAt"`
	PaymentID     *string             `json:"paymentId"`
	CreatedAt     time.Time           `json:"createdAt"`
	UpdatedAt     time.Time           `json:"updatedAt"`
	History       []StatusEntry       `json:"history,omitempty"`
}

// MarshalJSON writes the contract's booking shape (bookingJSON).
func (b *Booking) MarshalJSON() ([]byte, error) {
	return json.Marshal(bookingJSON{b.ID, b.ID, b.UserID, b.EventID, b.EventName, b.SeatIDs, b.Quantities, b.AmountMinor,
		money.Amount{Minor: b.AmountMinor, Currency: b.Currency}, b.Currency, b.Status, b.FailureReason,
		b.HoldExpiresAt.UTC(), b.PaymentID, b.CreatedAt.UTC(), b.UpdatedAt.UTC(), b.History})
}

// UnmarshalJSON reads the contract's booking shape (Client.Get): the fields it shows, totalAmount
// aside (it is amountMinor in major units).
func (b *Booking) UnmarshalJSON(data []byte) error {
	var v struct {
		bookingJSON
		TotalAmount json.RawMessage `json:"totalAmount"`
	}
	if err := json.Unmarshal(data, &v); err != nil {
		return err
	}
	*b = Booking{ID: v.ID, UserID: v.UserID, EventID: v.EventID, EventName: v.EventName, SeatIDs: v.SeatIDs,
		Quantities: v.Quantities, AmountMinor: v.AmountMinor, Currency: v.Currency, Status: v.Status, FailureReason: v.FailureReason,
		HoldExpiresAt: v.HoldExpiresAt, PaymentID: v.PaymentID, CreatedAt: v.CreatedAt, UpdatedAt: v.UpdatedAt,
		History: v.History}
	return nil
}

// StatusEntry is one line of a booking's status history.
type StatusEntry struct {
	Status string    `json:"status"`
	Reason *string   `json:"reason"`
	At     time.Time `json:"at"`
}

// CodeKeyInUse is the 409 code for a request whose Idempotency-Key another request is still
// deciding: retry after Retry-After (the API's one rule, internal/idempotency).
const CodeKeyInUse = idempotency.CodeKeyInUse

// The 403 codes of a booking for an event whose waiting room is on (see internal/admission): no
// Admission-Token, or one that is expired, forged, or for another event or account.
const (
	CodeAdmissionRequired = "ADMISSION_REQUIRED"
	CodeAdmissionInvalid  = "ADMISSION_INVALID"
)
