//go:build integration

package e2e

import (
	"context"
	"os"
	"testing"
	"time"

	"ticketflow/tools/chaos"
)

// The short form of `make chaos`: fewer bookings (a share of them of places of the event's
// general-admission area, some beside a seat), every process killed once.
func TestChaosShort(t *testing.T) {
	cfg := loadConfig(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	res, err := chaos.Run(ctx, cfg, chaos.Options{Bookings: 40, Seats: 40, Places: 15, AreaShare: 0.4, Concurrency: 8, Kills: chaos.DefaultKills,
		KillEvery: 2 * time.Second, Decline: 0.15, NoResponse: 0.1, Cancel: 0.15, Drain: cfg.HoldTTL + 3*time.Minute}.WithFaults(), os.Stdout)
	if err != nil {
		t.Fatal(err)
	}
	res.Print(os.Stdout)
	if !res.Passed() {
		t.Fatal("chaos run failed a check (table above)")
	}
}
