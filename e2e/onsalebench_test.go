//go:build integration

package e2e

import (
	"bytes"
	"context"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"ticketflow/tools/bench"
)

// The on-sale benchmark, small: its waiting crowd runs in a process of its own at the lowest
// priority and hands the buyers it lets in to the bench, which books for them; the report has
// every figure, the crowd's CPU among the sale's, and the audit's zeros.
func TestOnSaleBenchRunsItsCrowdApartAndPrintsEveryFigure(t *testing.T) {
	t.Parallel()
	cfg := loadConfig(t)
	dev, err := filepath.Abs("../bin/ticketflow-dev")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	var progress lockedBuffer
	res, err := bench.OnSale(ctx, cfg, bench.OnSaleOptions{Seats: 20, Buyers: 40, EarlyFor: 4 * time.Second,
		LateFor: 2 * time.Second, MaxSeats: 2, PollShare: 0.5, SaleFor: time.Minute, Drain: time.Minute,
		CrowdNice: bench.CrowdNice, CrowdBinary: dev}, &progress)
	if err != nil {
		t.Fatalf("%v\n%s", err, progress.String())
	}
	if res.Joined != 40 || res.Admitted == 0 || res.Booked == 0 {
		t.Fatalf("joined %d, admitted %d, booked %d: want all 40 joined and some let in and booked\n%s",
			res.Joined, res.Admitted, res.Booked, progress.String())
	}
	if _, ok := res.SaleCPU["load generator (crowd)"]; !ok {
		t.Fatalf("the sale's CPU has no crowd process: %v", res.SaleCPU)
	}
	var out bytes.Buffer
	res.Print(&out)
	text := strings.TrimSpace(out.String())
	lines := strings.Split(text, "\n")
	re := regexp.MustCompile(`^bench: admitted_p99_decision_ms=[0-9]+ admitted_p99_confirmed_ms=[0-9]+ waiting_peak=[0-9]+ position_fresh_p99_ms=[0-9]+ position_fresh_poll_p99_ms=[0-9]+ fair_after_open=[0-9.]+ early_order_rank_corr=-?[0-9.]+ oversold=0 double_charged=0 stuck=0 cpu_ms_per_waiting_buyer_min=[0-9.]+ admitted=[0-9]+ sold_out_s=[0-9.]+$`)
	if last := lines[len(lines)-1]; !re.MatchString(last) {
		t.Fatalf("last line %q is not the machine-readable line with zero oversold, double charges and stuck:\n%s", last, text)
	}
}
