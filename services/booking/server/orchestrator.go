package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"ticketflow/internal/lifecycle"
	"ticketflow/internal/money"
	"ticketflow/internal/process"
	"ticketflow/services/booking"
)

// orchestrator starts each booking's workflow and talks to it: the booking service's side of
// Temporal. It never changes a booking's status itself.
type orchestrator struct {
	temporal  client.Client
	taskQueue string
	namespace string
	store     *store
}

// startOptions are the options of a booking's workflow. A new booking's run is started with
// reject-duplicate, so a retried start can never begin a second saga; a run in ModeConfirmed or
// ModeRepair follows one that has closed and is allowed to.
func (o *orchestrator) startOptions(b *booking.Booking, mode string) client.StartWorkflowOptions {
	reuse := enums.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE
	switch mode {
	case lifecycle.ModeConfirmed:
		reuse = enums.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE
	case lifecycle.ModeRepair:
		reuse = enums.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY
	}
	return client.StartWorkflowOptions{
		ID:                       lifecycle.WorkflowID(b.ID),
		TaskQueue:                o.taskQueue,
		WorkflowIDReusePolicy:    reuse,
		WorkflowIDConflictPolicy: enums.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		TypedSearchAttributes: temporal.NewSearchAttributes(
			lifecycle.BookingIDKey.ValueSet(b.ID),
			lifecycle.EventIDKey.ValueSet(b.EventID),
			lifecycle.UserIDKey.ValueSet(b.UserID),
			lifecycle.BookingStatusKey.ValueSet(b.Status),
			lifecycle.SeatCountKey.ValueSet(int64(len(b.SeatIDs))),
		),
		StaticSummary: fmt.Sprintf("%s · seats %s · %s", b.EventName, strings.Join(b.SeatIDs, ", "),
			money.Format(b.AmountMinor, b.Currency)),
		StaticDetails: fmt.Sprintf("Booking %s by user %s (%s)", b.ID, b.UserID, b.UserEmail),
	}
}

// input is the workflow input of a booking record, for a run in mode.
func (o *orchestrator) input(b *booking.Booking, mode string) lifecycle.BookingInput {
	in := lifecycle.BookingInput{BookingID: b.ID, UserID: b.UserID, UserEmail: b.UserEmail, EventID: b.EventID,
		EventName: b.EventName, SeatIDs: b.SeatIDs, AmountMinor: b.AmountMinor, Currency: b.Currency,
		PaymentToken: b.PaymentToken, HoldExpiresAt: b.HoldExpiresAt.UTC(), Announced: b.Origin == originKafka,
		Hold: b.HoldDecision, MaxSeatsPerBuyer: b.MaxSeatsPerBuyer, Mode: mode}
	if b.IdempotencyKey != nil {
		in.IdempotencyKey = *b.IdempotencyKey
	}
	if b.EventStartsAt != nil {
		in.EventStartsAt = b.EventStartsAt.UTC()
	}
	if mode != lifecycle.ModeNew {
		in.Status = b.Status
		if b.PaymentID != nil {
			in.PaymentID = *b.PaymentID
		}
	}
	return in
}

// start starts a new booking's workflow; one that already runs or ran for it is left alone.
func (o *orchestrator) start(ctx context.Context, b *booking.Booking) error {
	_, err := o.temporal.ExecuteWorkflow(ctx, o.startOptions(b, lifecycle.ModeNew), lifecycle.BookingWorkflowName,
		o.input(b, lifecycle.ModeNew))
	if err != nil && !alreadyStarted(err) {
		return err
	}
	return o.store.markStarted(context.WithoutCancel(ctx), b.ID)
}

// startSoon starts the workflow in the background, retrying while Temporal is unreachable. The
// buyer already has the seat decision and the decision is stored with the booking, so a start that
// waits (or a process that dies first: see reconcile) delays the saga; it never changes it. The
// start belongs to the request's trace (ctx's values, not its deadline).
func (o *orchestrator) startSoon(ctx context.Context, b *booking.Booking) {
	base := context.WithoutCancel(ctx)
	go func() {
		backoff := 100 * time.Millisecond
		for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); {
			ctx, cancel := context.WithTimeout(base, 10*time.Second)
			err := o.start(ctx, b)
			cancel()
			if err == nil {
				return
			}
			slog.WarnContext(base, "start booking workflow; retrying", "booking", b.ID, "err", err)
			time.Sleep(backoff)
			backoff = min(2*backoff, 5*time.Second)
		}
	}()
}

// askHold hands a booking whose seat decision is unknown to its workflow (starting it if need be)
// and waits for the workflow's decision. ok is false when the workflow has closed already.
func (o *orchestrator) askHold(ctx context.Context, b *booking.Booking) (res lifecycle.HoldResult, ok bool, err error) {
	handle, err := o.temporal.UpdateWithStartWorkflow(ctx, client.UpdateWithStartWorkflowOptions{
		StartWorkflowOperation: o.temporal.NewWithStartWorkflowOperation(o.startOptions(b, lifecycle.ModeNew),
			lifecycle.BookingWorkflowName, o.input(b, lifecycle.ModeNew)),
		UpdateOptions: client.UpdateWorkflowOptions{
			UpdateID:     lifecycle.UpdateHold,
			UpdateName:   lifecycle.UpdateHold,
			WaitForStage: client.WorkflowUpdateStageCompleted,
		},
	})
	if err == nil {
		_ = o.store.markStarted(context.WithoutCancel(ctx), b.ID)
		err = handle.Get(ctx, &res)
	}
	switch {
	case err == nil:
		return res, true, nil
	case closed(err) || alreadyStarted(err):
		return res, false, nil
	}
	return res, false, err
}

// cancel cancels a PENDING or CONFIRMED booking through its workflow and returns the status it
// ended with. A booking whose workflow has closed gets a run that takes it up (ModeConfirmed for a
// CONFIRMED booking before its event, ModeRepair for one its run left PENDING), with the cancel
// as its first message; current re-reads the record.
func (o *orchestrator) cancel(ctx context.Context, b *booking.Booking, current func(context.Context) (*booking.Booking, error)) (lifecycle.CancelResult, error) {
	res, err := o.updateCancel(ctx, b, lifecycle.ModeNew)
	if err == nil || !(closed(err) || alreadyStarted(err)) {
		return res, err
	}
	if b, err = current(ctx); err != nil {
		return res, err
	}
	mode := ""
	switch {
	case b.Status == lifecycle.StatusConfirmed && (b.EventStartsAt == nil || time.Now().Before(*b.EventStartsAt)):
		mode = lifecycle.ModeConfirmed
	case b.Status == lifecycle.StatusPending:
		mode = lifecycle.ModeRepair
	default:
		return lifecycle.CancelResult{Status: b.Status}, nil
	}
	res, err = o.updateCancel(ctx, b, mode)
	if err != nil && (closed(err) || alreadyStarted(err)) {
		if b, err = current(ctx); err == nil {
			return lifecycle.CancelResult{Status: b.Status}, nil
		}
	}
	return res, err
}

func (o *orchestrator) updateCancel(ctx context.Context, b *booking.Booking, mode string) (lifecycle.CancelResult, error) {
	var res lifecycle.CancelResult
	handle, err := o.temporal.UpdateWithStartWorkflow(ctx, client.UpdateWithStartWorkflowOptions{
		StartWorkflowOperation: o.temporal.NewWithStartWorkflowOperation(o.startOptions(b, mode),
			lifecycle.BookingWorkflowName, o.input(b, mode)),
		UpdateOptions: client.UpdateWorkflowOptions{
			UpdateName:   lifecycle.UpdateCancel,
			WaitForStage: client.WorkflowUpdateStageCompleted,
		},
	})
	if err == nil {
		_ = o.store.markStarted(context.WithoutCancel(ctx), b.ID)
		err = handle.Get(ctx, &res)
	}
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) && appErr.Type() == lifecycle.ErrNotCancellable {
		return lifecycle.CancelResult{Status: b.Status}, nil
	}
	return res, err
}

// closed reports whether err says the workflow is no longer running.
func closed(err error) bool {
	var nf *serviceerror.NotFound
	return errors.As(err, &nf) || strings.Contains(err.Error(), "workflow execution already completed")
}

// alreadyStarted reports whether a start was refused because the workflow id was used before.
func alreadyStarted(err error) bool {
	var as *serviceerror.WorkflowExecutionAlreadyStarted
	return errors.As(err, &as) || strings.Contains(err.Error(), "already started") || closed(err)
}

// --- reconciler ---------------------------------------------------------------------------------

// Reconciliation finds, whatever their number, every booking whose record is not matched by a live
// workflow, and repairs it:
//   - bookings whose workflow was never started (a process died between answering and starting
//     it): an indexed scan of exactly those rows (bookings_unstarted), older than startGrace so a
//     request still deciding is left to finish;
//   - bookings whose latest run closed without ending the booking (terminated or timed out in the
//     Temporal UI or CLI, failed): found in Temporal's visibility store by execution status, and
//     given a run in ModeRepair (PENDING or ended records) or ModeConfirmed (CONFIRMED records).
const (
	reconcileEvery = 15 * time.Second
	startGrace     = time.Minute
	reconcilePage  = 200
)

func (o *orchestrator) reconcile(ctx context.Context) {
	var closedSince time.Time // zero: the first pass looks at every closed run
	process.Every(ctx, reconcileEvery, process.AfterInterval, func(ctx context.Context) {
		if err := o.startUnstarted(ctx); err != nil && ctx.Err() == nil {
			slog.Warn("reconcile: unstarted bookings", "err", err)
		}
		pass := time.Now()
		if err := o.repairClosed(ctx, closedSince); err != nil {
			if ctx.Err() == nil {
				slog.Warn("reconcile: closed workflows", "err", err)
			}
			return
		}
		closedSince = pass.Add(-time.Minute) // overlap: visibility is eventually consistent
	})
}

// startUnstarted starts the workflow of every booking whose workflow is not known to exist.
func (o *orchestrator) startUnstarted(ctx context.Context) error {
	before := time.Now().Add(-startGrace)
	afterAt, afterID := time.Time{}, "00000000-0000-0000-0000-000000000000"
	for {
		page, err := o.store.unstarted(ctx, before, afterAt, afterID, reconcilePage)
		if err != nil {
			return err
		}
		for _, b := range page {
			if err := o.start(ctx, b); err != nil {
				slog.Warn("reconcile: start the workflow of a booking", "booking", b.ID, "err", err)
				continue
			}
			reconcileRepairs.WithLabelValues("unstarted").Inc()
			slog.Warn("reconcile: workflow started for a booking that had none", "booking", b.ID)
		}
		if len(page) < reconcilePage {
			return nil
		}
		afterAt, afterID = page[len(page)-1].CreatedAt, page[len(page)-1].ID
	}
}

// repairClosed gives a new run to every booking whose latest run closed abnormally since `since`.
func (o *orchestrator) repairClosed(ctx context.Context, since time.Time) error {
	query := fmt.Sprintf(`WorkflowType = %q AND ExecutionStatus IN ("Terminated", "TimedOut", "Failed", "Canceled")`,
		lifecycle.BookingWorkflowName)
	if !since.IsZero() {
		query += fmt.Sprintf(` AND CloseTime > %q`, since.UTC().Format(time.RFC3339Nano))
	}
	var token []byte
	for {
		resp, err := o.temporal.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Namespace: o.namespace, PageSize: reconcilePage, NextPageToken: token, Query: query})
		if err != nil {
			return err
		}
		for _, ex := range resp.GetExecutions() {
			id, ok := strings.CutPrefix(ex.GetExecution().GetWorkflowId(), "booking-")
			if !ok {
				continue
			}
			if err := o.repair(ctx, id); err != nil {
				slog.Warn("reconcile: repair a booking whose workflow closed", "booking", id, "err", err)
			}
		}
		if token = resp.GetNextPageToken(); len(token) == 0 {
			return nil
		}
	}
}

// repair starts a run for a booking whose latest run closed abnormally (and is still the latest).
func (o *orchestrator) repair(ctx context.Context, bookingID string) error {
	d, err := o.temporal.DescribeWorkflowExecution(ctx, lifecycle.WorkflowID(bookingID), "")
	if err != nil {
		return err
	}
	switch d.GetWorkflowExecutionInfo().GetStatus() {
	case enums.WORKFLOW_EXECUTION_STATUS_TERMINATED, enums.WORKFLOW_EXECUTION_STATUS_TIMED_OUT,
		enums.WORKFLOW_EXECUTION_STATUS_FAILED, enums.WORKFLOW_EXECUTION_STATUS_CANCELED:
	default:
		return nil // running, or completed: its booking has its decider or its end
	}
	b, err := o.store.get(ctx, bookingID)
	if err != nil {
		return err
	}
	mode := lifecycle.ModeRepair
	if b.Status == lifecycle.StatusConfirmed {
		if b.EventStartsAt != nil && !time.Now().Before(*b.EventStartsAt) {
			return nil // the event has taken place: nothing is left to keep
		}
		mode = lifecycle.ModeConfirmed
	}
	opts := o.startOptions(b, lifecycle.ModeRepair) // follows a run that closed abnormally
	if _, err := o.temporal.ExecuteWorkflow(ctx, opts, lifecycle.BookingWorkflowName, o.input(b, mode)); err != nil {
		return err
	}
	reconcileRepairs.WithLabelValues("closed").Inc()
	slog.Warn("reconcile: booking taken up by a new run after its workflow closed", "booking", bookingID,
		"status", b.Status, "mode", mode, "closedAs", d.GetWorkflowExecutionInfo().GetStatus().String())
	return nil
}
