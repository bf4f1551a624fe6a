package workflows

import (
	"errors"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"ticketflow/internal/lifecycle"
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
