package workflows

// This file is what earlier generations of BookingWorkflow run (generations.go), kept for their
// open runs and the replay of their histories (workflows/testdata/v0..v5), so nothing here may
// change: it is frozen, and new behaviour goes into booking.go.
//
//   - legacyBookingWorkflow is BookingWorkflow as generations 0 to 3 ran it, and
//     CancelConfirmedBookingWorkflow the workflow those generations started to cancel a booking
//     whose workflow had completed CONFIRMED. BookingWorkflow sends runs without the
//     "one-decider" marker here.
//   - legacyHold is the hold as generations 4 and 5 make it: HoldSeats' refusals come back as
//     non-retryable errors whose type names them.
//
// The way out: `ticketflow generations` counts the open runs of each generation. When it counts
// none of generations 0 to 3, delete legacyBookingWorkflow, CancelConfirmedBookingWorkflow (and
// its registration in worker/worker.go), workflows/testdata/v0..v3, and raise GetVersion's
// minSupported in BookingWorkflow to genOneDecider (a run of a removed generation then fails its
// task loudly instead of running the wrong code). When it also counts none of generations 4 and
// 5, delete legacyHold, activities/legacy.go, the generation-5 branch of awaitFor and
// workflows/testdata/v4..v5, and raise minSupported to genOneTranslation.

import (
	"errors"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"ticketflow/activities"
	"ticketflow/internal/bus"
	"ticketflow/internal/lifecycle"
	"ticketflow/services/inventory"
)

// legacyHold makes the seat decision as generations 4 and 5 do: HoldSeats, whose refusals are
// non-retryable errors of the activities' legacy types.
func (b *booking) legacyHold(ctx workflow.Context) lifecycle.HoldResult {
	b.ranLocal = true
	err := workflow.ExecuteLocalActivity(workflow.WithLocalActivityOptions(ctx, holdOptions), a.HoldSeats,
		b.seats(true)).Get(ctx, nil)
	if err == nil {
		return lifecycle.HoldResult{Held: true, Code: lifecycle.HoldOK, HoldExpiresAt: b.in.HoldExpiresAt}
	}
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		var seatIDs []string
		_ = appErr.Details(&seatIDs)
		switch appErr.Type() {
		case activities.ErrSeatsUnavailable:
			return lifecycle.HoldResult{Code: inventory.CodeSeatsUnavailable, UnavailableSeatIDs: seatIDs, Reason: "seats unavailable"}
		case activities.ErrSeatNotFound:
			return lifecycle.HoldResult{Code: lifecycle.HoldSeatNotFound, UnknownSeatIDs: seatIDs, Reason: "unknown seats"}
		case activities.ErrBuyerLimit:
			return lifecycle.HoldResult{Code: inventory.CodeBuyerLimit, Reason: "the buyer's seat limit for the event is reached"}
		}
	}
	return lifecycle.HoldResult{Code: lifecycle.HoldFailed, Reason: reasonHoldUnknown}
}

// BookingWorkflow is the booking saga: hold the seats (and answer the "hold" update with the seat
// decision), announce the booking and ask for payment, then wait for the payment result, a cancel
// or the hold's expiry — whichever comes first — and end CONFIRMED, FAILED, EXPIRED or CANCELLED
// with seats and money consistent. Every compensation is registered right after the step it
// undoes and runs in reverse on a disconnected context.
func legacyBookingWorkflow(ctx workflow.Context, in lifecycle.BookingInput) (lifecycle.BookingState, error) {
	b := newLegacyBooking(in)
	if err := b.setup(ctx); err != nil {
		return b.state, err
	}
	return b.run(ctx)
}

type legacyBooking struct {
	in    lifecycle.BookingInput
	state lifecycle.BookingState
	saga  legacySaga

	hold        lifecycle.HoldResult
	holdDecided bool

	// Messages that decide the booking, in the order they arrived.
	first           string // "payment" or "cancel": which arrived first
	payment         *lifecycle.PaymentResult
	payments        []lifecycle.PaymentResult // every distinct payment result received
	cancelRequested bool
	confirmedPayID  string
	refunded        map[string]bool // payment ids refunded or voided by this workflow

	// ranLocal is set when a local activity ran since the last workflow task ended (see settle).
	ranLocal bool
	// actsOnAcceptedCancel: this run lets a cancel's acceptance reach the history before acting on
	// it (see afterAcceptance); earlier runs completed in a task of their own instead.
	actsOnAcceptedCancel bool
}

func newLegacyBooking(in lifecycle.BookingInput) *legacyBooking {
	return &legacyBooking{in: in, refunded: map[string]bool{}, state: lifecycle.BookingState{
		BookingID: in.BookingID, Status: lifecycle.StatusPending, Step: "holding seats", EventID: in.EventID,
		SeatIDs: in.SeatIDs, AmountMinor: in.AmountMinor, Currency: in.Currency, HoldExpiresAt: in.HoldExpiresAt,
	}}
}

// setup registers the query, the updates and the payment signal before the first step runs, so
// that an Update-with-Start finds its handler.
func (b *legacyBooking) setup(ctx workflow.Context) error {
	if err := workflow.SetQueryHandler(ctx, lifecycle.QueryStatus, func() (lifecycle.BookingState, error) { return b.state, nil }); err != nil {
		return err
	}
	if err := workflow.SetUpdateHandler(ctx, lifecycle.UpdateHold, func(ctx workflow.Context) (lifecycle.HoldResult, error) {
		err := workflow.Await(ctx, func() bool { return b.holdDecided })
		return b.hold, err
	}); err != nil {
		return err
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, lifecycle.UpdateCancel, b.onCancel, workflow.UpdateHandlerOptions{
		Validator: b.validateCancel,
	}); err != nil {
		return err
	}
	ch := workflow.GetSignalChannel(ctx, lifecycle.SignalPaymentResult)
	workflow.Go(ctx, func(ctx workflow.Context) {
		for {
			var p lifecycle.PaymentResult
			ch.Receive(ctx, &p)
			b.onPayment(p)
		}
	})
	return nil
}

func (b *legacyBooking) validateCancel(ctx workflow.Context) error {
	if s := b.state.Status; s != lifecycle.StatusPending && s != lifecycle.StatusConfirmed {
		return temporal.NewApplicationError("booking is "+s+" and cannot be cancelled", lifecycle.ErrNotCancellable)
	}
	return nil
}

// onCancel asks the main loop to cancel and answers with the booking's final status.
func (b *legacyBooking) onCancel(ctx workflow.Context) (lifecycle.CancelResult, error) {
	if b.first == "" {
		b.first = "cancel"
	}
	b.cancelRequested = true
	err := workflow.Await(ctx, func() bool {
		return lifecycle.Terminal(b.state.Status) && !(b.state.Status == lifecycle.StatusConfirmed && b.cancelRequested)
	})
	return lifecycle.CancelResult{Status: b.state.Status, Cancelled: b.state.Status == lifecycle.StatusCancelled, Refunded: b.state.Refunded}, err
}

// onPayment records a payment result; a duplicate (same payment, same outcome) changes nothing.
func (b *legacyBooking) onPayment(p lifecycle.PaymentResult) {
	for _, seen := range b.payments {
		if seen.PaymentID == p.PaymentID && seen.Status == p.Status {
			return
		}
	}
	b.payments = append(b.payments, p)
	if b.payment == nil {
		b.payment = &b.payments[len(b.payments)-1]
		if b.first == "" {
			b.first = "payment"
		}
	}
}

func (b *legacyBooking) run(ctx workflow.Context) (lifecycle.BookingState, error) {
	ctx = legacyActivityOptions(ctx)
	b.actsOnAcceptedCancel = workflow.GetVersion(ctx, "act-on-accepted-cancel", workflow.DefaultVersion, 1) >= 1

	// 1. Hold the seats, all or none. The "hold" update answers the buyer with this decision.
	holdCtx := workflow.WithLocalActivityOptions(ctx, legacyHoldOptions)
	err := b.local(holdCtx, a.HoldSeats, b.seats(true)).Get(ctx, nil)
	if err != nil {
		return b.holdRefused(ctx, err)
	}
	b.saga.add(func(ctx workflow.Context) error { return b.release(ctx) })
	b.hold = lifecycle.HoldResult{Held: true, Code: lifecycle.HoldOK, HoldExpiresAt: b.in.HoldExpiresAt}
	b.holdDecided = true
	b.state.Step = "awaiting payment"

	// 2. Announce the booking and ask for payment (the payment service answers on Kafka).
	now := workflow.Now(ctx)
	if err := b.emit(ctx, append(b.announce(now), b.seatsLocked(now), b.paymentRequested(now))...); err != nil {
		return b.state, err
	}

	// 3. Wait for the payment result, a cancel, or the end of the hold.
	decided, err := workflow.AwaitWithTimeout(ctx, b.in.HoldExpiresAt.Sub(workflow.Now(ctx)), func() bool {
		return b.first != ""
	})
	if err != nil {
		return b.state, err
	}
	switch {
	case !decided:
		b.finish(ctx, lifecycle.StatusExpired, "the hold expired before the payment arrived")
	case b.first == "cancel":
		if err := b.afterAcceptance(ctx); err != nil {
			return b.state, err
		}
		b.finish(ctx, lifecycle.StatusCancelled, "cancelled by the buyer")
	case b.payment.Status != bus.PaymentSuccess:
		b.finish(ctx, lifecycle.StatusFailed, "payment declined: "+legacyOrDefault(b.payment.FailureReason, "no reason given"))
	default:
		b.confirm(ctx)
	}
	return b.settle(ctx)
}

// holdRefused ends a booking whose seats could not be held.
func (b *legacyBooking) holdRefused(ctx workflow.Context, err error) (lifecycle.BookingState, error) {
	var appErr *temporal.ApplicationError
	reason := "seats could not be held"
	b.hold = lifecycle.HoldResult{Code: lifecycle.HoldFailed}
	if errors.As(err, &appErr) {
		var seatIDs []string
		_ = appErr.Details(&seatIDs)
		switch appErr.Type() {
		case activities.ErrSeatsUnavailable:
			b.hold = lifecycle.HoldResult{Code: inventory.CodeSeatsUnavailable, UnavailableSeatIDs: seatIDs}
			reason = "seats unavailable"
		case activities.ErrSeatNotFound:
			b.hold = lifecycle.HoldResult{Code: lifecycle.HoldSeatNotFound, UnknownSeatIDs: seatIDs}
			reason = "unknown seats"
		}
	}
	if b.hold.Code == lifecycle.HoldFailed {
		// The hold's outcome is unknown (inventory unreachable): release whatever it may have taken.
		b.saga.add(func(ctx workflow.Context) error { return b.release(ctx) })
	}
	b.holdDecided = true
	if msgs := b.announce(workflow.Now(ctx)); len(msgs) > 0 {
		if err := b.emit(ctx, msgs...); err != nil {
			return b.state, err
		}
	}
	b.finish(ctx, lifecycle.StatusFailed, reason)
	return b.settle(ctx)
}

// confirm makes the seats sold and the booking CONFIRMED. If another booking took a seat after the
// hold lapsed, the payment is refunded and the booking FAILED instead.
func (b *legacyBooking) confirm(ctx workflow.Context) {
	b.state.Step = "confirming"
	b.state.PaymentID = b.payment.PaymentID
	err := b.local(ctx, a.ConfirmSeats, b.seats(false)).Get(ctx, nil)
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) && appErr.Type() == activities.ErrHoldLost {
		b.finish(ctx, lifecycle.StatusFailed, "the seats were lost after the hold expired; payment refunded")
		return
	}
	if err != nil { // only non-retryable errors end the retries; there are none other here
		b.finish(ctx, lifecycle.StatusFailed, "seats could not be confirmed: "+err.Error())
		return
	}
	b.confirmedPayID = b.payment.PaymentID
	b.saga.clear() // the seats are sold: a later failure must not release them
	b.setStatus(ctx, lifecycle.StatusConfirmed, "")
	now := workflow.Now(ctx)
	b.record(ctx, lifecycle.StatusConfirmed, "", now)
	_ = b.emit(ctx, b.confirmed(now))
	b.state.Step = "done"
}

// finish ends a booking that is not CONFIRMED: compensations in reverse (seats released), a
// pending or taken payment voided or refunded, the record updated and the facts announced.
func (b *legacyBooking) finish(ctx workflow.Context, status, reason string) {
	b.state.Step = "compensating"
	b.saga.compensate(ctx)
	if status == lifecycle.StatusCancelled || (status == lifecycle.StatusExpired && legacyVoidsOnExpiry(ctx)) ||
		(b.payment != nil && b.payment.Status == bus.PaymentSuccess) {
		// Cancel and expiry void a payment still in flight (the provider may never answer); a
		// success that cannot be used is refunded.
		b.refund(ctx, reason)
	}
	b.setStatus(ctx, status, reason)
	now := workflow.Now(ctx)
	b.record(ctx, status, reason, now)
	msgs := []bus.Message{b.ended(status, reason, now)}
	if b.hold.Held {
		msgs = append([]bus.Message{b.released(reason, now)}, msgs...)
	}
	_ = b.emit(ctx, msgs...)
	b.state.Step = "done"
}

// afterAcceptance ends the current workflow task before a cancel has any effect. An update is in
// the history only once the task that accepted it ends; if that task were refused (the server
// refuses to complete a workflow when a signal arrived meanwhile) and run again, the signal would
// come before the cancel, and local activities that had already acted on the cancel would
// contradict the rerun. With the acceptance recorded first, every rerun sees the same order.
// Signals and timers are in the history before a task starts, so acting on them is safe at once.
func (b *legacyBooking) afterAcceptance(ctx workflow.Context) error {
	if !b.actsOnAcceptedCancel {
		return nil
	}
	return workflow.Sleep(ctx, time.Millisecond)
}

// legacyCompletesInOwnTask reports whether this run completes in a workflow task without local
// activities (version 1); earlier runs completed in the task of their last step.
func legacyCompletesInOwnTask(ctx workflow.Context) bool {
	return workflow.GetVersion(ctx, "complete-in-own-task", workflow.DefaultVersion, 1) >= 1
}

// legacyVoidsOnExpiry reports whether this run voids the pending payment when the hold expires. The
// first version left a payment whose provider never answered PENDING for ever; workflows started
// before the change replay without the extra step (workflows/testdata/expired.json).
func legacyVoidsOnExpiry(ctx workflow.Context) bool {
	return workflow.GetVersion(ctx, "void-pending-payment-on-expiry", workflow.DefaultVersion, 1) >= 1
}

// cancelConfirmed cancels a CONFIRMED booking: refund, release, CANCELLED.
func (b *legacyBooking) cancelConfirmed(ctx workflow.Context) {
	b.state.Step = "cancelling"
	b.refund(ctx, "cancelled by the buyer")
	_ = b.release(ctx)
	const reason = "cancelled by the buyer"
	b.setStatus(ctx, lifecycle.StatusCancelled, reason)
	now := workflow.Now(ctx)
	b.record(ctx, lifecycle.StatusCancelled, reason, now)
	_ = b.emit(ctx, b.released(reason, now), b.ended(lifecycle.StatusCancelled, reason, now))
	b.state.Step = "done"
}

// settle serves cancels that arrive after confirmation and refunds payments that can no longer be
// used (one that arrived after expiry or cancel), then lets the workflow complete once every
// update handler has answered.
func (b *legacyBooking) settle(ctx workflow.Context) (lifecycle.BookingState, error) {
	for {
		if err := workflow.Await(ctx, func() bool {
			return (b.cancelRequested && b.state.Status == lifecycle.StatusConfirmed) || b.unusedPayment() != nil ||
				workflow.AllHandlersFinished(ctx)
		}); err != nil {
			return b.state, err
		}
		switch {
		case b.cancelRequested && b.state.Status == lifecycle.StatusConfirmed:
			if err := b.afterAcceptance(ctx); err != nil {
				return b.state, err
			}
			b.cancelConfirmed(ctx)
		case b.unusedPayment() != nil:
			b.refund(ctx, "payment arrived after the booking ended ("+b.state.Status+")")
		case !b.actsOnAcceptedCancel && b.ranLocal && legacyCompletesInOwnTask(ctx):
			// The server refuses to complete a workflow when a signal or an update arrived during
			// the task, and the task is then run again from the last one that ended. Local
			// activities of the refused task would have had their effects without their results
			// being recorded, and the rerun could decide otherwise (a cancel, then a payment seen
			// first). So the task that ran them ends first, with a short timer, and the workflow
			// completes in a task of its own.
			b.ranLocal = false
			if err := workflow.Sleep(ctx, time.Millisecond); err != nil {
				return b.state, err
			}
		default:
			return b.state, nil
		}
	}
}

// unusedPayment is a successful payment that no confirmed booking uses and that was not refunded.
func (b *legacyBooking) unusedPayment() *lifecycle.PaymentResult {
	for i := range b.payments {
		p := &b.payments[i]
		if p.Status == bus.PaymentSuccess && p.PaymentID != b.confirmedPayID && !b.refunded[p.PaymentID] {
			return p
		}
	}
	return nil
}

// --- steps ------------------------------------------------------------------------------------

// local runs a local activity and notes that this workflow task had a side effect.
func (b *legacyBooking) local(ctx workflow.Context, fn, arg any) workflow.Future {
	b.ranLocal = true
	return workflow.ExecuteLocalActivity(ctx, fn, arg)
}

func (b *legacyBooking) seats(withHold bool) activities.SeatsRequest {
	r := activities.SeatsRequest{BookingID: b.in.BookingID, EventID: b.in.EventID, SeatIDs: b.in.SeatIDs}
	if withHold {
		r.HoldUntil = b.in.HoldExpiresAt
	}
	return r
}

func (b *legacyBooking) release(ctx workflow.Context) error {
	return b.local(ctx, a.ReleaseSeats, b.seats(false)).Get(ctx, nil)
}

// refund refunds (or voids) the booking's payment; the payment service does it once per booking.
func (b *legacyBooking) refund(ctx workflow.Context, reason string) {
	var res activities.RefundResult
	err := b.local(ctx, a.RefundPayment, activities.RefundRequest{BookingID: b.in.BookingID, Reason: reason}).
		Get(ctx, &res)
	if err != nil {
		workflow.GetLogger(ctx).Error("refund failed", "bookingId", b.in.BookingID, "err", err)
		return
	}
	for _, p := range b.payments {
		b.refunded[p.PaymentID] = true
	}
	if res.Refunded {
		b.state.Refunded = true
	}
}

func (b *legacyBooking) setStatus(ctx workflow.Context, status, reason string) {
	b.state.Status = status
	b.state.FailureReason = reason
	if err := workflow.UpsertTypedSearchAttributes(ctx, lifecycle.BookingStatusKey.ValueSet(status)); err != nil {
		workflow.GetLogger(ctx).Warn("search attribute upsert failed", "err", err)
	}
}

// record writes the status to the booking record. It is retried until the booking service takes
// it; a refusal (a transition the record does not allow) is logged, the saga's outcome stands.
func (b *legacyBooking) record(ctx workflow.Context, status, reason string, at time.Time) {
	change := activities.StatusChange{BookingID: b.in.BookingID, Status: status, Reason: reason,
		PaymentID: b.state.PaymentID, At: at}
	if err := b.local(ctx, a.RecordStatus, change).Get(ctx, nil); err != nil {
		workflow.GetLogger(ctx).Error("booking record refused the status", "status", status, "err", err)
	}
}

func (b *legacyBooking) emit(ctx workflow.Context, msgs ...bus.Message) error {
	return b.local(ctx, a.Emit, msgs).Get(ctx, nil)
}

// --- messages (messages.go) ---------------------------------------------------------------------

func (b *legacyBooking) announce(at time.Time) []bus.Message  { return announcement(b.in, at) }
func (b *legacyBooking) seatsLocked(at time.Time) bus.Message { return seatsLockedMessage(b.in, at) }
func (b *legacyBooking) paymentRequested(at time.Time) bus.Message {
	return paymentRequestedMessage(b.in, at)
}
func (b *legacyBooking) confirmed(at time.Time) bus.Message {
	return confirmedMessage(b.in, b.confirmedPayID, at)
}
func (b *legacyBooking) released(reason string, at time.Time) bus.Message {
	return releasedMessage(b.in, reason, at)
}
func (b *legacyBooking) ended(status, reason string, at time.Time) bus.Message {
	return endedMessage(b.in, status, reason, at)
}

func legacyOrDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// CancelConfirmedBookingWorkflow cancels a booking whose BookingWorkflow already completed
// CONFIRMED: refund, release the seats, CANCELLED. It runs the same steps BookingWorkflow runs for
// a cancel that arrives while it is still open. Its id is booking-<id>-cancel, so a retried cancel
// attaches to the same run.
func CancelConfirmedBookingWorkflow(ctx workflow.Context, in lifecycle.CancelConfirmedInput) (lifecycle.CancelResult, error) {
	b := newLegacyBooking(lifecycle.BookingInput{BookingID: in.BookingID, UserID: in.UserID, EventID: in.EventID, SeatIDs: in.SeatIDs})
	b.state.Status = lifecycle.StatusConfirmed
	b.hold.Held = true
	if err := workflow.SetQueryHandler(ctx, lifecycle.QueryStatus, func() (lifecycle.BookingState, error) { return b.state, nil }); err != nil {
		return lifecycle.CancelResult{}, err
	}
	b.cancelConfirmed(legacyActivityOptions(ctx))
	return lifecycle.CancelResult{Status: b.state.Status, Cancelled: true, Refunded: b.state.Refunded}, nil
}

// legacySaga is the list of compensations of the steps done so far. Each is registered right after its
// step succeeds and they run in reverse order.
type legacySaga struct {
	steps []func(ctx workflow.Context) error
}

func (s *legacySaga) add(step func(ctx workflow.Context) error) { s.steps = append(s.steps, step) }

func (s *legacySaga) clear() { s.steps = nil }

// compensate runs the compensations in reverse on a disconnected context, so that cancelling the
// workflow cannot skip them. Their activities retry until they succeed.
func (s *legacySaga) compensate(ctx workflow.Context) {
	dctx, _ := workflow.NewDisconnectedContext(ctx)
	for i := len(s.steps) - 1; i >= 0; i-- {
		if err := s.steps[i](dctx); err != nil {
			workflow.GetLogger(ctx).Error("compensation failed", "step", i, "err", err)
		}
	}
	s.steps = nil
}

// Activity options. Every step is a local activity: they are calls the worker makes itself, and
// a local activity costs no extra round trip to the server. They retry with backoff, without a
// limit, until they succeed or fail for a business reason (a non-retryable error) — a service
// restarting delays a booking, it does not fail it.
var (
	legacyRetryForever = &temporal.RetryPolicy{
		InitialInterval:    100 * time.Millisecond,
		BackoffCoefficient: 2,
		MaximumInterval:    2 * time.Second,
	}

	legacyStepOptions = workflow.LocalActivityOptions{
		StartToCloseTimeout:    10 * time.Second,
		ScheduleToCloseTimeout: 30 * 24 * time.Hour,
		RetryPolicy:            legacyRetryForever,
	}

	// The hold is the buyer's synchronous answer: it gives up after 20 s (the booking then fails
	// and whatever the hold may have taken is released) rather than keep the buyer waiting.
	legacyHoldOptions = workflow.LocalActivityOptions{
		StartToCloseTimeout:    5 * time.Second,
		ScheduleToCloseTimeout: 20 * time.Second,
		RetryPolicy:            legacyRetryForever,
	}
)

func legacyActivityOptions(ctx workflow.Context) workflow.Context {
	return workflow.WithLocalActivityOptions(ctx, legacyStepOptions)
}
