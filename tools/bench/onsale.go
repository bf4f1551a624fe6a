package bench

import (
	"bufio"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"ticketflow/internal/config"
	"ticketflow/internal/ids"
	"ticketflow/tools/audit"
	"ticketflow/tools/devstack"
	"ticketflow/tools/loadgen"
	"ticketflow/tools/progress"
)

// OnSaleOptions shape the waiting-room benchmark (`ticketflow-dev onsale-bench`, make bench-onsale):
// an on-sale whose waiting room admits automatically, with half the buyers joining in the minute
// before opening and half in the seconds after it.
type OnSaleOptions struct {
	Seats     int
	Buyers    int
	EarlyFor  time.Duration // the early half joins over this long before opening
	LateFor   time.Duration // the late half joins over this long after it
	MaxSeats  int           // each buyer wants 1..MaxSeats seats
	PollShare float64       // share of buyers who poll every 2 s instead of following the stream
	SaleFor   time.Duration // the longest the sale runs after opening before the run stops it
	Drain     time.Duration
	// CrowdNice is the nice value of the process that runs the waiting crowd (onsalecrowd.go;
	// `--crowd-nice` defaults to the package's CrowdNice, 10; 0 here is nice 0); below 0 the crowd runs in this process, beside the
	// admitted buyers' requests.
	CrowdNice int
	// CrowdBinary is the ticketflow-dev that runs the crowd ("": this executable, which is one).
	CrowdBinary string
}

// OnSaleResult is what the waiting-room benchmark measured.
type OnSaleResult struct {
	Opt                  OnSaleOptions
	Joined, Admitted     int
	Booked, Refused      int // bookings held (202), and refused (409) for their seats
	Codes                map[string]int
	Decision             []time.Duration // POST /api/bookings of admitted buyers
	ToConfirmed          []time.Duration // POST→CONFIRMED of their bookings (the booking record)
	WaitingPeak          int
	FreshStream          []time.Duration // a change of place → seen, on a stream
	FreshPoll            []time.Duration // the same, polling every 2 s
	FairAfterOpen        float64
	EarlyRankCorr        float64
	SoldOutAfter         time.Duration // opening → no seat left to buy
	Audit                *audit.Report
	WaitingCPU           map[string]float64 // ms of CPU over the pre-opening window, per process
	WaitingBuyerMinutes  float64            // integral of buyers waiting over that window
	IdleCPU              map[string]float64 // ms per second of the same processes, idle
	CPUPerWaitingBuyer   float64            // ms per waiting buyer per minute (gateways + Redis, idle removed)
	SaleCPU              map[string]float64 // ms of CPU per second over the sale, per process (the load generator's too)
	JoinErrors, Failures int64
	// CrowdGrouped: the crowd process ran in a scheduling group of its own at its nice value
	// (sched_autogroup; onsalecrowd.go), not in the bench's group.
	CrowdGrouped bool
}

// roomBuyer is one buyer's run through the line.
type roomBuyer struct {
	b           *loadgen.Buyer
	early, poll bool // planned to join before opening; polls instead of streaming
	// drawn: the line took the join before the sale opened (its joinedAt is before opensAt, the
	// server's clock, which a retried join does not change); a buyer planned early whose join
	// arrived late (a loaded machine) is not, and is judged as a late joiner.
	drawn             bool
	at                time.Time // when it joins
	joinStart, joined time.Time
	number            int64
	admitted          time.Time // seen
	admittedUntil     time.Time // the server's
	done              bool
}

// place is the subset of the queue's answer the bench reads.
type benchPlace struct {
	State          string     `json:"state"`
	Number         *int64     `json:"number"`
	Position       *int64     `json:"position"`
	AdmissionToken string     `json:"admissionToken"`
	AdmittedUntil  *time.Time `json:"admittedUntil"`
	SoldOut        bool       `json:"soldOut"`
	UpdatedAt      *time.Time `json:"updatedAt"`
	JoinedAt       time.Time  `json:"joinedAt"`
	OpensAt        time.Time  `json:"opensAt"`
	StreamURL      string     `json:"streamUrl"` // where to follow the place (the room server's)
	PollURL        string     `json:"pollUrl"`
}

// roomProcesses are the processes whose CPU the waiting buyers cost: the gateways (joins), the
// room servers (streams and polls) and Redis.
var roomProcesses = []string{config.Gateway, config.Room, "redis"}

// OnSale runs the waiting-room benchmark against the stack of cfg.
func OnSale(ctx context.Context, cfg *devstack.Settings, o OnSaleOptions, out io.Writer) (*OnSaleResult, error) {
	tag := ids.New()[:8]
	fmt.Fprintf(out, "onsale %s: %d seats, %d buyers (half in the %s before opening, half over the %s after), 1..%d seats each, %.0f%% polling\n",
		tag, o.Seats, o.Buyers, o.EarlyFor, o.LateFor, o.MaxSeats, o.PollShare*100)
	prog := progress.New(out, "onsale")
	defer prog.End()
	r := &OnSaleResult{Opt: o, Codes: map[string]int{}}
	buyers, err := loadgen.NewBuyers(cfg, o.Buyers, "onsale-"+tag)
	if err != nil {
		return nil, err
	}
	r.IdleCPU = idleCPUOf(cfg, 3*time.Second, roomProcesses...)
	opens := time.Now().Add(o.EarlyFor + 5*time.Second).Truncate(time.Second).Add(time.Second)
	ev, err := loadgen.CreateEventWith(ctx, cfg, "On-sale "+tag, o.Seats, 5000, map[string]any{
		"waitingRoom": map[string]any{"enabled": true}, "salesStartAt": opens.UTC().Format(time.RFC3339)})
	if err != nil {
		return nil, err
	}
	rbs := make([]*roomBuyer, len(buyers))
	for i, b := range buyers {
		rb := &roomBuyer{b: b, early: i%2 == 0, poll: rand.Float64() < o.PollShare}
		if rb.early {
			rb.at = opens.Add(-time.Duration(rand.Float64() * float64(o.EarlyFor)))
		} else {
			rb.at = opens.Add(time.Duration(rand.Float64() * float64(o.LateFor)))
		}
		rbs[i] = rb
	}

	run := &onSaleRun{r: r, ev: ev, opens: opens, o: o}
	sctx, stop := context.WithCancel(ctx)
	defer stop()
	prog.Phase(fmt.Sprintf("join (the sale opens at %s)", opens.Format("15:04:05")), int64(len(rbs)), "buyers joined")
	var wg sync.WaitGroup
	var cr *crowd
	if o.CrowdNice >= 0 {
		if cr, err = run.startCrowd(sctx, rbs, o.CrowdNice, prog); err != nil {
			return nil, err
		}
	} else {
		for _, rb := range rbs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				run.buyer(sctx, rb, prog)
			}()
		}
	}
	// The waiting buyers' cost: CPU of the gateways, the room servers and Redis over the minute
	// before opening, per buyer-minute of waiting (the integral of buyers waiting, sampled every
	// second).
	meterFrom := opens.Add(-o.EarlyFor + 5*time.Second)
	waitUntil(ctx, meterFrom)
	cpu0, at0 := cpuOf(cfg, roomProcesses...), time.Now()
	for now := time.Now(); now.Before(opens); now = time.Now() {
		r.WaitingBuyerMinutes += float64(run.waiting.Load()) / 60
		waitUntil(ctx, now.Add(time.Second))
	}
	cpu1, window := cpuOf(cfg, roomProcesses...), time.Since(at0)
	r.WaitingCPU = map[string]float64{}
	var spent float64
	for p, v := range cpu1 {
		r.WaitingCPU[p] = v - cpu0[p]
		spent += max(0, v-cpu0[p]-r.IdleCPU[p]*window.Seconds())
	}
	if r.WaitingBuyerMinutes > 0 {
		r.CPUPerWaitingBuyer = spent / r.WaitingBuyerMinutes
	}

	// The sale: until nothing is left to buy, or SaleFor.
	prog.Phase("sale", int64(o.Seats), "seats held")
	prog.Note("waiting room on, automatic admission")
	deadline := time.Now().Add(o.SaleFor)
	saleCPU := startCPU(cfg)
	var crowdCPU float64
	if cr != nil {
		crowdCPU = cr.cpu()
	}
	for time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(500 * time.Millisecond)
		prog.Set(run.seatsHeld.Load())
		if run.soldOutAt.Load() != 0 || (cr == nil && run.finished.Load() == int64(len(rbs))) || (cr != nil && cr.finished(len(rbs))) {
			break
		}
	}
	used, took := saleCPU.stop()
	if cr != nil {
		used[crowdProcess] = cr.cpu() - crowdCPU
	}
	r.SaleCPU = map[string]float64{}
	for p, v := range used {
		r.SaleCPU[p] = v / took.Seconds()
	}
	if at := run.soldOutAt.Load(); at != 0 {
		r.SoldOutAfter = time.Unix(0, at).Sub(opens)
	}
	time.Sleep(2 * time.Second) // the last streams see the sold-out line
	stop()
	wg.Wait()
	if cr != nil {
		if err := cr.stop(run, rbs); err != nil {
			return nil, err
		}
	}
	st, err := audit.Open(ctx, cfg)
	if err != nil {
		return nil, err
	}
	defer st.Close(ctx)
	if _, err := st.Drain(ctx, ev.ID, o.Drain, prog); err != nil {
		return nil, err
	}
	if r.Audit, err = st.Event(ctx, ev.ID, audit.Options{}); err != nil {
		return nil, err
	}
	var toConfirmed Result
	if err := toConfirmed.confirmations(ctx, cfg, ev.ID); err != nil {
		return nil, err
	}
	r.ToConfirmed = toConfirmed.ToConfirmed
	run.fairness(rbs)
	return r, nil
}

// onSaleRun is the shared state of one run.
type onSaleRun struct {
	r       *OnSaleResult
	ev      loadgen.Event
	opens   time.Time
	o       OnSaleOptions
	mu      sync.Mutex
	moves   []int64 // every time the line moved, as the places said (unix ms), sorted
	waiting atomic.Int64
	peak    atomic.Int64

	seatsHeld, finished, soldOutAt atomic.Int64

	// admit, when set, stands for booking once let in (the crowd process hands its admitted
	// buyers to the bench's process).
	admit func(ctx context.Context, rb *roomBuyer, token, queue string)
}

// crowdProcess names the crowd process in the sale's CPU account.
const crowdProcess = "load generator (crowd)"

// buyer runs one buyer: join at its time, follow its place (stream or poll) until let in, then
// book once (again with other seats when its seats were taken, three times at most).
func (s *onSaleRun) buyer(ctx context.Context, rb *roomBuyer, prog *progress.Reporter) {
	defer s.finished.Add(1)
	if !waitUntil(ctx, rb.at) {
		return
	}
	path := "/api/events/" + s.ev.ID + "/queue"
	var p benchPlace
	rb.joinStart = time.Now()
	for attempt := 0; ; attempt++ {
		status, body, err := rb.b.Do(ctx, http.MethodPost, path, nil)
		if err == nil && status == http.StatusOK && json.Unmarshal(body, &p) == nil {
			break
		}
		atomic.AddInt64(&s.r.JoinErrors, 1)
		if attempt == 5 || ctx.Err() != nil {
			return
		}
		time.Sleep(time.Second)
	}
	rb.joined = time.Now()
	rb.drawn = p.JoinedAt.Before(p.OpensAt)
	// The buyer follows its place where the answer says (the room server's), as the page does.
	pollAt, streamAt := cmp.Or(p.PollURL, path), cmp.Or(p.StreamURL, path+"/stream")
	prog.Add(1)
	s.waitingNow(1)
	waiting := true
	defer func() {
		if waiting {
			s.waitingNow(-1)
		}
	}()
	s.mu.Lock()
	s.r.Joined++
	s.mu.Unlock()
	last := p
	lastAt := rb.joined
	seen := func(np benchPlace) {
		now := time.Now()
		if np.Number != nil {
			rb.number = *np.Number
		}
		if np.UpdatedAt != nil {
			s.addMove(np.UpdatedAt.UnixMilli())
		}
		if np.State == "WAITING" && last.State == "WAITING" && np.Position != nil && last.Position != nil &&
			*np.Position != *last.Position && last.UpdatedAt != nil {
			// The change came with the first move of the line after the one shown last.
			if first := s.firstMoveAfter(*last.UpdatedAt); !first.IsZero() {
				s.mu.Lock()
				if rb.poll {
					s.r.FreshPoll = append(s.r.FreshPoll, now.Sub(first))
				} else {
					s.r.FreshStream = append(s.r.FreshStream, now.Sub(first))
				}
				s.mu.Unlock()
			}
		}
		if np.SoldOut {
			s.soldOutAt.CompareAndSwap(0, now.UnixNano())
		}
		last, lastAt = np, now
	}
	seen(p)
	for p.State == "WAITING" && ctx.Err() == nil {
		if rb.poll {
			if !waitUntil(ctx, lastAt.Add(2*time.Second)) {
				return
			}
			status, body, err := rb.b.Do(ctx, http.MethodGet, pollAt, nil)
			var np benchPlace
			if err != nil || status != http.StatusOK || json.Unmarshal(body, &np) != nil {
				atomic.AddInt64(&s.r.Failures, 1)
				lastAt = time.Now() // ask again in 2 s
				continue
			}
			p = np
			seen(p)
			continue
		}
		p = s.follow(ctx, rb, streamAt, seen)
		if p.State == "WAITING" && ctx.Err() == nil {
			rb.poll = true // the stream broke: poll from now on
		}
	}
	if p.State != "ADMITTED" {
		return
	}
	rb.admitted = time.Now()
	if p.AdmittedUntil != nil {
		rb.admittedUntil = *p.AdmittedUntil
	}
	waiting = false
	s.waitingNow(-1)
	s.mu.Lock()
	s.r.Admitted++
	s.mu.Unlock()
	if s.admit != nil {
		s.admit(ctx, rb, p.AdmissionToken, path)
		return
	}
	s.book(ctx, rb, p.AdmissionToken, path)
}

func (s *onSaleRun) waitingNow(d int64) {
	n := s.waiting.Add(d)
	for peak := s.peak.Load(); n > peak && !s.peak.CompareAndSwap(peak, n); peak = s.peak.Load() {
	}
	s.mu.Lock()
	s.r.WaitingPeak = int(s.peak.Load())
	s.mu.Unlock()
}

// addMove records a time the line moved (unix ms). Thousands of buyers report each move: a sorted
// slice answers firstMoveAfter by binary search instead of walking every move at each report.
func (s *onSaleRun) addMove(m int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i, found := slices.BinarySearch(s.moves, m)
	if !found {
		s.moves = slices.Insert(s.moves, i, m)
	}
}

// firstMoveAfter is the first time the line moved after t (zero when none is known).
func (s *onSaleRun) firstMoveAfter(t time.Time) time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	i, found := slices.BinarySearch(s.moves, t.UnixMilli())
	if found {
		i++
	}
	if i == len(s.moves) {
		return time.Time{}
	}
	return time.UnixMilli(s.moves[i])
}

// follow reads the buyer's place stream at stream (a path or URL) until it is no longer WAITING,
// the stream ends, or ctx ends; it returns the last place read.
func (s *onSaleRun) follow(ctx context.Context, rb *roomBuyer, stream string, seen func(benchPlace)) benchPlace {
	var p benchPlace
	p.State = "WAITING"
	resp, err := rb.b.Open(ctx, http.MethodGet, stream, "Accept", "text/event-stream")
	if err != nil {
		return p
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return p
	}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		data, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			continue
		}
		var np benchPlace
		if json.Unmarshal([]byte(data), &np) != nil {
			continue
		}
		seen(np)
		p = np
		if p.State != "WAITING" {
			break
		}
	}
	return p
}

// book books 1..MaxSeats seats the buyer sees available, with its admission.
func (s *onSaleRun) book(ctx context.Context, rb *roomBuyer, token, queue string) {
	defer func() { rb.done = true }()
	for attempt := 0; attempt < 3 && ctx.Err() == nil; attempt++ {
		var snap struct {
			Statuses string `json:"statuses"`
		}
		status, body, err := rb.b.Do(ctx, http.MethodGet, "/api/inventory/events/"+s.ev.ID+"/seats/status", nil)
		if err != nil || status != http.StatusOK || json.Unmarshal(body, &snap) != nil {
			atomic.AddInt64(&s.r.Failures, 1)
			continue
		}
		var free []string
		for i, c := range snap.Statuses {
			if c == 'A' && i < len(s.ev.Seats) {
				free = append(free, s.ev.Seats[i])
			}
		}
		if len(free) == 0 {
			break // nothing left: leave the line
		}
		n := min(1+rand.IntN(s.o.MaxSeats), len(free))
		rand.Shuffle(len(free), func(i, j int) { free[i], free[j] = free[j], free[i] })
		t := time.Now()
		status, body, err = rb.b.Do(ctx, http.MethodPost, "/api/bookings", map[string]any{"eventId": s.ev.ID,
			"seatIds": free[:n], "paymentMethod": map[string]string{"type": "card", "token": "tok_visa"}},
			"Admission-Token", token)
		d := time.Since(t)
		code := fmt.Sprint(status)
		if err != nil {
			code = "transport error"
		} else if c := loadgen.ErrorCode(body); c != "" {
			code = fmt.Sprintf("%d %s", status, c)
		}
		s.mu.Lock()
		s.r.Codes[code]++
		if err == nil {
			s.r.Decision = append(s.r.Decision, d)
		}
		s.mu.Unlock()
		if status == http.StatusAccepted {
			s.seatsHeld.Add(int64(n))
			s.mu.Lock()
			s.r.Booked++
			s.mu.Unlock()
			return
		}
		if status == http.StatusConflict {
			s.mu.Lock()
			s.r.Refused++
			s.mu.Unlock()
			continue
		}
		return
	}
	// Nothing bought: give the admission back (the next buyer is let in).
	_, _, _ = rb.b.Do(context.WithoutCancel(ctx), http.MethodDelete, queue, nil)
}

// fairness computes the two order figures from the numbers the buyers were given (admission
// follows them) and when they joined.
//
// Early and late are the line's: a join it took before opening (drawn), or after.
//
// fair_after_open: the share of buyers who joined after opening and were placed (so admitted)
// out of arrival order — behind someone whose join began after theirs was answered, ahead of an
// early joiner, or admitted after a buyer with a higher number.
//
// early_order_rank_corr: Spearman's rank correlation between the early joiners' arrival order and
// their numbers (0: arriving earlier in the minute before opening bought nothing).
func (s *onSaleRun) fairness(rbs []*roomBuyer) {
	var early, late []*roomBuyer
	var maxEarly int64
	for _, rb := range rbs {
		if rb.number == 0 {
			continue
		}
		if rb.drawn {
			early = append(early, rb)
			maxEarly = max(maxEarly, rb.number)
		} else {
			late = append(late, rb)
		}
	}
	unfair := map[*roomBuyer]bool{}
	// Sweep by start: every buyer whose join was answered before this one's began must be ahead.
	byEnd := append([]*roomBuyer(nil), late...)
	sort.Slice(byEnd, func(i, j int) bool { return byEnd[i].joined.Before(byEnd[j].joined) })
	byStart := append([]*roomBuyer(nil), late...)
	sort.Slice(byStart, func(i, j int) bool { return byStart[i].joinStart.Before(byStart[j].joinStart) })
	var k int
	var maxBefore int64
	for _, j := range byStart {
		for k < len(byEnd) && byEnd[k].joined.Before(j.joinStart) {
			maxBefore = max(maxBefore, byEnd[k].number)
			k++
		}
		if maxBefore > j.number || j.number <= maxEarly {
			unfair[j] = true
		}
	}
	// Admission in number order: a buyer admitted after one with a higher number.
	var admitted []*roomBuyer
	for _, rb := range rbs {
		if !rb.admittedUntil.IsZero() && rb.number > 0 {
			admitted = append(admitted, rb)
		}
	}
	sort.Slice(admitted, func(i, j int) bool { return admitted[i].number < admitted[j].number })
	var latest time.Time
	for _, rb := range admitted {
		if rb.admittedUntil.Before(latest) && !rb.drawn {
			unfair[rb] = true
		}
		if rb.admittedUntil.After(latest) {
			latest = rb.admittedUntil
		}
	}
	if len(late) > 0 {
		s.r.FairAfterOpen = float64(len(unfair)) / float64(len(late))
	}
	if len(early) > 2 {
		arrival, number := make([]float64, len(early)), make([]float64, len(early))
		for i, rb := range early {
			arrival[i], number[i] = float64(rb.joinStart.UnixNano()), float64(rb.number)
		}
		s.r.EarlyRankCorr = spearman(arrival, number)
	}
}

// spearman is the rank correlation of two equally long lists (no ties expected).
func spearman(a, b []float64) float64 {
	rank := func(x []float64) []float64 {
		idx := make([]int, len(x))
		for i := range idx {
			idx[i] = i
		}
		sort.Slice(idx, func(i, j int) bool { return x[idx[i]] < x[idx[j]] })
		r := make([]float64, len(x))
		for k, i := range idx {
			r[i] = float64(k)
		}
		return r
	}
	ra, rb := rank(a), rank(b)
	n := float64(len(a))
	var d2 float64
	for i := range ra {
		d2 += (ra[i] - rb[i]) * (ra[i] - rb[i])
	}
	return 1 - 6*d2/(n*(n*n-1))
}

// waitUntil sleeps until t; false when ctx ended first.
func waitUntil(ctx context.Context, t time.Time) bool {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err() == nil
	}
	select {
	case <-ctx.Done():
		return false
	case <-time.After(d):
		return true
	}
}

// idleCPUOf measures what the named processes use per second with no load (ms of CPU per second).
func idleCPUOf(cfg *devstack.Settings, over time.Duration, names ...string) map[string]float64 {
	a := cpuOf(cfg, names...)
	time.Sleep(over)
	b := cpuOf(cfg, names...)
	out := map[string]float64{}
	for n, v := range b {
		out[n] = (v - a[n]) / over.Seconds()
	}
	return out
}

// Print writes the figures and, last, the machine-readable line.
func (r *OnSaleResult) Print(w io.Writer) {
	a := r.Audit
	fmt.Fprintf(w, "\non-sale with a waiting room (automatic admission)\n")
	fmt.Fprintf(w, "  buyers joined       %d (join errors %d), waiting at the peak %d\n", r.Joined, r.JoinErrors, r.WaitingPeak)
	fmt.Fprintf(w, "  admitted            %d; bookings held %d, refused for their seats %d; sold out %s after opening\n",
		r.Admitted, r.Booked, r.Refused, r.SoldOutAfter.Round(100*time.Millisecond))
	fmt.Fprintf(w, "  answers by code     %s\n", sortedCodes(r.Codes))
	fmt.Fprintf(w, "  POST (decision)     p50 %s  p95 %s  p99 %s (admitted buyers)\n", pct(r.Decision, 50), pct(r.Decision, 95), pct(r.Decision, 99))
	fmt.Fprintf(w, "  POST→CONFIRMED      p50 %s  p95 %s  p99 %s\n", pct(r.ToConfirmed, 50), pct(r.ToConfirmed, 95), pct(r.ToConfirmed, 99))
	fmt.Fprintf(w, "  place seen after a change: stream p50 %s p99 %s (%d); polling every 2 s p50 %s p99 %s (%d)\n",
		pct(r.FreshStream, 50), pct(r.FreshStream, 99), len(r.FreshStream), pct(r.FreshPoll, 50), pct(r.FreshPoll, 99), len(r.FreshPoll))
	fmt.Fprintf(w, "  fairness            after opening %.4f out of arrival order; early joiners' arrival vs place rank correlation %.3f\n",
		r.FairAfterOpen, r.EarlyRankCorr)
	fmt.Fprintf(w, "  waiting buyers' CPU %.3f ms per buyer-minute (gateways, rooms and Redis over %.0f buyer-minutes before opening, idle removed): %v\n",
		r.CPUPerWaitingBuyer, r.WaitingBuyerMinutes, roundMap(r.WaitingCPU))
	fmt.Fprintf(w, "  CPU over the sale   %s (ms per second; 1000 is a core)\n", byCPU(r.SaleCPU))
	if r.Opt.CrowdNice >= 0 {
		grouped := "in the bench's scheduling group (this kernel does not group by session)"
		if r.CrowdGrouped {
			grouped = "in a scheduling group of its own at that nice (sched_autogroup)"
		}
		fmt.Fprintf(w, "  the crowd ran at nice %d, %s\n", r.Opt.CrowdNice, grouped)
	}
	fmt.Fprintf(w, "correctness\n  oversold seats %d, double charged %d, not terminal after the drain %d, seats mismatched %d, charges kept %d\n",
		a.Oversold, a.DoubleCharged, a.Pending, a.Mismatched, a.KeptCharges)
	fmt.Fprintf(w, "bench: admitted_p99_decision_ms=%d admitted_p99_confirmed_ms=%d waiting_peak=%d position_fresh_p99_ms=%d position_fresh_poll_p99_ms=%d fair_after_open=%.4f early_order_rank_corr=%.3f oversold=%d double_charged=%d stuck=%d cpu_ms_per_waiting_buyer_min=%.3f admitted=%d sold_out_s=%.1f\n",
		pct(r.Decision, 99).Milliseconds(), pct(r.ToConfirmed, 99).Milliseconds(), r.WaitingPeak,
		pct(r.FreshStream, 99).Milliseconds(), pct(r.FreshPoll, 99).Milliseconds(), r.FairAfterOpen, r.EarlyRankCorr,
		a.Oversold+a.Mismatched, a.DoubleCharged+a.KeptCharges, a.Pending, r.CPUPerWaitingBuyer, r.Admitted, r.SoldOutAfter.Seconds())
}

func roundMap(m map[string]float64) map[string]int {
	out := map[string]int{}
	for k, v := range m {
		out[k] = int(math.Round(v))
	}
	return out
}

// byCPU lists processes by CPU, highest first: "gateway 412, redis 80, ...".
func byCPU(m map[string]float64) string {
	names := make([]string, 0, len(m))
	var total float64
	for n, v := range m {
		names = append(names, n)
		total += v
	}
	slices.SortFunc(names, func(a, b string) int { return cmp.Compare(m[b], m[a]) })
	parts := []string{fmt.Sprintf("total %.0f", total)}
	for _, n := range names {
		if v := m[n]; v >= 1 {
			parts = append(parts, fmt.Sprintf("%s %.0f", n, v))
		}
	}
	return strings.Join(parts, ", ")
}
