//go:build integration

package e2e

import (
	"bytes"
	"context"
	"io"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"ticketflow/tools/bench"
)

// A small `make bench`: every figure the issue asks for is printed, the last line is the
// machine-readable one, and the sale's correctness figures are zero.
func TestBenchPrintsEveryFigure(t *testing.T) {
	cfg := loadConfig(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var progress lockedBuffer // the progress lines are written from their own goroutine
	res, err := bench.Run(ctx, cfg, bench.Options{Seats: 40, Buyers: 60, Concurrency: 8, MaxSeats: 4,
		Drain: time.Minute, Ceiling: 10, ReadFor: time.Second, ReadConc: 4, IdleFor: time.Second}, &progress)
	if err != nil {
		t.Fatal(err)
	}
	// While it works, a line per phase at least every second or two: phase, done/total, rate.
	for _, want := range []string{"bench create the event and its seats: 1/1 events", "bench sale: 60/60 buyers (",
		"bench drain: ", "bench ceiling: 10/10 bare workflows (",
		"bench physical limit: the hold transaction alone on PostgreSQL: 60/60 holds (", "bench seat-map reads through the stack's gateway"} {
		if !strings.Contains(progress.String(), want) {
			t.Errorf("no progress line %q:\n%s", want, progress.String())
		}
	}
	var out bytes.Buffer
	res.Print(&out)
	text := out.String()
	for _, want := range []string{"attempts", "confirmed", "seats sold", "answers by code", "POST (decision)",
		"POST→CONFIRMED", "oversold seats", "ceiling", "trivial", "idle stack:",
		"physical limit (the hold transaction alone on PostgreSQL", "the sale's decisions/s are"} {
		if !strings.Contains(text, want) {
			t.Errorf("the report lacks %q:\n%s", want, text)
		}
	}
	lines := strings.Split(strings.TrimSpace(text), "\n")
	last := lines[len(lines)-1]
	re := regexp.MustCompile(`^bench: confirmed_per_s=[0-9.]+ ceiling_per_s=[0-9.]+ ratio=[0-9.]+ oversold=0 double_charged=0 stuck=0 p99_decision_ms=[0-9]+ p99_confirmed_ms=[0-9]+ seatmap_ratio=[0-9.]+ hold_limit_per_s=[0-9.]+ p99_hold_limit_ms=[0-9]+ decision_ratio=[0-9.]+ cpu_ms_per_booking=[0-9.]+ ticket_ms_per_booking=[0-9.]+ idle_ms_per_s=[0-9.]+ events_per_booking=[0-9.]+ round_trips_per_booking=[0-9.]+ server=(dev|full)$`)
	if !re.MatchString(last) {
		t.Fatalf("last line %q is not the machine-readable line with zero oversold, double charges and stuck", last)
	}
	if res.Confirmed == 0 || res.Attempts != 60 {
		t.Fatalf("attempts %d, confirmed %d", res.Attempts, res.Confirmed)
	}
	// The physical-limit loop makes as many decisions as the sale, and holds seats on its own event.
	if res.Limit.Attempts != 60 || res.Limit.Held == 0 || res.Limit.PerS() <= 0 {
		t.Fatalf("physical limit: %d decisions, %d held, %.1f/s", res.Limit.Attempts, res.Limit.Held, res.Limit.PerS())
	}
}

// lockedBuffer is a bytes.Buffer safe for concurrent writers.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// `bench --general-admission`, small: the sale on one area sells it out exactly (never more places
// than it holds), and the machine-readable line says oversold=0 — which counts what the audit of
// the areas finds wrong too.
func TestBenchGeneralAdmissionSellsAnAreaExactly(t *testing.T) {
	cfg := loadConfig(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	res, err := bench.Run(ctx, cfg, bench.Options{Seats: 30, Buyers: 40, Concurrency: 8, MaxSeats: 2, GeneralAdmission: true,
		Drain: time.Minute, Ceiling: 5, ReadFor: time.Second, ReadConc: 2, IdleFor: time.Second}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	res.Print(&out)
	text := out.String()
	lines := strings.Split(strings.TrimSpace(text), "\n")
	if last := lines[len(lines)-1]; !strings.Contains(last, " oversold=0 double_charged=0 stuck=0 ") {
		t.Fatalf("last line %q", last)
	}
	p := res.Audit.Places
	if p.Areas != 1 || p.Capacity != 30 || p.Sold == 0 || p.Sold > 30 || p.Wrong() != 0 || !strings.Contains(text, "places sold") {
		t.Fatalf("places %+v\n%s", p, text)
	}
	if res.Limit.Attempts != 40 || res.Limit.Places == 0 {
		t.Fatalf("the physical limit on an area: %+v", res.Limit)
	}
}
