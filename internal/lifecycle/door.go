package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"ticketflow/internal/ids"
	"ticketflow/internal/money"
)

// Door is the one way other processes reach a booking's workflow: start it, ask it for the seat
// decision or a cancel, hand it a payment result, and find the runs that closed abnormally. The
// booking service (which starts and steers each booking's workflow) and the bridge (which signals
// payment results) both use it; nothing else talks to BookingWorkflow.
//
// A closed workflow is reported as ErrClosed, found by the SDK's typed errors: a signal or an
// update of a closed run is a *serviceerror.NotFound, and an Update-with-Start that would start a
// new run where the reuse policy refuses one is a *serviceerror.WorkflowExecutionAlreadyStarted.
type Door struct {
	temporal  client.Client
	taskQueue string
	namespace string
}

// NewDoor returns the door to the booking workflows of namespace, run on taskQueue.
func NewDoor(c client.Client, taskQueue, namespace string) *Door {
	return &Door{temporal: c, taskQueue: taskQueue, namespace: namespace}
}

// ErrClosed is the answer of a door call for a booking whose workflow has closed (or never ran).
var ErrClosed = errors.New("the booking's workflow has closed")

// closedOr turns the SDK's errors for a closed run into ErrClosed.
func closedOr(err error) error {
	var nf *serviceerror.NotFound
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	if errors.As(err, &nf) || errors.As(err, &started) {
		return fmt.Errorf("%w: %w", ErrClosed, err)
	}
	return err
}

// startOptions are the options of a run in in.Mode. A new booking's run is started with
// reject-duplicate, so a retried start can never begin a second saga, and conflict policy
// use-existing, so an Update-with-Start attaches to the run that is already there. A run in
// ModeConfirmed or ModeRepair follows one that has closed and is allowed to. The search
// attributes and the summary are set here, once, for the web UI.
func (d *Door) startOptions(in BookingInput) client.StartWorkflowOptions {
	reuse := enums.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE
	switch in.Mode {
	case ModeConfirmed:
		reuse = enums.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE
	case ModeRepair:
		reuse = enums.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY
	}
	status := in.Status
	if status == "" {
		status = StatusPending
	}
	return client.StartWorkflowOptions{
		ID:                       WorkflowID(in.BookingID),
		TaskQueue:                d.taskQueue,
		WorkflowIDReusePolicy:    reuse,
		WorkflowIDConflictPolicy: enums.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		TypedSearchAttributes: temporal.NewSearchAttributes(
			BookingIDKey.ValueSet(in.BookingID),
			EventIDKey.ValueSet(in.EventID),
			UserIDKey.ValueSet(in.UserID),
			BookingStatusKey.ValueSet(status),
			SeatCountKey.ValueSet(int64(in.Places())),
		),
		StaticSummary: fmt.Sprintf("%s · %s · %s", in.EventName, placesSummary(in), money.Format(in.AmountMinor, in.Currency)),
		StaticDetails: fmt.Sprintf("Booking %s by user %s (%s)", in.BookingID, in.UserID, in.UserEmail),
	}
}

// placesSummary words what a booking holds for the web UI: "seats A-1-1, A-1-2", "PIT × 2",
// or both.
func placesSummary(in BookingInput) string {
	var parts []string
	if len(in.SeatIDs) > 0 {
		parts = append(parts, "seats "+strings.Join(in.SeatIDs, ", "))
	}
	for _, q := range in.Quantities {
		parts = append(parts, fmt.Sprintf("%s × %d", q.Section, q.Quantity))
	}
	return strings.Join(parts, ", ")
}

// Start starts a booking's run in in.Mode; a run that is already there is left alone (nil).
func (d *Door) Start(ctx context.Context, in BookingInput) error {
	_, err := d.temporal.ExecuteWorkflow(ctx, d.startOptions(in), BookingWorkflowName, in)
	return err
}

// AskHold hands a new booking whose seat decision is unknown to its workflow (starting it if need
// be) and waits for the workflow's decision (the "hold" update). ErrClosed when the run has
// closed: it decided already, and the record says how.
func (d *Door) AskHold(ctx context.Context, in BookingInput) (HoldResult, error) {
	var res HoldResult
	err := d.updateWithStart(ctx, in, UpdateHold, UpdateHold, &res)
	return res, err
}

// Cancel asks a booking's workflow to cancel the booking (the "cancel" update), starting a run in
// in.Mode when none is open, and returns the status it ended with. ErrCannotCancel when the
// workflow refuses (the booking has ended); ErrClosed when the run has closed and in.Mode allows
// no new one.
func (d *Door) Cancel(ctx context.Context, in BookingInput) (CancelResult, error) {
	var res CancelResult
	err := d.updateWithStart(ctx, in, "", UpdateCancel, &res)
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) && appErr.Type() == ErrNotCancellable {
		return res, fmt.Errorf("%w: %w", ErrCannotCancel, err)
	}
	return res, err
}

// ErrCannotCancel is Cancel's answer when the workflow refuses the cancel: the booking has ended.
var ErrCannotCancel = errors.New("the booking cannot be cancelled")

// Repair starts a run that takes up a booking whose latest run closed abnormally (terminated,
// timed out, failed or cancelled), in in.Mode (ModeRepair, or ModeConfirmed for a CONFIRMED
// booking): only a run that follows an abnormal close may start.
func (d *Door) Repair(ctx context.Context, in BookingInput) error {
	opts := d.startOptions(in)
	opts.WorkflowIDReusePolicy = enums.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY
	_, err := d.temporal.ExecuteWorkflow(ctx, opts, BookingWorkflowName, in)
	return err
}

// updateWithStart sends the update (starting the run in in.Mode when none is open) and waits for
// its result. An answer Temporal may give otherwise a moment later (notReadyYet) is asked again
// until ctx ends, so that the caller's whole budget is spent waiting for the decision rather than
// on the first refusal. Callers give ctx a deadline (the booking service: 12 s for the hold,
// 30 s for a cancel). Every attempt carries one update id (updateID, or one drawn here), so an
// update that reached the run before its answer was lost is not made twice: Temporal answers a
// repeated id with the first update's outcome.
func (d *Door) updateWithStart(ctx context.Context, in BookingInput, updateID, update string, result any) error {
	if updateID == "" {
		updateID = ids.New()
	}
	backoff := updateRetryFirst
	for {
		err := d.updateWithStartOnce(ctx, in, updateID, update, result)
		if !notReadyYet(err) || ctx.Err() != nil {
			return closedOr(err)
		}
		select {
		case <-ctx.Done():
			return closedOr(err)
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, updateRetryMax)
	}
}

// The pause before an update refused for now is sent again: doubling from updateRetryFirst up to
// updateRetryMax.
const (
	updateRetryFirst = 100 * time.Millisecond
	updateRetryMax   = time.Second
)

func (d *Door) updateWithStartOnce(ctx context.Context, in BookingInput, updateID, update string, result any) error {
	handle, err := d.temporal.UpdateWithStartWorkflow(ctx, client.UpdateWithStartWorkflowOptions{
		StartWorkflowOperation: d.temporal.NewWithStartWorkflowOperation(d.startOptions(in), BookingWorkflowName, in),
		UpdateOptions: client.UpdateWorkflowOptions{
			UpdateID:     updateID,
			UpdateName:   update,
			WaitForStage: client.WorkflowUpdateStageCompleted,
		},
	})
	if err == nil {
		err = handle.Get(ctx, result)
	}
	return err
}

// notReadyYet reports whether err is an update's refusal that says nothing about the booking and
// may be gone a moment later: the run's workflow task is failing or timed out and not yet retried
// (WorkflowNotReady, "Workflow Task in failed state": Temporal admits no update until a workflow
// task completes again — after a worker's poll answer was lost, for one workflow task timeout),
// the server unavailable or busy. make chaos's lost replies shows these refusals in the booking
// service's log; answered at once as a 503 each, they can use up a client's quick retries (one
// buyer of a run was answered 503 on all 20 attempts) while the hold is decided moments later.
func notReadyYet(err error) bool {
	var notReady *serviceerror.WorkflowNotReady
	var unavailable *serviceerror.Unavailable
	var busy *serviceerror.ResourceExhausted
	return errors.As(err, &notReady) || errors.As(err, &unavailable) || errors.As(err, &busy)
}

// SignalPayment hands a payment result to the booking's workflow ("payment-result"); ErrClosed
// when the run has closed.
func (d *Door) SignalPayment(ctx context.Context, bookingID string, r PaymentResult) error {
	return closedOr(d.temporal.SignalWorkflow(ctx, WorkflowID(bookingID), "", SignalPaymentResult, r))
}

// ClosedAbnormally calls fn with the booking id of every booking workflow whose latest run closed
// terminated, timed out, failed or cancelled since since (all of them when since is zero), as
// Temporal's visibility store lists them, a page at a time.
func (d *Door) ClosedAbnormally(ctx context.Context, since time.Time, fn func(bookingID string)) error {
	query := fmt.Sprintf(`WorkflowType = %q AND ExecutionStatus IN ("Terminated", "TimedOut", "Failed", "Canceled")`,
		BookingWorkflowName)
	if !since.IsZero() {
		query += fmt.Sprintf(` AND CloseTime > %q`, since.UTC().Format(time.RFC3339Nano))
	}
	return d.list(ctx, query, func(workflowID string) {
		if id, ok := BookingIDOf(workflowID); ok {
			fn(id)
		}
	})
}

// LatestClosedAbnormally reports whether the latest run of the booking's workflow closed
// terminated, timed out, failed or cancelled (and so left its booking without a decider).
func (d *Door) LatestClosedAbnormally(ctx context.Context, bookingID string) (bool, string, error) {
	desc, err := d.temporal.DescribeWorkflowExecution(ctx, WorkflowID(bookingID), "")
	if err != nil {
		return false, "", err
	}
	switch st := desc.GetWorkflowExecutionInfo().GetStatus(); st {
	case enums.WORKFLOW_EXECUTION_STATUS_TERMINATED, enums.WORKFLOW_EXECUTION_STATUS_TIMED_OUT,
		enums.WORKFLOW_EXECUTION_STATUS_FAILED, enums.WORKFLOW_EXECUTION_STATUS_CANCELED:
		return true, st.String(), nil
	default:
		return false, st.String(), nil
	}
}

// list pages through the ids of the runs of the namespace that query selects.
func (d *Door) list(ctx context.Context, query string, fn func(workflowID string)) error {
	var token []byte
	for {
		resp, err := d.temporal.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Namespace: d.namespace, PageSize: 200, NextPageToken: token, Query: query})
		if err != nil {
			return err
		}
		for _, ex := range resp.GetExecutions() {
			fn(ex.GetExecution().GetWorkflowId())
		}
		if token = resp.GetNextPageToken(); len(token) == 0 {
			return nil
		}
	}
}

// CountOpen counts the open runs of the namespace that match query (a visibility query, ANDed
// with ExecutionStatus="Running").
func (d *Door) CountOpen(ctx context.Context, query string) (int64, error) {
	resp, err := d.temporal.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{
		Namespace: d.namespace, Query: `ExecutionStatus = "Running" AND (` + query + `)`})
	if err != nil {
		return 0, err
	}
	return resp.GetCount(), nil
}
