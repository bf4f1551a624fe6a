package activities

import (
	"context"
	"errors"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"ticketflow/internal/lifecycle"
	"ticketflow/services/inventory"
)

// What generations 0 to 5 of BookingWorkflow call (workflows/legacy.go), kept unchanged for
// their open runs and the replay of their histories. It goes with them: when
// `ticketflow generations` counts no open run of generations 0 to 5, delete this file with the
// workflow's legacy code (see docs/architecture.md, "Generations").

// Refusal types of HoldSeats and ConfirmSeats: the type of the non-retryable error each refusal
// comes back as (legacyHoldResult in workflows/legacy.go reads them back).
const (
	ErrSeatsUnavailable = "SeatsUnavailable"
	ErrSeatNotFound     = "SeatNotFound"
	ErrBuyerLimit       = "BuyerLimit"
	ErrBookingReleased  = "BookingReleased"
)

// HoldSeats is DecideHold as generations 0 to 5 call it: held is nil, and a refusal is a
// non-retryable error whose type names it (SeatsUnavailable and SeatNotFound carry the seat ids
// as details).
func (a *Activities) HoldSeats(ctx context.Context, r SeatsRequest) error {
	err := a.Inventory.Hold(ctx, r.holdRequest())
	var se *inventory.SeatsError
	switch {
	case errors.As(err, &se) && errors.Is(err, inventory.ErrUnavailable):
		return temporal.NewNonRetryableApplicationError(err.Error(), ErrSeatsUnavailable, nil, se.SeatIDs)
	case errors.As(err, &se) && errors.Is(err, inventory.ErrUnknownSeat):
		return temporal.NewNonRetryableApplicationError(err.Error(), ErrSeatNotFound, nil, se.SeatIDs)
	case errors.Is(err, inventory.ErrNoSeatPlan):
		return temporal.NewNonRetryableApplicationError(err.Error(), ErrSeatNotFound, nil, []string{})
	case errors.Is(err, inventory.ErrBuyerLimit):
		return temporal.NewNonRetryableApplicationError(err.Error(), ErrBuyerLimit, nil)
	case errors.Is(err, inventory.ErrBookingReleased):
		return temporal.NewNonRetryableApplicationError(err.Error(), ErrBookingReleased, nil)
	}
	return err
}

// bookingIDOf is the booking id of a status change scheduled as a regular activity before
// StatusChange carried it in its JSON body: its workflow's.
func bookingIDOf(ctx context.Context, c StatusChange) string {
	if c.BookingID != "" {
		return c.BookingID
	}
	id, _ := lifecycle.BookingIDOf(activity.GetInfo(ctx).WorkflowExecution.ID)
	return id
}
