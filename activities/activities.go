// Package activities holds BookingWorkflow's activities: thin, idempotent calls to the internal
// APIs of the services that own each step (inventory, booking, payment) and the Kafka emits. Each
// is safe to retry: its effect is keyed by the booking id and the step. Business refusals are
// non-retryable application errors whose type the workflow switches on; every other error means
// "try again" and the workflow's retry policy does so.
package activities

import (
	"context"
	"errors"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"ticketflow/internal/bus"
	"ticketflow/internal/httpapi"
	"ticketflow/internal/lifecycle"
	"ticketflow/internal/seatplan"
	"ticketflow/services/booking"
	"ticketflow/services/event"
	"ticketflow/services/inventory"
	"ticketflow/services/payment"
	"ticketflow/services/ticket"
)

// Application error types the workflow branches on: a refusal retrying cannot change.
const (
	// ErrHoldLost: ConfirmSeats found a seat taken by another booking after the hold expired.
	ErrHoldLost = "HoldLost"
	// ErrBadTransition: RecordStatus found the record ended already; the details name its status.
	ErrBadTransition = "BadTransition"
)

// Activities holds the clients the activities use. Its methods are registered on the worker.
type Activities struct {
	Inventory *inventory.Client
	Bookings  *booking.Client
	Payments  *payment.Client
	Events    *event.Client
	Tickets   *ticket.Client
	Kafka     *bus.Writer
}

// SeatsRequest names a booking's seats and the places it asks of general-admission areas;
// HoldUntil, BuyerID and MaxSeatsPerBuyer only for a hold.
type SeatsRequest struct {
	BookingID        string    `json:"bookingId"`
	EventID          string    `json:"eventId"`
	SeatIDs          []string  `json:"seatIds"`
	HoldUntil        time.Time `json:"holdUntil,omitempty"`
	BuyerID          string    `json:"buyerId,omitempty"`
	MaxSeatsPerBuyer int       `json:"maxSeatsPerBuyer,omitempty"`
	// Quantities: by area key, in key order (lifecycle.BookingInput.Quantities); absent in the
	// requests of runs made before general admission.
	Quantities []seatplan.Quantity `json:"quantities,omitempty"`
}

func (r SeatsRequest) places() inventory.SeatsRequest {
	return inventory.SeatsRequest{EventID: r.EventID, SeatIDs: r.SeatIDs, Quantities: r.Quantities}
}

// DecideHold holds every seat of the booking until HoldUntil, or none, and returns the seat
// decision (inventory.Decision, the translation the booking service's request path uses too): a
// refusal is a decision, not an error. An error means the outcome is unknown (the inventory
// could not be reached or failed), and the step is retried.
func (a *Activities) DecideHold(ctx context.Context, r SeatsRequest) (lifecycle.HoldResult, error) {
	err := a.Inventory.Hold(ctx, r.holdRequest())
	if err != nil && !inventory.IsRefusal(err) {
		return lifecycle.HoldResult{}, err
	}
	return inventory.Decision(err, r.HoldUntil), nil
}

func (r SeatsRequest) holdRequest() inventory.HoldRequest {
	return inventory.HoldRequest{BookingID: r.BookingID, EventID: r.EventID, SeatIDs: r.SeatIDs, Quantities: r.Quantities,
		HoldUntil: r.HoldUntil, BuyerID: r.BuyerID, MaxSeatsPerBuyer: r.MaxSeatsPerBuyer}
}

// ConfirmSeats turns the booking's held seats and places into sold ones; HoldLost
// (non-retryable) when another booking took one after the hold expired.
func (a *Activities) ConfirmSeats(ctx context.Context, r SeatsRequest) error {
	err := a.Inventory.Confirm(ctx, r.BookingID, r.places())
	if errors.Is(err, inventory.ErrHoldLost) {
		return temporal.NewNonRetryableApplicationError(err.Error(), ErrHoldLost, nil)
	}
	return err
}

// ReleaseSeats frees whatever seats and places the booking holds or bought, and marks it released
// so no later hold of it can take seats (a compensation; releasing nothing is success).
func (a *Activities) ReleaseSeats(ctx context.Context, r SeatsRequest) error {
	return a.Inventory.Release(ctx, r.BookingID, r.places())
}

// StatusChange moves the booking record to a terminal status (with the reason and payment id),
// appending to its history. The booking service refuses transitions the lifecycle forbids.
type StatusChange = booking.StatusChange

// RecordedStatus is the status a booking record holds: what a refused status change names.
type RecordedStatus = booking.RecordedStatus

// RecordStatus writes a status change to the booking record (idempotent: the same status twice
// is a no-op). A change the record refuses — it ended already — is a non-retryable BadTransition
// whose details are the RecordedStatus.
func (a *Activities) RecordStatus(ctx context.Context, c StatusChange) error {
	c.BookingID = bookingIDOf(ctx, c)
	err := a.Bookings.RecordStatus(ctx, c)
	var te *booking.TransitionError
	if errors.As(err, &te) {
		return temporal.NewNonRetryableApplicationError(te.Message, ErrBadTransition, nil, te.Recorded)
	}
	return err
}

// RefundRequest asks the payment service to give back a booking's money: refund its captured
// payment, or void it while the provider has not answered. With PaymentID set, only that payment
// is refunded (a payment the booking does not keep); without it, the booking's payment, whatever
// its state.
type RefundRequest = payment.RefundRequest

// RefundResult says what the refund did.
type RefundResult = payment.RefundOutcome

// RefundPayment refunds (or voids) a booking's payment once, however often it is called.
func (a *Activities) RefundPayment(ctx context.Context, r RefundRequest) (RefundResult, error) {
	return a.Payments.Refund(ctx, r)
}

// PaymentRecord is the payment service's record of a booking's payment.
type PaymentRecord = payment.Record

// PaymentOfRecord returns the payment service's record of the booking's payment (Found false when
// it has none yet). The workflow acts on this, never on a payment result as it arrived.
func (a *Activities) PaymentOfRecord(ctx context.Context, bookingID string) (PaymentRecord, error) {
	return a.Payments.Record(ctx, bookingID)
}

// EventStartsAt is when the event begins, as the event service has it now (an event may be moved
// after its bookings were made); the zero time when the event no longer exists.
func (a *Activities) EventStartsAt(ctx context.Context, eventID string) (time.Time, error) {
	info, err := a.Events.Info(ctx, eventID)
	if errors.Is(err, event.ErrNoEvent) {
		return time.Time{}, nil
	}
	return info.Date, err
}

// Emit publishes facts to Kafka. Messages carry deterministic eventIds and times decided by the
// workflow, so a retry re-sends exactly the same messages — and a send that may not be the first
// looks for them on the topic first, since the broker may have written them without answering
// (see mayHaveBeenSent).
func (a *Activities) Emit(ctx context.Context, msgs []bus.Message) error {
	info := activity.GetInfo(ctx)
	if mayHaveBeenSent(info.Attempt, info.IsLocalActivity) {
		return a.Kafka.PublishChecked(ctx, msgs...)
	}
	return a.Kafka.Publish(ctx, msgs...)
}

// EmitAgain publishes facts that an earlier run of the booking may already have published: a run
// that takes up a booking whose earlier run closed abnormally (terminated, timed out) after its
// record changed but perhaps before its facts went out. It always looks for them at the tail of
// their partitions first (bus.Writer.PublishChecked), so a fact that run did publish is not
// written again; one older than the tail searched is written again, and consumers drop it by
// eventId.
func (a *Activities) EmitAgain(ctx context.Context, msgs []bus.Message) error {
	return a.Kafka.PublishChecked(ctx, msgs...)
}

// mayHaveBeenSent reports whether an emit may follow an earlier one that reached Kafka: a retry
// (attempt > 1), or the regular activity a step falls back to after its local attempts failed —
// it starts again at attempt 1, possibly on another worker whose writer knows nothing of them.
//
// Not covered: a local activity run again at attempt 1 because its workflow task is replayed on
// another worker, the first having died between publishing and completing the task. Nothing the
// activity or the workflow code can read tells that run from a first one (the re-run task has a
// fresh workflow time, and the task's attempt is not exposed to workflow code), and checking every
// first emit would cost a read of a partition's tail per emit. Consumers drop that duplicate by
// eventId.
func mayHaveBeenSent(attempt int32, local bool) bool {
	return attempt > 1 || !local
}

// ErrTicketsRefused: the ticket service refused to issue a booking's tickets (a 4xx: a request
// it cannot take). Retrying cannot change it; the booking stays CONFIRMED either way.
const ErrTicketsRefused = "TicketsRefused"

// IssueTickets issues the booking's tickets, one per seat (idempotent per booking: a retry gets
// the tickets of the first call, and a booking revoked before is issued none). A refusal (4xx) is
// ErrTicketsRefused, non-retryable; anything else is retried.
func (a *Activities) IssueTickets(ctx context.Context, r ticket.IssueRequest) error {
	_, err := a.Tickets.Issue(ctx, r)
	if httpapi.IsClientError(err) {
		return temporal.NewNonRetryableApplicationError(err.Error(), ErrTicketsRefused, err)
	}
	return err
}

// RevokeTickets revokes the booking's tickets (idempotent; a booking with none yet is marked so
// that a late issue issues none).
func (a *Activities) RevokeTickets(ctx context.Context, r ticket.RevokeRequest) error {
	err := a.Tickets.Revoke(ctx, r)
	if httpapi.IsClientError(err) {
		return temporal.NewNonRetryableApplicationError(err.Error(), ErrTicketsRefused, err)
	}
	return err
}
