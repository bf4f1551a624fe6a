package booking

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"ticketflow/httpapi"
	"ticketflow/workflows"
)

// saga starts and steers each booking's workflow.
type saga struct {
	temporal  client.Client
	taskQueue string
}

func (s *saga) startOptions(b *Booking) client.StartWorkflowOptions {
	return client.StartWorkflowOptions{
		ID:                       workflows.WorkflowID(b.ID),
		TaskQueue:                s.taskQueue,
		WorkflowIDReusePolicy:    enums.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		WorkflowIDConflictPolicy: enums.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		TypedSearchAttributes: temporal.NewSearchAttributes(
			workflows.BookingIDKey.ValueSet(b.ID),
			workflows.EventIDKey.ValueSet(b.EventID),
			workflows.UserIDKey.ValueSet(b.UserID),
			workflows.BookingStatusKey.ValueSet(workflows.StatusPending),
			workflows.SeatCountKey.ValueSet(int64(len(b.SeatIDs))),
		),
		StaticSummary: fmt.Sprintf("%s · seats %s · %s %s", b.EventName, strings.Join(b.SeatIDs, ", "),
			formatMoney(b.AmountMinor), b.Currency),
		StaticDetails: fmt.Sprintf("Booking %s by user %s (%s)", b.ID, b.UserID, b.UserEmail),
	}
}

func (s *saga) input(b *Booking) workflows.BookingInput {
	key := ""
	if b.IdempotencyKey != nil {
		key = *b.IdempotencyKey
	}
	return workflows.BookingInput{BookingID: b.ID, UserID: b.UserID, UserEmail: b.UserEmail, EventID: b.EventID,
		EventName: b.EventName, SeatIDs: b.SeatIDs, AmountMinor: b.AmountMinor, Currency: b.Currency,
		PaymentToken: b.PaymentToken, IdempotencyKey: key, HoldExpiresAt: b.HoldExpiresAt.UTC(),
		Announced: b.Origin == "kafka"}
}

// start starts the booking's workflow; a workflow that already runs or ran for it is left alone.
func (s *saga) start(ctx context.Context, b *Booking) error {
	_, err := s.temporal.ExecuteWorkflow(ctx, s.startOptions(b), workflows.BookingWorkflowName, s.input(b))
	if err != nil && alreadyStarted(err) {
		return nil
	}
	return err
}

// startSoon starts the workflow in the background, retrying while Temporal is unreachable. The
// buyer already has the seat decision; the booking is stored and its seats are held until
// holdExpiresAt, so a start that waits (or a process that dies first: see reconcile) delays the
// payment, it does not lose the booking.
func (s *saga) startSoon(b *Booking) {
	go func() {
		backoff := 100 * time.Millisecond
		for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			err := s.start(ctx, b)
			cancel()
			if err == nil {
				return
			}
			slog.Warn("start booking workflow; retrying", "booking", b.ID, "err", err)
			time.Sleep(backoff)
			backoff = min(2*backoff, 5*time.Second)
		}
	}()
}

// cancel cancels a PENDING or CONFIRMED booking and returns the status it ended with. An open
// workflow handles the cancel itself (so a concurrent payment and cancel end in one state); a
// CONFIRMED booking whose workflow has completed is cancelled by CancelConfirmedBookingWorkflow.
// current re-reads the booking: it may have been confirmed since b was read.
func (s *saga) cancel(ctx context.Context, b *Booking, current func(context.Context) (*Booking, error)) (workflows.CancelResult, error) {
	var res workflows.CancelResult
	// Update-with-Start: a booking whose workflow has not started yet (it starts just after the
	// buyer's 202) gets it started, with the cancel as its first message.
	handle, err := s.temporal.UpdateWithStartWorkflow(ctx, client.UpdateWithStartWorkflowOptions{
		StartWorkflowOperation: s.temporal.NewWithStartWorkflowOperation(s.startOptions(b), workflows.BookingWorkflowName, s.input(b)),
		UpdateOptions: client.UpdateWorkflowOptions{
			UpdateID:     workflows.UpdateCancel,
			UpdateName:   workflows.UpdateCancel,
			WaitForStage: client.WorkflowUpdateStageCompleted,
		},
	})
	if err == nil {
		err = handle.Get(ctx, &res)
	}
	var appErr *temporal.ApplicationError
	switch {
	case err == nil:
		return res, nil
	case errors.As(err, &appErr) && appErr.Type() == workflows.ErrNotCancellable:
		return workflows.CancelResult{Status: b.Status}, nil
	case !closed(err) && !alreadyStarted(err):
		return res, err
	}
	// The booking's workflow has completed (perhaps just now, confirming it): only a CONFIRMED
	// booking can still be cancelled.
	if b, err = current(ctx); err != nil {
		return res, err
	}
	if b.Status != workflows.StatusConfirmed {
		return workflows.CancelResult{Status: b.Status}, nil
	}
	opts := s.startOptions(b)
	opts.ID = workflows.CancelWorkflowID(b.ID)
	opts.StaticSummary = "Cancel " + opts.StaticSummary
	run, err := s.temporal.ExecuteWorkflow(ctx, opts, workflows.CancelConfirmedWorkflowName, workflows.CancelConfirmedInput{
		BookingID: b.ID, UserID: b.UserID, EventID: b.EventID, SeatIDs: b.SeatIDs, Reason: "cancelled by the buyer"})
	if err != nil {
		return res, err
	}
	err = run.Get(ctx, &res)
	return res, err
}

// closed reports whether err says the workflow is no longer running.
func closed(err error) bool {
	var nf *serviceerror.NotFound
	return errors.As(err, &nf) || strings.Contains(err.Error(), "workflow execution already completed")
}

// alreadyStarted reports whether a start was refused because the workflow id was used before
// (the booking's workflow has completed).
func alreadyStarted(err error) bool {
	var as *serviceerror.WorkflowExecutionAlreadyStarted
	return errors.As(err, &as) || strings.Contains(err.Error(), "already started") || closed(err)
}

// reconcile starts the workflow of bookings left PENDING without one: a process that died
// between holding the seats and starting the workflow, or a start that never reached Temporal.
// The workflow takes it from there (its hold is idempotent; a hold that has run out expires it).
func (s *saga) reconcile(ctx context.Context, st *store) {
	t := time.NewTicker(15 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		pending, err := st.pendingSince(ctx, time.Now().Add(-30*time.Second))
		if err != nil {
			continue
		}
		for _, b := range pending {
			_, err := s.temporal.DescribeWorkflowExecution(ctx, workflows.WorkflowID(b.ID), "")
			var nf *serviceerror.NotFound
			if !errors.As(err, &nf) {
				continue // running (or Temporal unreachable): its workflow decides
			}
			if err := s.start(ctx, b); err != nil {
				slog.Warn("reconcile: start the workflow of an orphan booking", "booking", b.ID, "err", err)
				continue
			}
			slog.Warn("reconcile: workflow started for an orphan booking", "booking", b.ID)
		}
	}
}

func formatMoney(minor int64) string {
	b, _ := Amount(minor).MarshalJSON()
	return string(b)
}

// eventInfo is what a booking needs of its event.
type eventInfo struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Currency string `json:"currency"`
}

// eventCache remembers events for a short while: every booking needs its event's name and an
// event's name rarely changes.
type eventCache struct {
	client *httpapi.Client
	ttl    time.Duration
	mu     sync.Mutex
	items  map[string]cachedEvent
}

type cachedEvent struct {
	info    eventInfo
	expires time.Time
}

func (c *eventCache) get(ctx context.Context, id string) (eventInfo, error) {
	c.mu.Lock()
	it, ok := c.items[id]
	c.mu.Unlock()
	if ok && time.Now().Before(it.expires) {
		return it.info, nil
	}
	var info eventInfo
	if err := c.client.Get(ctx, "/internal/events/"+id, &info); err != nil {
		return info, err
	}
	c.mu.Lock()
	c.items[id] = cachedEvent{info: info, expires: time.Now().Add(c.ttl)}
	c.mu.Unlock()
	return info, nil
}
