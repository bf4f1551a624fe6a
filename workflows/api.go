package workflows

import (
	"time"

	"ticketflow/bus"
)

// HistoryGeneration names the folder of workflows/testdata that `make histories` writes: bump it
// with every versioned change to the workflows, so the histories of each earlier generation —
// what running workflows look like — stay and keep being replayed.
const HistoryGeneration = 3

// Names clients rely on (the contract's Temporal section).
const (
	BookingWorkflowName         = "BookingWorkflow"
	CancelConfirmedWorkflowName = "CancelConfirmedBookingWorkflow"

	// UpdateHold answers once the workflow's own hold is decided. The booking service holds the
	// seats itself within the request (so a buyer's answer never waits on the orchestrator) and
	// starts the workflow without it; it serves tools and workflows started with Update-with-Start.
	UpdateHold = "hold"
	// UpdateCancel cancels the booking; the caller gets the final status.
	UpdateCancel = "cancel"
	// QueryStatus returns the booking's live state.
	QueryStatus = "status"
	// SignalPaymentResult carries a bus.PaymentProcessed payload from the bridge.
	SignalPaymentResult = "payment-result"
)

// Booking statuses (the contract's lifecycle).
const (
	StatusPending   = "PENDING"
	StatusConfirmed = "CONFIRMED"
	StatusFailed    = "FAILED"
	StatusExpired   = "EXPIRED"
	StatusCancelled = "CANCELLED"
)

// Terminal reports whether a status is final (CONFIRMED may still become CANCELLED by cancel).
func Terminal(status string) bool { return status != StatusPending && status != "" }

// WorkflowID is the id of a booking's workflow: booking-<bookingId>.
func WorkflowID(bookingID string) string { return "booking-" + bookingID }

// CancelWorkflowID is the id of the workflow that cancels a booking already CONFIRMED.
func CancelWorkflowID(bookingID string) string { return "booking-" + bookingID + "-cancel" }

// BookingInput is everything BookingWorkflow needs; the booking service has already stored the
// booking (PENDING) with the price it computed from the seat data.
type BookingInput struct {
	BookingID      string    `json:"bookingId"`
	UserID         string    `json:"userId"`
	UserEmail      string    `json:"userEmail"`
	EventID        string    `json:"eventId"`
	EventName      string    `json:"eventName"`
	SeatIDs        []string  `json:"seatIds"`
	AmountMinor    int64     `json:"amountMinor"`
	Currency       string    `json:"currency"`
	PaymentToken   string    `json:"paymentToken"`
	IdempotencyKey string    `json:"idempotencyKey"`
	HoldExpiresAt  time.Time `json:"holdExpiresAt"`
	// Announced is true when the booking came from a booking.initiated message of another
	// producer: the fact is already on the topic, so the workflow does not publish it again.
	Announced bool `json:"announced,omitempty"`
}

// Hold outcomes (HoldResult.Code).
const (
	HoldOK               = "HELD"
	HoldSeatsUnavailable = "SEATS_UNAVAILABLE"
	HoldSeatNotFound     = "SEAT_NOT_FOUND"
	HoldFailed           = "HOLD_FAILED" // the hold could not be decided (inventory unreachable)
)

// HoldResult is the answer of the "hold" update: the seat decision.
type HoldResult struct {
	Held               bool      `json:"held"`
	Code               string    `json:"code"`
	HoldExpiresAt      time.Time `json:"holdExpiresAt"`
	UnavailableSeatIDs []string  `json:"unavailableSeatIds,omitempty"`
	UnknownSeatIDs     []string  `json:"unknownSeatIds,omitempty"`
}

// CancelResult is the answer of the "cancel" update and of CancelConfirmedBookingWorkflow.
type CancelResult struct {
	Status    string `json:"status"`
	Cancelled bool   `json:"cancelled"`
	Refunded  bool   `json:"refunded"`
}

// BookingState is what the "status" query returns: the booking's live state.
type BookingState struct {
	BookingID     string    `json:"bookingId"`
	Status        string    `json:"status"`
	Step          string    `json:"step"`
	EventID       string    `json:"eventId"`
	SeatIDs       []string  `json:"seatIds"`
	AmountMinor   int64     `json:"amountMinor"`
	Currency      string    `json:"currency"`
	HoldExpiresAt time.Time `json:"holdExpiresAt"`
	PaymentID     string    `json:"paymentId,omitempty"`
	FailureReason string    `json:"failureReason,omitempty"`
	Refunded      bool      `json:"refunded"`
}

// CancelConfirmedInput is the input of CancelConfirmedBookingWorkflow.
type CancelConfirmedInput struct {
	BookingID string   `json:"bookingId"`
	UserID    string   `json:"userId"`
	EventID   string   `json:"eventId"`
	SeatIDs   []string `json:"seatIds"`
	Reason    string   `json:"reason"`
}

// PaymentResult is the signal payload: the payment service's answer as it arrived on Kafka.
type PaymentResult = bus.PaymentProcessed
