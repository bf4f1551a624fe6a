package workflows_test

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/log"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"ticketflow/activities"
	"ticketflow/internal/lifecycle"
	"ticketflow/worker"
	"ticketflow/workflows"
)

var quiet = log.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))

// Every committed history — one per path of the saga, recorded on the real stack — must replay
// against the current workflow code. A change that breaks one needs workflow.GetVersion.
func TestCommittedHistoriesReplay(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "v*", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		t.Run(filepath.Base(filepath.Dir(f))+"/"+filepath.Base(f), func(t *testing.T) {
			r, err := worker.NewReplayer()
			if err != nil {
				t.Fatal(err)
			}
			if err := r.ReplayWorkflowHistoryFromJSONFile(quiet, f); err != nil {
				t.Fatalf("%s does not replay: %v", f, err)
			}
		})
	}
	latest, _ := filepath.Glob(filepath.Join("testdata", fmt.Sprintf("v%d", workflows.HistoryGeneration), "*.json"))
	if len(latest) < 6 {
		t.Fatalf("expected a history per saga path for generation %d (make histories), found %v", workflows.HistoryGeneration, latest)
	}
}

// unversionedChange is BookingWorkflow with a step added before the hold and no GetVersion: what
// a careless edit looks like. Replaying an old history against it must fail.
func unversionedChange(ctx workflow.Context, in lifecycle.BookingInput) (lifecycle.BookingState, error) {
	var a *activities.Activities
	ctx = workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{StartToCloseTimeout: time.Second})
	if err := workflow.ExecuteLocalActivity(ctx, a.ReleaseSeats, activities.SeatsRequest{BookingID: in.BookingID}).Get(ctx, nil); err != nil {
		return lifecycle.BookingState{}, err
	}
	return workflows.BookingWorkflow(ctx, in)
}

func TestAnUnversionedChangeFailsReplay(t *testing.T) {
	r := sdkworker.NewWorkflowReplayer()
	r.RegisterWorkflowWithOptions(unversionedChange, workflow.RegisterOptions{Name: lifecycle.BookingWorkflowName})
	err := r.ReplayWorkflowHistoryFromJSONFile(quiet, filepath.Join("testdata", "v1", "confirmed.json"))
	// TMPRL1100 is the SDK's non-determinism error.
	if err == nil || !strings.Contains(err.Error(), "TMPRL1100") {
		t.Fatalf("replaying against a changed workflow: err = %v, want a non-determinism error", err)
	}
}

// A confirmed booking is not woken again when its hold would have ended (generation 5): the wait
// for the payment cancels its timer, so the only timer left running is the wait for the event.
func TestAConfirmedBookingLeavesOnlyTheEventTimerRunning(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("testdata", fmt.Sprintf("v%d", workflows.HistoryGeneration), "confirmed.json"))
	if err != nil {
		t.Fatal(err)
	}
	var h struct {
		Events []struct {
			EventType string `json:"eventType"`
			Started   *struct {
				TimerID string `json:"timerId"`
			} `json:"timerStartedEventAttributes"`
			Ended *struct {
				TimerID string `json:"timerId"`
			} `json:"timerCanceledEventAttributes"`
			Fired *struct {
				TimerID string `json:"timerId"`
			} `json:"timerFiredEventAttributes"`
		} `json:"events"`
	}
	if err := json.Unmarshal(raw, &h); err != nil {
		t.Fatal(err)
	}
	running := map[string]bool{}
	for _, e := range h.Events {
		switch {
		case e.Started != nil:
			running[e.Started.TimerID] = true
		case e.Ended != nil:
			delete(running, e.Ended.TimerID)
		case e.Fired != nil:
			delete(running, e.Fired.TimerID)
		}
	}
	if len(running) != 1 {
		t.Fatalf("timers still running after confirmation: %v, want only the wait for the event", running)
	}
}
