// Package bench is `ticketflow-dev bench`, the flash-sale benchmark: thousands of buyers with tokens
// want the best seats of one event at once, through the gateway of the running stack. It measures
// the seat decision (POST) and POST→CONFIRMED, audits the outcome (no seat oversold, no double
// charge, nothing stuck), and in the same run measures the ceiling of the Temporal server (a bare
// workflow of three no-op activities at the same concurrency), the physical limit of the seat
// decision (the hold transaction alone on PostgreSQL) and the seat-map read path against
// a trivial handler behind the same gateway code.
package bench

import (
	"context"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"ticketflow/internal/auth"
	"ticketflow/internal/config"
	"ticketflow/internal/httpapi"
	"ticketflow/internal/ids"
	"ticketflow/tools/audit"
	"ticketflow/tools/devstack"
	"ticketflow/tools/loadgen"
	"ticketflow/tools/progress"
)

// Options shape a run.
type Options struct {
	Seats       int     // seats of the event
	Buyers      int     // buyers, each trying once
	Concurrency int     // buyers at once
	MaxSeats    int     // each buyer wants 1..MaxSeats seats
	Decline     float64 // share of buyers whose card is declined
	Drain       time.Duration
	Ceiling     int           // bare workflows for the ceiling (0: as many as bookings confirmed, at least 200)
	ReadFor     time.Duration // length of each read-path run
	ReadConc    int           // concurrency of the read-path runs
	ProfileDir  string        // when set, CPU profiles of the hot processes are written here
	IdleFor     time.Duration // how long the idle stack is measured before the sale (default 20 s)
	// GeneralAdmission sells the event's Seats as places of one general-admission area instead of
	// numbered seats: each buyer asks for 1..MaxSeats places by quantity.
	GeneralAdmission bool
}

// Result holds every figure the run prints.
type Result struct {
	Attempts, Accepted, Confirmed int
	Elapsed                       time.Duration // first POST to last answer
	ConfirmWindow                 time.Duration // first POST to last CONFIRMED
	Codes                         map[string]int
	Decision, ToConfirmed         []time.Duration
	Audit                         *audit.Report
	CeilingPerS                   float64
	SeatMap, Trivial, SeatMapGW   Rate
	Server                        ServerInfo
	SaleCost, CeilingCost         Cost // per confirmed booking; per ceiling workflow
	Limit                         HoldLimit
	// IdlePerS is the CPU every process of the stack used per second with no traffic (ms/s), over
	// IdleFor before the sale.
	IdlePerS float64
	IdleFor  time.Duration
}

// defaultIdleFor is how long the idle stack is measured.
const defaultIdleFor = 20 * time.Second

// historySample is how many histories of each kind the cost accounting reads.
const historySample = 50

// Rate is a read-path measurement.
type Rate struct {
	PerS     float64
	P50, P99 time.Duration
	Errors   int
}

// Run performs the benchmark against the stack of cfg.
func Run(ctx context.Context, cfg *devstack.Settings, o Options, out io.Writer) (*Result, error) {
	tag := ids.New()[:8]
	what := "seats"
	if o.GeneralAdmission {
		what = "places of one general-admission area"
	}
	fmt.Fprintf(out, "bench %s: %d %s, %d buyers, %d at once, 1..%d %s each, decline %.0f%%\n",
		tag, o.Seats, what, o.Buyers, o.Concurrency, o.MaxSeats, strings.Fields(what)[0], o.Decline*100)
	prog := progress.New(out, "bench")
	defer prog.End()
	prog.Phase("create the event and its seats", 1, "events")
	seats, capacity := o.Seats, 0
	if o.GeneralAdmission {
		seats, capacity = 0, o.Seats
	}
	ev, err := loadgen.CreateGAEvent(ctx, cfg, "Flash sale "+tag, seats, capacity, 5000)
	if err != nil {
		return nil, err
	}
	prog.Add(1)
	buyers, err := loadgen.NewBuyers(cfg, o.Buyers, "bench-"+tag)
	if err != nil {
		return nil, err
	}
	res := &Result{Codes: map[string]int{}}
	if res.Server, err = serverInfo(ctx, cfg); err != nil {
		return nil, fmt.Errorf("temporal server: %w", err)
	}

	// The stack with no traffic at all, first: what it costs to keep it up (idle_ms_per_s).
	if o.IdleFor <= 0 {
		o.IdleFor = defaultIdleFor
	}
	res.IdleFor = o.IdleFor
	prog.Phase("an idle stack for "+o.IdleFor.String(), 0, "")
	idle := idleCPU(cfg, o.IdleFor)
	res.SaleCost.Idle, res.CeilingCost.Idle = idle, idle
	for p, msPerS := range idle {
		if p != loadGenerator {
			res.IdlePerS += msPerS
		}
	}
	meter := startCPU(cfg)
	var stopProfiles func()
	if o.ProfileDir != "" {
		stopProfiles = profile(cfg, o.ProfileDir, out)
	}
	prog.Phase("sale", int64(len(buyers)), "buyers")
	if err := res.sale(ctx, ev, buyers, o, prog); err != nil {
		return nil, err
	}
	if stopProfiles != nil {
		stopProfiles()
	}
	st, err := audit.Open(ctx, cfg)
	if err != nil {
		return nil, err
	}
	defer st.Close(ctx)
	if _, err := st.Drain(ctx, ev.ID, o.Drain, prog); err != nil {
		return nil, err
	}
	res.SaleCost.CPU, res.SaleCost.Window = meter.stop()
	if res.Audit, err = st.Event(ctx, ev.ID, audit.Options{}); err != nil {
		return nil, err
	}
	if err := res.confirmations(ctx, cfg, ev.ID); err != nil {
		return nil, err
	}
	res.SaleCost.Units = res.Confirmed
	sample, err := sampleConfirmed(ctx, cfg, ev.ID, historySample)
	if err != nil {
		return nil, err
	}
	if res.SaleCost.History, err = histories(ctx, cfg, sample, 0); err != nil {
		return nil, err
	}
	n := o.Ceiling
	if n == 0 {
		n = max(200, res.Confirmed)
	}
	prog.Phase("ceiling", int64(n), "bare workflows")
	meter = startCPU(cfg)
	res.CeilingPerS, sample, err = ceiling(ctx, cfg, n, o.Concurrency, historySample, prog)
	if err != nil {
		return nil, fmt.Errorf("ceiling: %w", err)
	}
	res.CeilingCost.CPU, res.CeilingCost.Window = meter.stop()
	res.CeilingCost.Units = n
	// The caller waits for each result: one more call per workflow.
	if res.CeilingCost.History, err = histories(ctx, cfg, sample, 1); err != nil {
		return nil, err
	}
	if res.Limit, err = holdLimit(ctx, cfg, tag, o.Seats, res.Attempts, o, prog); err != nil {
		return nil, fmt.Errorf("physical limit: %w", err)
	}
	if err := res.readPath(ctx, cfg, ev.ID, buyers, o, prog); err != nil {
		return nil, fmt.Errorf("read path: %w", err)
	}
	return res, nil
}

// sale runs the buyers: each picks 1..MaxSeats adjacent seats, most of them in the front rows (on a
// general-admission event: asks for 1..MaxSeats places of its area), and POSTs once. The answer
// (202 held, 409 taken) is the seat decision.
func (r *Result) sale(ctx context.Context, ev loadgen.Event, buyers []*loadgen.Buyer, o Options, prog *progress.Reporter) error {
	rows := (len(ev.Seats) + 19) / 20
	var mu sync.Mutex
	var next atomic.Int64
	start := time.Now()
	var wg sync.WaitGroup
	for w := 0; w < o.Concurrency; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= len(buyers) || ctx.Err() != nil {
					return
				}
				tok := "tok_visa"
				if rand.Float64() < o.Decline {
					tok = "tok_chargeDeclined"
				}
				req := map[string]any{"eventId": ev.ID, "paymentMethod": map[string]string{"type": "card", "token": tok}}
				if ev.Area != "" {
					req["quantities"] = []map[string]any{{"section": ev.Area, "quantity": 1 + rand.IntN(o.MaxSeats)}}
				} else {
					req["seatIds"] = pick(ev.Seats, rows, 1+rand.IntN(o.MaxSeats))
				}
				t := time.Now()
				status, body, err := buyers[i].Do(ctx, http.MethodPost, "/api/bookings", req)
				d := time.Since(t)
				code := fmt.Sprint(status)
				if err != nil {
					code = "transport error"
				} else if c := loadgen.ErrorCode(body); c != "" {
					code = fmt.Sprintf("%d %s", status, c)
				}
				prog.Add(1)
				mu.Lock()
				r.Attempts++
				r.Codes[code]++
				if status == http.StatusAccepted {
					r.Accepted++
				}
				if err == nil {
					r.Decision = append(r.Decision, d)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	r.Elapsed = time.Since(start)
	return nil
}

// pick chooses n adjacent seats in one row; row r is chosen with weight falling off steeply
// (row A is the most wanted), the first seat uniformly.
func pick(all []string, rows, n int) []string {
	row := int(math.Floor(float64(rows) * math.Pow(rand.Float64(), 3)))
	first := row * 20
	width := min(20, len(all)-first)
	n = min(n, width)
	startAt := first + rand.IntN(width-n+1)
	return append([]string(nil), all[startAt:startAt+n]...)
}

// confirmations reads POST→CONFIRMED from the booking record: the history line CONFIRMED was
// written at workflow time of the decision, created_at when the booking service stored the POST.
func (r *Result) confirmations(ctx context.Context, cfg *devstack.Settings, eventID string) error {
	conn, err := pgx.Connect(ctx, cfg.PostgresDSN(config.BookingsDB))
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT b.created_at, h.at FROM bookings b
		JOIN booking_status_history h ON h.booking_id = b.id AND h.status = 'CONFIRMED'
		WHERE b.event_id = $1 ORDER BY b.created_at`, eventID)
	if err != nil {
		return err
	}
	defer rows.Close()
	var first, last time.Time
	for rows.Next() {
		var created, at time.Time
		if err := rows.Scan(&created, &at); err != nil {
			return err
		}
		if first.IsZero() || created.Before(first) {
			first = created
		}
		if at.After(last) {
			last = at
		}
		r.ToConfirmed = append(r.ToConfirmed, at.Sub(created))
	}
	r.Confirmed = len(r.ToConfirmed)
	if r.Confirmed > 0 {
		r.ConfirmWindow = last.Sub(first)
	}
	return rows.Err()
}

// Print writes the human-readable figures and, last, the machine-readable line.
func (r *Result) Print(w io.Writer) {
	perS := func(n int, d time.Duration) float64 {
		if d <= 0 {
			return 0
		}
		return float64(n) / d.Seconds()
	}
	confirmedPerS := perS(r.Confirmed, r.ConfirmWindow)
	ratio := 0.0
	if r.CeilingPerS > 0 {
		ratio = confirmedPerS / r.CeilingPerS
	}
	seatmapRatio := 0.0
	if r.Trivial.PerS > 0 {
		seatmapRatio = r.SeatMap.PerS / r.Trivial.PerS
	}
	a := r.Audit
	fmt.Fprintf(w, "\nsale\n")
	fmt.Fprintf(w, "  attempts           %d in %s (%.1f/s)\n", r.Attempts, r.Elapsed.Round(time.Millisecond), perS(r.Attempts, r.Elapsed))
	fmt.Fprintf(w, "  held (202)         %d\n", r.Accepted)
	fmt.Fprintf(w, "  confirmed          %d in %s (%.1f/s)\n", r.Confirmed, r.ConfirmWindow.Round(time.Millisecond), confirmedPerS)
	if a.Places.Areas > 0 {
		fmt.Fprintf(w, "  places sold        %d of the area's %d\n", a.Places.Sold, a.Places.Capacity)
	} else {
		fmt.Fprintf(w, "  seats sold         %d of the event's seats\n", a.Sold)
	}
	fmt.Fprintf(w, "  bookings by status %v\n", a.Counts)
	fmt.Fprintf(w, "  answers by code    %v\n", sortedCodes(r.Codes))
	fmt.Fprintf(w, "  POST (decision)    p50 %s  p95 %s  p99 %s\n", pct(r.Decision, 50), pct(r.Decision, 95), pct(r.Decision, 99))
	fmt.Fprintf(w, "  POST→CONFIRMED     p50 %s  p95 %s  p99 %s\n", pct(r.ToConfirmed, 50), pct(r.ToConfirmed, 95), pct(r.ToConfirmed, 99))
	fmt.Fprintf(w, "correctness\n")
	fmt.Fprintf(w, "  oversold seats %d, double charged %d, not terminal after the drain %d, seats mismatched %d, charges kept %d\n",
		a.Oversold, a.DoubleCharged, a.Pending, a.Mismatched, a.KeptCharges)
	if a.Places.Areas > 0 {
		fmt.Fprintf(w, "  oversold areas %d, bookings whose places differ %d, areas whose counts drift %d\n",
			len(a.Places.Oversold), len(a.Places.Mismatched), len(a.Places.Drift))
	}
	fmt.Fprintf(w, "ceiling (bare workflow, 3 no-op activities, same concurrency)\n")
	fmt.Fprintf(w, "  %.1f workflows/s; confirmed bookings/s are %.2fx that\n", r.CeilingPerS, ratio)
	decisionRatio := 0.0
	if lim := r.Limit.PerS(); lim > 0 {
		decisionRatio = perS(r.Attempts, r.Elapsed) / lim
	}
	fmt.Fprintf(w, "physical limit (the hold transaction alone on PostgreSQL, same concurrency, %d connections)\n", r.Limit.Conns)
	fmt.Fprintf(w, "  %d decisions in %s (%.1f/s, %d held)  p50 %s  p95 %s  p99 %s\n", r.Limit.Attempts,
		r.Limit.Elapsed.Round(time.Millisecond), r.Limit.PerS(), r.Limit.Held, pct(r.Limit.Latency, 50), pct(r.Limit.Latency, 95),
		pct(r.Limit.Latency, 99))
	fmt.Fprintf(w, "  the sale's decisions/s are %.2fx that\n", decisionRatio)
	fmt.Fprintf(w, "idle stack: %.1f ms of CPU per second over %s with no traffic\n", r.IdlePerS, r.IdleFor)
	fmt.Fprintf(w, "Temporal server: %s %s on %s, %d history shards\n", r.Server.Kind, r.Server.Version, r.Server.Store, r.Server.Shards)
	printCost(w, "cost per confirmed booking, over the sale and its drain", &r.SaleCost)
	printCost(w, "cost per ceiling workflow", &r.CeilingCost)
	fmt.Fprintf(w, "seat map reads (the sale's event)\n")
	fmt.Fprintf(w, "  through the stack's gateway   %.0f/s  p50 %s  p99 %s  errors %d\n", r.SeatMapGW.PerS, r.SeatMapGW.P50, r.SeatMapGW.P99, r.SeatMapGW.Errors)
	fmt.Fprintf(w, "  same gateway code, inventory  %.0f/s  p50 %s  p99 %s  errors %d\n", r.SeatMap.PerS, r.SeatMap.P50, r.SeatMap.P99, r.SeatMap.Errors)
	fmt.Fprintf(w, "  same gateway code, trivial    %.0f/s  p50 %s  p99 %s  errors %d\n", r.Trivial.PerS, r.Trivial.P50, r.Trivial.P99, r.Trivial.Errors)
	h := r.SaleCost.History
	cpuPerBooking, _ := r.SaleCost.Total()
	fmt.Fprintf(w, "bench: confirmed_per_s=%.1f ceiling_per_s=%.1f ratio=%.2f oversold=%d double_charged=%d stuck=%d p99_decision_ms=%d p99_confirmed_ms=%d seatmap_ratio=%.2f hold_limit_per_s=%.1f p99_hold_limit_ms=%d decision_ratio=%.2f cpu_ms_per_booking=%.1f ticket_ms_per_booking=%.1f idle_ms_per_s=%.1f events_per_booking=%.1f round_trips_per_booking=%.1f server=%s\n",
		confirmedPerS, r.CeilingPerS, ratio, a.Oversold+a.Mismatched+a.Places.Wrong(), a.DoubleCharged+a.KeptCharges, a.Pending,
		pct(r.Decision, 99).Milliseconds(), pct(r.ToConfirmed, 99).Milliseconds(), seatmapRatio,
		r.Limit.PerS(), pct(r.Limit.Latency, 99).Milliseconds(), decisionRatio,
		cpuPerBooking, r.SaleCost.PerUnit(config.Ticket), r.IdlePerS, h.Events+4*h.Wakeups, h.RoundTrips+2*h.Wakeups, r.Server.Kind)
}

func sortedCodes(m map[string]int) string {
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s: %d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}

func pct(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := int(math.Ceil(p/100*float64(len(s)))) - 1
	return s[max(0, min(i, len(s)-1))].Round(time.Millisecond)
}

// profile takes CPU profiles of the hot processes while the sale runs (30 s at most) and prints
// the top of each when stopped.
func profile(cfg *devstack.Settings, dir string, out io.Writer) func() {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		fmt.Fprintf(out, "profiles: %v\n", err)
		return func() {}
	}
	token := auth.InternalToken([]byte(cfg.JWTSecret))
	var wg sync.WaitGroup
	for _, name := range []string{config.Worker, config.Booking, config.Inventory, config.Gateway, config.Bridge, config.Payment, config.Ticket} {
		wg.Add(1)
		go func(name string) {
			defer wg.Done()
			base := cfg.URLs[name]
			if name == config.Gateway { // its profiler is on the admin port, never the public one
				base = fmt.Sprintf("http://127.0.0.1:%d", cfg.GatewayAdminPort)
			}
			req, _ := http.NewRequest(http.MethodGet, base+"/debug/pprof/profile?seconds=20", nil)
			req.Header.Set(httpapi.HeaderInternalToken, token)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				fmt.Fprintf(out, "profile %s: %v\n", name, err)
				return
			}
			defer resp.Body.Close()
			path := filepath.Join(dir, name+".cpu.pprof")
			f, err := os.Create(path)
			if err != nil {
				return
			}
			_, _ = io.Copy(f, resp.Body)
			f.Close()
		}(name)
	}
	return func() {
		wg.Wait()
		for _, name := range []string{config.Worker, config.Booking, config.Inventory, config.Gateway, config.Bridge, config.Payment, config.Ticket} {
			path := filepath.Join(dir, name+".cpu.pprof")
			top, err := exec.Command("go", "tool", "pprof", "-top", "-nodecount=12", path).Output()
			if err != nil {
				continue
			}
			fmt.Fprintf(out, "\nprofile of %s (%s):\n%s", name, path, trimTop(string(top)))
		}
	}
}

func trimTop(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		if strings.HasPrefix(strings.TrimSpace(l), "flat") {
			return strings.Join(lines[max(0, i-2):], "\n")
		}
	}
	return s
}
