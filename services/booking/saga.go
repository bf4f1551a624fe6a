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

// hold starts the booking's workflow (or attaches to it when it already runs: a retried request)
// and waits for the seat decision: Update-with-Start, one round trip to the server.
func (s *saga) hold(ctx context.Context, b *Booking) (workflows.HoldResult, error) {
	key := ""
	if b.IdempotencyKey != nil {
		key = *b.IdempotencyKey
	}
	in := workflows.BookingInput{BookingID: b.ID, UserID: b.UserID, UserEmail: b.UserEmail, EventID: b.EventID,
		EventName: b.EventName, SeatIDs: b.SeatIDs, AmountMinor: b.AmountMinor, Currency: b.Currency,
		PaymentToken: b.PaymentToken, IdempotencyKey: key, HoldExpiresAt: b.HoldExpiresAt.UTC(),
		Announced: b.Origin == "kafka"}
	start := s.temporal.NewWithStartWorkflowOperation(s.startOptions(b), workflows.BookingWorkflowName, in)
	handle, err := s.temporal.UpdateWithStartWorkflow(ctx, client.UpdateWithStartWorkflowOptions{
		StartWorkflowOperation: start,
		UpdateOptions: client.UpdateWorkflowOptions{
			UpdateID:     workflows.UpdateHold,
			UpdateName:   workflows.UpdateHold,
			WaitForStage: client.WorkflowUpdateStageCompleted,
		},
	})
	var res workflows.HoldResult
	if err == nil {
		err = handle.Get(ctx, &res)
	}
	return res, err
}

// cancel cancels a PENDING or CONFIRMED booking and returns the status it ended with. An open
// workflow handles the cancel itself (so a concurrent payment and cancel end in one state); a
// CONFIRMED booking whose workflow has completed is cancelled by CancelConfirmedBookingWorkflow.
func (s *saga) cancel(ctx context.Context, b *Booking) (workflows.CancelResult, error) {
	var res workflows.CancelResult
	handle, err := s.temporal.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID:   workflows.WorkflowID(b.ID),
		UpdateID:     workflows.UpdateCancel,
		UpdateName:   workflows.UpdateCancel,
		WaitForStage: client.WorkflowUpdateStageCompleted,
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
	case !closed(err):
		return res, err
	}
	// The booking's workflow has completed: only a CONFIRMED booking can still be cancelled.
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

// reconcile fails bookings left PENDING without a workflow: a process that died between storing
// the booking and starting its workflow, or a start that never reached Temporal.
func (s *saga) reconcile(ctx context.Context, st *store) {
	t := time.NewTicker(15 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		pending, err := st.pendingSince(ctx, time.Now().Add(-time.Minute))
		if err != nil {
			continue
		}
		for _, b := range pending {
			_, err := s.temporal.DescribeWorkflowExecution(ctx, workflows.WorkflowID(b.ID), "")
			var nf *serviceerror.NotFound
			if !errors.As(err, &nf) {
				continue // running (or Temporal unreachable): its workflow decides
			}
			reason := "the booking's workflow never started"
			if _, err := st.setStatus(ctx, b.ID, workflows.StatusFailed, &reason, nil, time.Now()); err != nil {
				slog.Warn("reconcile: fail orphan booking", "booking", b.ID, "err", err)
				continue
			}
			slog.Warn("reconcile: orphan booking failed", "booking", b.ID)
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
