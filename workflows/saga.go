package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// saga is the list of compensations of the steps done so far. Each is registered right after its
// step succeeds and they run in reverse order.
type saga struct {
	steps []func(ctx workflow.Context) error
}

func (s *saga) add(step func(ctx workflow.Context) error) { s.steps = append(s.steps, step) }

func (s *saga) clear() { s.steps = nil }

// compensate runs the compensations in reverse on a disconnected context, so that cancelling the
// workflow cannot skip them. Their activities retry until they succeed.
func (s *saga) compensate(ctx workflow.Context) {
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
	retryForever = &temporal.RetryPolicy{
		InitialInterval:    100 * time.Millisecond,
		BackoffCoefficient: 2,
		MaximumInterval:    2 * time.Second,
	}

	stepOptions = workflow.LocalActivityOptions{
		StartToCloseTimeout:    10 * time.Second,
		ScheduleToCloseTimeout: 30 * 24 * time.Hour,
		RetryPolicy:            retryForever,
	}

	// The hold is the buyer's synchronous answer: it gives up after 20 s (the booking then fails
	// and whatever the hold may have taken is released) rather than keep the buyer waiting.
	holdOptions = workflow.LocalActivityOptions{
		StartToCloseTimeout:    5 * time.Second,
		ScheduleToCloseTimeout: 20 * time.Second,
		RetryPolicy:            retryForever,
	}
)

func withActivityOptions(ctx workflow.Context) workflow.Context {
	return workflow.WithLocalActivityOptions(ctx, stepOptions)
}
