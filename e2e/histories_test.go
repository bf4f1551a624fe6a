//go:build histories

package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"ticketflow/workflows"
)

// TestExportHistories drives one booking down each path of the saga on the real stack and writes
// its history, as `temporal workflow show --output json` exports it, to workflows/testdata, where
// the replay tests read them. Run it with `make histories` after a change that is versioned, to
// add the new shape of history next to the old ones (keep the old ones: they are what running
// workflows look like).
func TestExportHistories(t *testing.T) {
	cfg := loadConfig(t)
	out := filepath.Join("..", "workflows", "testdata")
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
	// Seats unavailable at the hold: buyers race for one seat until one loses at the hold itself
	// (most are turned away before a saga starts, without a booking).
	unavailable := ""
	for seat := 6; seat <= 10 && unavailable == ""; seat++ {
		var wg sync.WaitGroup
		var mu sync.Mutex
		for i := 0; i < 8; i++ {
			racer, _ := register(t)
			wg.Add(1)
			go func() {
				defer wg.Done()
				var refused struct {
					Error struct{ Details map[string]any }
				}
				r := book(racer, e.ID, []string{fmt.Sprintf("FLOOR-A-%d", seat)}, "tok_chargeDeclined")
				if r.status == 409 {
					r.decode(t, &refused)
					if id, ok := refused.Error.Details["bookingId"].(string); ok {
						mu.Lock()
						unavailable = id
						mu.Unlock()
					}
				}
			}()
		}
		wg.Wait()
	}
	if unavailable == "" {
		t.Fatal("no buyer lost at the hold itself")
	}
	for _, p := range paths {
		waitStatus(t, c, ids[p.name], p.want, cfg.HoldTTL+30*time.Second)
		export(p.name, workflows.WorkflowID(ids[p.name]))
	}
	time.Sleep(2 * time.Second)
	export("seats-unavailable", workflows.WorkflowID(unavailable))
	// Cancel after confirmation: the separate workflow.
	c.expect(200, "POST", "/api/bookings/"+ids["confirmed"]+"/cancel", nil, nil)
	export("cancel-confirmed", workflows.CancelWorkflowID(ids["confirmed"]))
}
