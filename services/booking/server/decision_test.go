package server

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"ticketflow/activities"
	"ticketflow/internal/httpapi"
	"ticketflow/services/inventory"
)

// The seat decision has one translation (inventory.Decision): a refusal the request path meets and
// the same refusal the workflow meets when it holds (its DecideHold activity, asked when the
// request could not tell) give the buyer the same answer. Each inventory answer below is written
// as the inventory service writes it.
func TestTheRequestAndTheWorkflowAnswerTheSameCodeForTheSameCause(t *testing.T) {
	const bookingID = "5f8e0a7c-2a3b-4c5d-8e9f-0a1b2c3d4e5f"
	cases := []struct {
		cause      string
		answer     *httpapi.Error
		wantStatus int
		wantCode   string
		wantMsg    string
	}{
		{"no seat plan", httpapi.NotFound("event"), 404, "NOT_FOUND", "event not found"},
		{"unknown seat", httpapi.NotFound("seat").WithDetails(map[string]any{"unknownSeatIds": []string{"X-1"}}),
			404, "NOT_FOUND", "seat not found"},
		{"seats taken", httpapi.Conflict(inventory.CodeSeatsUnavailable, "some seats are not available").
			WithDetails(map[string]any{"unavailableSeatIds": []string{"A-1"}}), 409, inventory.CodeSeatsUnavailable, ""},
		{"buyer limit", httpapi.Conflict(inventory.CodeBuyerLimit, "a buyer may have at most 2 seats").
			WithDetails(map[string]any{"limit": 2, "live": 2}), 409, inventory.CodeBuyerLimit, ""},
	}
	for _, c := range cases {
		t.Run(c.cause, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				httpapi.WriteError(w, r, c.answer)
			}))
			defer srv.Close()
			client := inventory.NewClient([]string{srv.URL}, "", time.Second)
			until := time.Now().Add(time.Minute)
			req := activities.SeatsRequest{BookingID: bookingID, EventID: "e", SeatIDs: []string{"A-1"}, HoldUntil: until}

			// The request path: the hold's answer, translated.
			holdErr := client.Hold(context.Background(), inventory.HoldRequest{BookingID: bookingID, EventID: "e",
				SeatIDs: []string{"A-1"}, HoldUntil: until})
			fromRequest := decisionError(inventory.Decision(holdErr, until), bookingID)
			// The workflow's path: its activity's decision, as the booking service answers it.
			d, err := (&activities.Activities{Inventory: client}).DecideHold(context.Background(), req)
			if err != nil {
				t.Fatalf("DecideHold: %v (a refusal is a decision, not an error)", err)
			}
			fromWorkflow := decisionError(d, bookingID)

			for path, e := range map[string]error{"request": fromRequest, "workflow": fromWorkflow} {
				var he *httpapi.Error
				if !errors.As(e, &he) || he.Status != c.wantStatus || he.Code != c.wantCode || (c.wantMsg != "" && he.Message != c.wantMsg) {
					t.Errorf("%s path: %v, want %d %s %q", path, e, c.wantStatus, c.wantCode, c.wantMsg)
				}
			}
		})
	}
}
