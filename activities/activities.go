// Package activities holds BookingWorkflow's activities: thin, idempotent calls to the internal
// APIs of the services that own each step (inventory, booking, payment) and the Kafka emits. Each
// is safe to retry: its effect is keyed by the booking id and the step. Business refusals are
// non-retryable application errors whose type the workflow switches on.
package activities

import (
	"context"
	"errors"
	"net/http"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"ticketflow/bus"
	"ticketflow/httpapi"
)

// Application error types the workflow branches on.
const (
	ErrSeatsUnavailable = "SeatsUnavailable"
	ErrSeatNotFound     = "SeatNotFound"
	ErrHoldLost         = "HoldLost"
	ErrBadTransition    = "BadTransition"
)

// Activities holds the clients the activities use. Its methods are registered on the worker.
type Activities struct {
	Inventory *httpapi.Client
	Bookings  *httpapi.Client
	Payments  *httpapi.Client
	Kafka     *bus.Writer
}

// SeatsRequest names a booking's seats.
type SeatsRequest struct {
	BookingID string    `json:"bookingId"`
	EventID   string    `json:"eventId"`
	SeatIDs   []string  `json:"seatIds"`
	HoldUntil time.Time `json:"holdUntil,omitempty"`
}

func (r SeatsRequest) body() map[string]any {
	b := map[string]any{"eventId": r.EventID, "seatIds": r.SeatIDs}
	if !r.HoldUntil.IsZero() {
		b["holdUntil"] = r.HoldUntil
	}
	return b
}

// HoldSeats holds every seat of the booking until HoldUntil, or none. Seats taken by another
// booking give a non-retryable SeatsUnavailable error whose details are the seat ids.
func (a *Activities) HoldSeats(ctx context.Context, r SeatsRequest) error {
	err := a.Inventory.Post(ctx, "/internal/bookings/"+r.BookingID+"/hold", r.body(), nil)
	var e *httpapi.Error
	if errors.As(err, &e) {
		switch {
		case e.Code == "SEATS_UNAVAILABLE":
			return temporal.NewNonRetryableApplicationError(e.Message, ErrSeatsUnavailable, nil, seatIDs(e, "unavailableSeatIds"))
		case e.Status == http.StatusNotFound:
			return temporal.NewNonRetryableApplicationError(e.Message, ErrSeatNotFound, nil, seatIDs(e, "unknownSeatIds"))
		}
	}
	return err
}

// ConfirmSeats turns the booking's held seats into sold ones; HoldLost (non-retryable) when
// another booking took one after the hold expired.
func (a *Activities) ConfirmSeats(ctx context.Context, r SeatsRequest) error {
	err := a.Inventory.Post(ctx, "/internal/bookings/"+r.BookingID+"/confirm", r.body(), nil)
	var e *httpapi.Error
	if errors.As(err, &e) && e.Code == "HOLD_LOST" {
		return temporal.NewNonRetryableApplicationError(e.Message, ErrHoldLost, nil)
	}
	return err
}

// ReleaseSeats frees whatever seats the booking holds or bought (a compensation; never fails for
// business reasons: releasing nothing is success).
func (a *Activities) ReleaseSeats(ctx context.Context, r SeatsRequest) error {
	return a.Inventory.Post(ctx, "/internal/bookings/"+r.BookingID+"/release", r.body(), nil)
}

// StatusChange moves the booking record to a status (with the reason and payment id), appending to
// its history. The booking service refuses transitions the contract forbids.
type StatusChange struct {
	BookingID string    `json:"-"`
	Status    string    `json:"status"`
	Reason    string    `json:"reason,omitempty"`
	PaymentID string    `json:"paymentId,omitempty"`
	At        time.Time `json:"at"`
}

// RecordStatus writes a status change to the booking record (idempotent: the same status twice
// is a no-op).
func (a *Activities) RecordStatus(ctx context.Context, c StatusChange) error {
	err := a.Bookings.Post(ctx, "/internal/bookings/"+c.BookingID+"/status", c, nil)
	var e *httpapi.Error
	if errors.As(err, &e) && e.Status == http.StatusConflict {
		return temporal.NewNonRetryableApplicationError(e.Message, ErrBadTransition, nil)
	}
	return err
}

// RefundRequest asks the payment service to refund (or void, when still pending) a booking's
// payment.
type RefundRequest struct {
	BookingID string `json:"bookingId"`
	Reason    string `json:"reason"`
}

// RefundResult says what the refund did.
type RefundResult struct {
	Refunded  bool   `json:"refunded"`
	Voided    bool   `json:"voided"`
	PaymentID string `json:"paymentId"`
}

// RefundPayment refunds the booking's payment once, however often it is called.
func (a *Activities) RefundPayment(ctx context.Context, r RefundRequest) (RefundResult, error) {
	var out RefundResult
	err := a.Payments.Post(ctx, "/internal/payments/refund", r, &out)
	return out, err
}

// Emit publishes facts to Kafka. Messages carry deterministic eventIds and times decided by the
// workflow, so a retry re-sends exactly the same messages — and a retry first looks for them on
// the topic, since the broker may have written them without answering.
func (a *Activities) Emit(ctx context.Context, msgs []bus.Message) error {
	if activity.GetInfo(ctx).Attempt > 1 {
		return a.Kafka.PublishChecked(ctx, msgs...)
	}
	return a.Kafka.Publish(ctx, msgs...)
}

func seatIDs(e *httpapi.Error, key string) []string {
	raw, _ := e.Details[key].([]any)
	out := make([]string, 0, len(raw))
	for _, v := range raw {
		if s, ok := v.(string); ok {
			out = append(out, s)
		}
	}
	return out
}
