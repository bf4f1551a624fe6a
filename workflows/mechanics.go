package workflows

// The Temporal mechanics of BookingWorkflow, in one place: each answers a behaviour of the SDK or
// the server that the saga in booking.go would otherwise have to work around step by step. Each
// says the behaviour it answers and the test that pins it.
//
//  1. step — every step a local activity first, then a regular activity after localBudget.
//     Behaviour: a local activity that keeps failing is retried inside one workflow task kept
//     alive by heartbeats, each adding events to the history. Pinned by
//     TestALongOutageBecomesARegularActivityWithBackoff.
//  2. awaitFor — a wait that ends before its timer cancels the timer (generation 5 on).
//     Behaviour: workflow.AwaitWithTimeout leaves its timer running (the SDK flag that cancels it,
//     SDKFlagCancelAwaitTimerOnCondition, is off), so a decided booking would be woken again when
//     its hold would have ended. Pinned by TestAConfirmedBookingLeavesOnlyTheEventTimerRunning.
//  3. complete — the run completes in a workflow task without local activities (a 1 ms timer
//     first). Behaviour: the server refuses to complete a workflow when a signal or update
//     arrived during the task, and runs the task again from the last one that ended, so effects
//     of local activities in the refused task would be missing from the history. Pinned by
//     TestTheRunCompletesInATaskWithoutLocalActivities.
//  4. setup registers the query, the updates and the signal before the first step (booking.go).
//     Behaviour: an Update-with-Start delivers its update in the run's first task; a handler
//     registered after a blocking call would not be there. Pinned by every test of the harness,
//     which asks for the hold in the first task as the booking service does.
//  5. Steps run on a disconnected context (booking.go, run). Behaviour: cancelling a workflow
//     cancels its context, which would interrupt a step or skip a compensation. Pinned by
//     TestCancelFromTemporalDuringTheConfirmRefundsOnceAndEnds.
//  6. One GetVersion marker for every generation (generations.go). Behaviour: each GetVersion
//     records a marker and upserts TemporalChangeVersion, a visibility write per change id.
//  7. sealedRecord — whether a payment result carries the bridge's seal is decided once, in a
//     SideEffect. Behaviour: the seal is checked with the worker's key, and a replay (another
//     worker, `ticketflow replay` with another key) must take the path the run took; a side
//     effect's value is recorded in the history and read back on replay. Pinned by
//     TestASealedPaymentResultIsUsedWithoutReadingTheRecord and
//     TestAPaymentResultWithoutAPaymentOfRecordNeverConfirms.
//  8. Outside the workflow, activities.Emit looks for its messages on the topic when the send may
//     not be its first (a retry, or the regular activity a step falls back to): a local activity
//     starts again at attempt 1 on the regular path. Pinned by
//     TestEmitLooksFirstWhenTheSendMayNotBeTheFirst (activities).

import (
	"errors"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"ticketflow/activities"
	"ticketflow/internal/auth"
	"ticketflow/internal/lifecycle"
	"ticketflow/services/payment"
)

// How a step runs. Every step is first a local activity: the worker makes the call itself, with
// no round trip to the server, which is what keeps a booking fast. A local activity that keeps
// failing is retried inside one workflow task, kept alive by heartbeats that each add events to the
// history; so after localBudget the step becomes a regular activity, retried by the server with
// backoff up to maxBackoff and without a limit. A dependency down for hours then adds a handful of
// events to a waiting booking's history (scheduled, started, completed), not three every eight
// seconds, and an operator sees the step, its attempts and its last error in the web UI, plus the
// RetryingStep search attribute.
const (
	localBudget = 30 * time.Second
	maxBackoff  = 5 * time.Minute
)

var (
	localOptions = workflow.LocalActivityOptions{
		StartToCloseTimeout:    10 * time.Second,
		ScheduleToCloseTimeout: localBudget,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:    100 * time.Millisecond,
			BackoffCoefficient: 2,
			MaximumInterval:    2 * time.Second,
		},
	}

	regularOptions = workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:    time.Second,
			BackoffCoefficient: 2,
			MaximumInterval:    maxBackoff,
		},
	}

	// The hold is the buyer's synchronous answer (the "hold" update): it gives up after 20 s —
	// the booking then fails and whatever the hold may have taken is released — rather than keep
	// the buyer waiting. It never falls back to a regular activity.
	holdOptions = workflow.LocalActivityOptions{
		StartToCloseTimeout:    5 * time.Second,
		ScheduleToCloseTimeout: 20 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:    100 * time.Millisecond,
			BackoffCoefficient: 2,
			MaximumInterval:    2 * time.Second,
		},
	}
)

// step runs one activity of the saga until it succeeds or is refused for a business reason (a
// non-retryable application error, returned to the caller).
func (b *booking) step(ctx workflow.Context, name string, fn, arg, result any) error {
	b.ranLocal = true
	err := workflow.ExecuteLocalActivity(workflow.WithLocalActivityOptions(ctx, localOptions), fn, arg).Get(ctx, result)
	if err == nil || refused(err) {
		return err
	}
	workflow.GetLogger(ctx).Warn("step keeps failing; retrying it with backoff as a regular activity",
		"bookingId", b.in.BookingID, "step", name, "err", err)
	b.setRetrying(ctx, name)
	err = workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, regularOptions), fn, arg).Get(ctx, result)
	b.setRetrying(ctx, "")
	if err != nil && !refused(err) {
		workflow.GetLogger(ctx).Error("step failed for good", "bookingId", b.in.BookingID, "step", name, "err", err)
	}
	return err
}

// refused reports whether err is a business refusal: retrying cannot change it.
func refused(err error) bool {
	var appErr *temporal.ApplicationError
	return errors.As(err, &appErr) && appErr.NonRetryable()
}

// setRetrying shows (or clears, with "") the step being retried, in the status query and in the
// RetryingStep search attribute, so operators can list the bookings waiting on a dependency.
func (b *booking) setRetrying(ctx workflow.Context, name string) {
	b.state.RetryingStep = name
	var update temporal.SearchAttributeUpdate
	if name == "" {
		update = lifecycle.RetryingStepKey.ValueUnset()
	} else {
		update = lifecycle.RetryingStepKey.ValueSet(name)
	}
	if err := workflow.UpsertTypedSearchAttributes(ctx, update); err != nil {
		workflow.GetLogger(ctx).Warn("search attribute upsert failed", "err", err)
	}
}

// awaitFor waits until cond holds or d has passed, and reports whether cond held. From generation
// 5 on, a wait that ends before its timer cancels the timer: otherwise the timer fires later and
// wakes the workflow for a task that does nothing (a confirmed booking, when its hold would have
// ended). The SDK's AwaitWithTimeout leaves its timer running (its flag to cancel it is off).
func (b *booking) awaitFor(ctx workflow.Context, d time.Duration, cond func() bool) (bool, error) {
	if b.gen < genCancelledWaits {
		return workflow.AwaitWithTimeout(ctx, d, cond)
	}
	if cond() {
		return true, nil
	}
	tctx, cancel := workflow.WithCancel(ctx)
	defer cancel()
	timer := workflow.NewTimer(tctx, d)
	err := workflow.Await(ctx, func() bool { return cond() || timer.IsReady() })
	return cond(), err
}

// complete ends the run once every update handler has answered. The server refuses to complete a
// workflow when a signal or update arrived during the task, and runs the task again from the last
// one that ended: effects of local activities run in the refused task would be lost from the
// history. So a task that ran local activities ends first with a 1 ms timer, and the workflow
// completes in a task of its own (TestTheRunCompletesInATaskWithoutLocalActivities pins this).
func (b *booking) complete(ctx workflow.Context) (lifecycle.BookingState, error) {
	if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); err != nil {
		return b.state, err
	}
	if b.ranLocal {
		b.ranLocal = false
		if err := workflow.Sleep(ctx, time.Millisecond); err != nil {
			return b.state, err
		}
		if len(b.claims) > 0 || b.cancelReason != "" {
			return b.keep(ctx)
		}
	}
	return b.state, nil
}

// paymentSealKey is the key the bridge seals payments of record with (auth.PaymentSeal), set once
// by the worker before it starts (SetPaymentSealKey). Workflow code reads it only inside the side
// effect of sealedRecord.
var paymentSealKey []byte

// SetPaymentSealKey gives the workflows the key payment results are sealed with (the JWT secret).
func SetPaymentSealKey(secret []byte) { paymentSealKey = append([]byte(nil), secret...) }

// sealedRecord returns the payment of record of the latest claim that carries a valid seal.
func (b *booking) sealedRecord(ctx workflow.Context, claims []lifecycle.PaymentResult) (activities.PaymentRecord, bool) {
	for i := len(claims) - 1; i >= 0; i-- {
		c := claims[i]
		if c.Seal == "" || c.RecordStatus == "" {
			continue
		}
		var valid bool
		err := workflow.SideEffect(ctx, func(workflow.Context) any {
			return len(paymentSealKey) > 0 && auth.EqualToken(c.Seal, auth.PaymentSeal(paymentSealKey, c.SealFields()...))
		}).Get(&valid)
		if err != nil || !valid {
			workflow.GetLogger(ctx).Warn("payment result with a seal that does not hold; ignored", "bookingId", b.in.BookingID)
			continue
		}
		return activities.PaymentRecord{Found: true, View: payment.View{ID: c.PaymentID, BookingID: c.BookingID,
			AmountMinor: c.AmountMinor, Currency: c.Currency, Status: c.RecordStatus, FailureReason: c.FailureReason,
			ProviderRef: c.ProviderRef}}, true
	}
	return activities.PaymentRecord{}, false
}
