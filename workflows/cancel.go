package workflows

import "go.temporal.io/sdk/workflow"

// CancelConfirmedBookingWorkflow cancels a booking whose BookingWorkflow already completed
// CONFIRMED: refund, release the seats, CANCELLED. It runs the same steps BookingWorkflow runs for
// a cancel that arrives while it is still open. Its id is booking-<id>-cancel, so a retried cancel
// attaches to the same run.
func CancelConfirmedBookingWorkflow(ctx workflow.Context, in CancelConfirmedInput) (CancelResult, error) {
	b := newBooking(BookingInput{BookingID: in.BookingID, UserID: in.UserID, EventID: in.EventID, SeatIDs: in.SeatIDs})
	b.state.Status = StatusConfirmed
	b.hold.Held = true
	if err := workflow.SetQueryHandler(ctx, QueryStatus, func() (BookingState, error) { return b.state, nil }); err != nil {
		return CancelResult{}, err
	}
	b.cancelConfirmed(withActivityOptions(ctx))
	return CancelResult{Status: b.state.Status, Cancelled: true, Refunded: b.state.Refunded}, nil
}
