package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"ticketflow/internal/seatplan"
)

// The workflow's summary line in the Temporal UI shows the amount as every other place does.
func TestWorkflowSummaryShowsMoneyByTheCurrencysExponent(t *testing.T) {
	d := NewDoor(nil, "q", "default")
	for _, c := range []struct {
		minor    int64
		currency string
		want     string
	}{
		{1500, "JPY", "Gig · seats A-1 · 1500 JPY"},
		{1500, "EUR", "Gig · seats A-1 · 15.00 EUR"},
		{1500, "KWD", "Gig · seats A-1 · 1.500 KWD"},
	} {
		in := BookingInput{BookingID: "b", EventName: "Gig", SeatIDs: []string{"A-1"}, AmountMinor: c.minor, Currency: c.currency}
		if got := d.startOptions(in).StaticSummary; got != c.want {
			t.Errorf("summary %q, want %q", got, c.want)
		}
	}
}

// A general-admission booking's summary and SeatCount say its places too.
func TestWorkflowSummaryAndSeatCountCountPlaces(t *testing.T) {
	d := NewDoor(nil, "q", "default")
	in := BookingInput{BookingID: "b", EventName: "Gig", SeatIDs: []string{"A-1"}, AmountMinor: 1500, Currency: "EUR",
		Quantities: []seatplan.Quantity{{Section: "PIT", Quantity: 2}}}
	opts := d.startOptions(in)
	if want := "Gig · seats A-1, PIT × 2 · 15.00 EUR"; opts.StaticSummary != want {
		t.Errorf("summary %q, want %q", opts.StaticSummary, want)
	}
	if n, ok := opts.TypedSearchAttributes.GetInt64(SeatCountKey); !ok || n != 3 {
		t.Errorf("SeatCount %d, want 3", n)
	}
}

// refusingTemporal answers the hold update with refuse for its first refusals calls, then with a
// hold; the rest of client.Client is not used by AskHold.
type refusingTemporal struct {
	client.Client
	refuse    error
	refusals  int
	calls     int
	updateIDs map[string]bool
}

func (f *refusingTemporal) NewWithStartWorkflowOperation(client.StartWorkflowOptions, any, ...any) client.WithStartWorkflowOperation {
	return nil
}

func (f *refusingTemporal) UpdateWithStartWorkflow(_ context.Context, opts client.UpdateWithStartWorkflowOptions) (client.WorkflowUpdateHandle, error) {
	f.calls++
	if f.updateIDs == nil {
		f.updateIDs = map[string]bool{}
	}
	f.updateIDs[opts.UpdateOptions.UpdateID] = true
	if f.refusals < 0 || f.calls <= f.refusals {
		return nil, fmt.Errorf("failed workflow update: %w", f.refuse)
	}
	return heldHandle{}, nil
}

type heldHandle struct{ client.WorkflowUpdateHandle }

func (heldHandle) Get(_ context.Context, v any) error {
	*v.(*HoldResult) = HoldResult{Held: true, Code: HoldOK}
	return nil
}

var failedTask = serviceerror.NewWorkflowNotReady("Unable to perform workflow execution update due to Workflow Task in failed state.")

// While the run's workflow task is failing or timed out, Temporal refuses updates at once
// (WorkflowNotReady); the door asks again within the caller's deadline and returns the decision.
func TestAskHoldWaitsOutAWorkflowTaskInFailedState(t *testing.T) {
	for _, refuse := range []error{failedTask, serviceerror.NewUnavailable("connection reset")} {
		f := &refusingTemporal{refuse: refuse, refusals: 3}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		res, err := NewDoor(f, "q", "default").AskHold(ctx, BookingInput{BookingID: "b"})
		cancel()
		if err != nil || !res.Held {
			t.Errorf("after %d refusals (%T): %+v, %v; want the workflow's hold", f.refusals, refuse, res, err)
		}
		if f.calls != 4 {
			t.Errorf("%d update calls, want 4 (3 refused, then answered)", f.calls)
		}
	}
}

// Refusals that last past the caller's deadline end with the refusal (the caller answers 503 and
// the buyer retries), not sooner and not much later.
func TestAskHoldGivesUpAtTheCallersDeadline(t *testing.T) {
	f := &refusingTemporal{refuse: failedTask, refusals: -1}
	ctx, cancel := context.WithTimeout(context.Background(), 700*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := NewDoor(f, "q", "default").AskHold(ctx, BookingInput{BookingID: "b"})
	took := time.Since(start)
	var notReady *serviceerror.WorkflowNotReady
	if !errors.As(err, &notReady) || errors.Is(err, ErrClosed) {
		t.Errorf("err %v, want the WorkflowNotReady refusal", err)
	}
	if took < 600*time.Millisecond || took > 2*time.Second || f.calls < 3 {
		t.Errorf("gave up after %s and %d calls; want about the 700 ms deadline, several calls", took, f.calls)
	}
}

// A closed run is ErrClosed at once: nothing to wait for.
func TestAskHoldOfAClosedRunIsErrClosedAtOnce(t *testing.T) {
	f := &refusingTemporal{refuse: serviceerror.NewNotFound("workflow execution already completed"), refusals: -1}
	_, err := NewDoor(f, "q", "default").AskHold(context.Background(), BookingInput{BookingID: "b"})
	if !errors.Is(err, ErrClosed) || f.calls != 1 {
		t.Errorf("err %v after %d calls, want ErrClosed after 1", err, f.calls)
	}
}

// A cancel asked again after a refusal carries the first attempt's update id, so a cancel that
// reached the run before its answer was lost is answered, not made a second time.
func TestACancelAskedAgainKeepsItsUpdateID(t *testing.T) {
	f := &refusingTemporal{refuse: serviceerror.NewUnavailable("connection reset"), refusals: -1}
	ctx, cancel := context.WithTimeout(context.Background(), 400*time.Millisecond)
	defer cancel()
	_, _ = NewDoor(f, "q", "default").Cancel(ctx, BookingInput{BookingID: "b"})
	if f.calls < 2 || len(f.updateIDs) != 1 || f.updateIDs[""] {
		t.Errorf("%d attempts with update ids %v; want several attempts with one non-empty id", f.calls, f.updateIDs)
	}
}
