//go:build histories

package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"go.temporal.io/api/enums/v1"
	tclient "go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"ticketflow/internal/config"
	"ticketflow/internal/ids"
	"ticketflow/internal/lifecycle"
	"ticketflow/services/inventory"
	"ticketflow/workflows"
)

// TestExportHistories drives one booking down each path of the saga on the real stack and writes
// its history, as `temporal workflow show --output json` exports it, to workflows/testdata, where
// the replay tests read them. Run it with `make histories` after a change that is versioned, to
// add the new shape of history next to the old ones (keep the old ones: they are what running
// workflows look like).
func TestExportHistories(t *testing.T) {
	cfg := loadConfig(t)
	out := filepath.Join("..", "workflows", "testdata", fmt.Sprintf("v%d", workflows.HistoryGeneration))
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	export := func(name, workflowID string) {
		cmd := exec.Command(filepath.Join(cfg.ToolsDir, "bin", "temporal"), "workflow", "show",
			"--address", cfg.TemporalAddr, "--namespace", cfg.TemporalNS, "-w", workflowID, "--output", "json")
		raw, err := cmd.Output()
		if err != nil {
			t.Fatalf("export %s: %v", workflowID, err)
		}
		if err := os.WriteFile(filepath.Join(out, name+".json"), raw, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	e := newEvent(t, 10, 1500)
	c, _ := register(t)
	paths := []struct {
		name, token, want string
		seats             []string
		cancel            bool
	}{
		{"confirmed", "tok_visa", "CONFIRMED", []string{"FLOOR-A-1", "FLOOR-A-2"}, false},
		{"declined", "tok_chargeDeclined", "FAILED", []string{"FLOOR-A-3"}, false},
		{"expired", "tok_noResponse", "EXPIRED", []string{"FLOOR-A-4"}, false},
		{"cancelled-pending", "tok_noResponse", "CANCELLED", []string{"FLOOR-A-5"}, true},
	}
	ids := map[string]string{}
	for _, p := range paths {
		var b booking
		r := book(c, e.ID, p.seats, p.token)
		r.decode(t, &b)
		if p.cancel {
			c.expect(200, "POST", "/api/bookings/"+b.ID+"/cancel", nil, nil)
		}
		ids[p.name] = b.ID
	}
	// Seats unavailable at the hold. The booking service turns away most such buyers before a
	// booking exists; the ones who lose at the hold itself lost a race between their quote and
	// their hold, and their workflow records the refusal. The exporter makes that case directly:
	// a stored booking for a sold seat whose hold outcome was unknown, handed to its workflow with
	// Update-with-Start as the booking service does.
	unavailable := loseAtTheHold(t, e.ID, "FLOOR-A-1")
	// Cancelled and terminated in Temporal, as an operator would in the web UI.
	tc := temporalClient(t)
	var inTemporal, terminated booking
	book(c, e.ID, []string{"FLOOR-A-6"}, "tok_noResponse").decode(t, &inTemporal)
	book(c, e.ID, []string{"FLOOR-A-7"}, "tok_noResponse").decode(t, &terminated)
	time.Sleep(time.Second)
	if err := tc.CancelWorkflow(t.Context(), lifecycle.WorkflowID(inTemporal.ID), ""); err != nil {
		t.Fatal(err)
	}
	if err := tc.TerminateWorkflow(t.Context(), lifecycle.WorkflowID(terminated.ID), "", "histories"); err != nil {
		t.Fatal(err)
	}
	for _, p := range paths {
		waitStatus(t, c, ids[p.name], p.want, cfg.HoldTTL+30*time.Second)
		export(p.name, lifecycle.WorkflowID(ids[p.name]))
	}
	waitStatus(t, c, inTemporal.ID, "CANCELLED", time.Minute)
	waitStatus(t, c, terminated.ID, "FAILED", 2*time.Minute) // the reconciler's repair run
	time.Sleep(2 * time.Second)
	export("seats-unavailable", lifecycle.WorkflowID(unavailable))
	export("cancelled-in-temporal", lifecycle.WorkflowID(inTemporal.ID))
	export("repaired-after-terminate", lifecycle.WorkflowID(terminated.ID))
	// A CONFIRMED booking whose run was terminated, taken up by the reconciler's run (generation
	// 10 completes the confirmation: tickets, booking.confirmed unless already published).
	var takenUp booking
	book(c, e.ID, []string{"FLOOR-A-8"}, "tok_visa").decode(t, &takenUp)
	waitStatus(t, c, takenUp.ID, "CONFIRMED", time.Minute)
	d, err := tc.DescribeWorkflowExecution(t.Context(), lifecycle.WorkflowID(takenUp.ID), "")
	if err != nil {
		t.Fatal(err)
	}
	firstRun := d.WorkflowExecutionInfo.Execution.RunId
	if err := tc.TerminateWorkflow(t.Context(), lifecycle.WorkflowID(takenUp.ID), firstRun, "histories"); err != nil {
		t.Fatal(err)
	}
	waitTakenUp(t, tc, lifecycle.WorkflowID(takenUp.ID), firstRun)
	export("confirmed-taken-up", lifecycle.WorkflowID(takenUp.ID))
	// Cancel after confirmation: the booking's own workflow, open until the event, does it.
	c.expect(200, "POST", "/api/bookings/"+ids["confirmed"]+"/cancel", nil, nil)
	time.Sleep(2 * time.Second)
	export("cancel-confirmed", lifecycle.WorkflowID(ids["confirmed"]))
}

func loseAtTheHold(t *testing.T, eventID, seat string) string {
	cfg := loadConfig(t)
	ctx := t.Context()
	id := ids.New()
	conn, err := pgx.Connect(ctx, cfg.PostgresDSN(config.BookingsDB))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	until := time.Now().Add(cfg.HoldTTL).UTC()
	if _, err := conn.Exec(ctx, `INSERT INTO bookings (id, user_id, user_email, event_id, event_name, seat_ids,
		amount_minor, currency, status, hold_expires_at) VALUES ($1, 'late-buyer', 'late@example.com', $2, 'export',
		$3, 1500, 'EUR', 'PENDING', $4)`, id, eventID, []string{seat}, until); err != nil {
		t.Fatal(err)
	}
	tc, err := tclient.Dial(tclient.Options{HostPort: cfg.TemporalAddr, Namespace: cfg.TemporalNS})
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	in := lifecycle.BookingInput{BookingID: id, UserID: "late-buyer", UserEmail: "late@example.com", EventID: eventID,
		EventName: "export", SeatIDs: []string{seat}, AmountMinor: 1500, Currency: "EUR", PaymentToken: "tok_visa",
		HoldExpiresAt: until}
	start := tc.NewWithStartWorkflowOperation(tclient.StartWorkflowOptions{ID: lifecycle.WorkflowID(id),
		TaskQueue: cfg.TaskQueue, WorkflowIDConflictPolicy: enums.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		TypedSearchAttributes: temporal.NewSearchAttributes(lifecycle.BookingIDKey.ValueSet(id),
			lifecycle.EventIDKey.ValueSet(eventID), lifecycle.BookingStatusKey.ValueSet(lifecycle.StatusPending))},
		lifecycle.BookingWorkflowName, in)
	h, err := tc.UpdateWithStartWorkflow(ctx, tclient.UpdateWithStartWorkflowOptions{StartWorkflowOperation: start,
		UpdateOptions: tclient.UpdateWorkflowOptions{UpdateID: lifecycle.UpdateHold, UpdateName: lifecycle.UpdateHold,
			WaitForStage: tclient.WorkflowUpdateStageCompleted}})
	if err != nil {
		t.Fatal(err)
	}
	var res lifecycle.HoldResult
	if err := h.Get(ctx, &res); err != nil || res.Code != inventory.CodeSeatsUnavailable {
		t.Fatalf("hold of a sold seat: %+v %v", res, err)
	}
	if err := tc.GetWorkflow(ctx, lifecycle.WorkflowID(id), "").Get(ctx, nil); err != nil {
		t.Fatal(err)
	}
	return id
}
