// Package chaos is `ticketflow-dev chaos`: hundreds of bookings on one event through the gateway —
// of seats, of places of its general-admission area, or of both; some declined, some left to
// expire, some cancelled — while the worker, the bridge, the payment
// and inventory services, the Kafka broker and the Temporal server are killed with SIGKILL one
// after another and the inventory is paused (SIGSTOP) longer than the booking service waits for
// it. Meanwhile buyers time out and retry with the same Idempotency-Key, an "operator" cancels and
// terminates workflows in Temporal, and "another team" publishes payment results that do not match
// the payment of record and captures nobody expected. When the run drains it checks, from the
// stores themselves, that nothing was sold twice, lost, charged without a ticket or left hanging,
// that every booking's record and workflow agree, and that no buyer was told 409 for a booking
// that went on; it prints the result as a table.
package chaos

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"ticketflow/internal/config"
	"ticketflow/internal/ids"
	"ticketflow/services/booking"
	"ticketflow/tools/audit"
	"ticketflow/tools/devstack"
	"ticketflow/tools/loadgen"
	"ticketflow/tools/progress"
)

// Options shape a run.
type Options struct {
	Bookings int // bookings attempted
	Seats    int // seats of the event (fewer than bookings want: contention)
	Places   int // places of the event's general-admission area (0: none)
	// AreaShare is the share of bookings that ask for 1..2 places of the area; half of them also
	// ask for a seat (all or none).
	AreaShare   float64
	Concurrency int           // buyers at once
	Kills       []string      // processes killed, in turn
	KillEvery   time.Duration // pause between kills
	Decline     float64       // share of bookings paid with tok_chargeDeclined
	NoResponse  float64       // share paid with tok_noResponse (they expire)
	Cancel      float64       // share of held bookings cancelled by the buyer
	Drain       time.Duration // how long to wait for every booking to end

	// ClientTimeouts is the share of buyers whose first request gives up after 20 to 300 ms and
	// is retried with the same Idempotency-Key.
	ClientTimeouts float64
	// PauseFor is how long a "pause:<process>" entry of Kills stops that process (SIGSTOP).
	PauseFor time.Duration
	// Shares of held bookings an operator cancels or terminates in Temporal, and that get forged
	// payment results; LateCaptures is the share of cancelled bookings that get a capture nobody
	// expected.
	TemporalCancels, Terminates, Forge, LateCaptures float64

	// Fault is the fault class of the run (classes.go), made while the bookings are posted; nil
	// for a run of kills alone.
	Fault *Fault
	// Spread posts the bookings evenly over this long (0: as fast as Concurrency allows), so that
	// a fault held for a while meets a sale going on.
	Spread time.Duration
}

// DefaultKills is the order processes are killed in ("pause:<process>" pauses it instead).
var DefaultKills = []string{config.Worker, config.Bridge, "pause:" + config.Inventory, config.Payment, config.Inventory,
	"kafka", "temporal"}

// WithFaults sets the faults besides kills to the chaos run's defaults.
func (o Options) WithFaults() Options {
	o.ClientTimeouts, o.PauseFor = 0.15, 6*time.Second
	o.TemporalCancels, o.Terminates, o.Forge, o.LateCaptures = 0.05, 0.05, 0.1, 0.5
	return o
}

// Result is the outcome of a run: the audit of the event, what was killed and meddled with, the
// fault made and what the buyers were finally answered.
type Result struct {
	*audit.Report
	Class   string // the fault class ("kills" for a run of kills alone)
	Killed  []string
	Meddled map[string]int
	// Answers counts the buyers' final answers to POST /api/bookings by status and code
	// ("202", "409 SEATS_UNAVAILABLE", "503 SERVICE_UNAVAILABLE", "error: ..." when none came).
	Answers map[string]int
	// Seen counts every answer of every attempt, retried ones included.
	Seen map[string]int
	// Unanswered are the buyers whose final answer was neither 202 nor 409: each one's
	// Idempotency-Key, when it began, how long it tried and every attempt's answer, so that a
	// failed "every buyer answered" check can be followed into the logs.
	Unanswered []string
	// Notes are what the fault class saw and did (how many replies it cut, the quota it set...).
	Notes []string
	Took  time.Duration
	// decisions are how long the buyers told 202 or 409 waited for it, retries included.
	decisions []time.Duration
}

// DecisionTimes are the median and the 95th percentile of how long a buyer waited for the seat
// decision (202 or 409), retries included.
func (r *Result) DecisionTimes() (p50, p95 time.Duration) {
	d := append([]time.Duration(nil), r.decisions...)
	if len(d) == 0 {
		return 0, 0
	}
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	return d[len(d)/2], d[min(len(d)-1, len(d)*95/100)]
}

// Print writes the counts and the audit table.
func (r *Result) Print(w io.Writer) {
	p50, p95 := r.DecisionTimes()
	fmt.Fprintf(w, "\n[%s] bookings by status: %v\nfinal answers: %v\nevery answer: %v\nseat decision p50 %s, p95 %s\n",
		r.Class, r.Counts, r.Answers, r.Seen, p50.Round(time.Millisecond), p95.Round(time.Millisecond))
	if len(r.Killed) > 0 || len(r.Meddled) > 0 {
		fmt.Fprintf(w, "killed: %s\nmeddled: %v\n", strings.Join(r.Killed, ", "), r.Meddled)
	}
	for _, n := range r.Notes {
		fmt.Fprintf(w, "fault: %s\n", n)
	}
	fmt.Fprintln(w)
	r.Report.Print(w)
}

// Run performs a chaos run against the running stack of cfg and checks the outcome.
func Run(ctx context.Context, cfg *devstack.Settings, opt Options, out io.Writer) (*Result, error) {
	runID := ids.New()[:8]
	prog := progress.New(out, "chaos")
	defer prog.End()
	prog.Phase("create the event and its seats", 1, "events")
	ev, err := loadgen.CreateGAEvent(ctx, cfg, "Chaos "+runID, opt.Seats, opt.Places, 1000)
	if err != nil {
		return nil, err
	}
	prog.Add(1)
	prog.End()
	buyers, err := loadgen.NewBuyers(cfg, opt.Bookings, "chaos-"+runID)
	if err != nil {
		return nil, err
	}
	class := "kills"
	if opt.Fault != nil {
		class = opt.Fault.Name
	}
	began := time.Now()
	if len(opt.Kills) > 0 {
		fmt.Fprintf(out, "chaos %s [%s]: %d bookings on %d seats and %d places (event %s), %d at once, killing %s every %s\n",
			runID, class, opt.Bookings, opt.Seats, opt.Places, ev.ID, opt.Concurrency, strings.Join(opt.Kills, ", "), opt.KillEvery)
	} else {
		fmt.Fprintf(out, "chaos %s [%s]: %d bookings on %d seats and %d places (event %s), %d at once, over %s\n",
			runID, class, opt.Bookings, opt.Seats, opt.Places, ev.ID, opt.Concurrency, opt.Spread)
	}

	res := &Result{Class: class, Answers: map[string]int{}, Seen: map[string]int{}}
	md, err := newMeddler(ctx, cfg, opt, out)
	if err != nil {
		return nil, err
	}
	defer md.close()
	postingDone := make(chan struct{})
	killed := make(chan []string, 1)
	go func() { killed <- killLoop(ctx, cfg, opt, postingDone, out) }()
	fr := &FaultRun{Cfg: cfg, Event: ev, Out: out, Posting: postingDone, res: res}
	fr.markLogs()
	faultDone := make(chan error, 1)
	if opt.Fault != nil {
		go func() { faultDone <- opt.Fault.Inject(ctx, fr) }()
	} else {
		faultDone <- nil
	}

	prog.Phase("bookings under faults", int64(opt.Bookings), "bookings posted")
	var posted, held atomic.Int64
	var refusedMu sync.Mutex
	var refused []string // bookings the buyer was finally told 409 about
	answers := map[string]int{}
	jobs := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < opt.Concurrency; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				o := bookOne(ctx, buyers[i], ev, opt, md)
				if o.held {
					held.Add(1)
				}
				refusedMu.Lock()
				if o.refusedID != "" {
					refused = append(refused, o.refusedID)
				}
				answers[o.answer]++
				for _, a := range o.attempts {
					res.Seen[a]++
				}
				if o.held {
					fr.Held = append(fr.Held, HeldBooking{ID: o.booking, Token: o.token})
				}
				if o.answer == "202" || strings.HasPrefix(o.answer, "409") {
					res.decisions = append(res.decisions, o.took)
				} else {
					res.Unanswered = append(res.Unanswered, fmt.Sprintf("key %s from %s for %s: %s", o.key,
						o.began.UTC().Format("15:04:05.000"), o.took.Round(time.Millisecond), strings.Join(o.attempts, ", ")))
				}
				refusedMu.Unlock()
				posted.Add(1)
				prog.Add(1)
			}
		}()
	}
	for i := 0; i < opt.Bookings; i++ {
		if opt.Spread > 0 {
			select {
			case <-ctx.Done():
			case <-time.After(time.Until(began.Add(opt.Spread * time.Duration(i) / time.Duration(opt.Bookings)))):
			}
		}
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	close(postingDone)
	if len(opt.Kills) > 0 {
		prog.Note("every process killed at least once before the drain")
	}
	res.Killed = <-killed // the loop ends once every process was killed at least once
	if opt.Fault != nil {
		prog.Note("the fault taken back")
	}
	if err := <-faultDone; err != nil {
		return nil, fmt.Errorf("fault %s: %w", class, err)
	}
	res.Answers = answers
	prog.End()
	fmt.Fprintf(out, "posted %d bookings (%d held); draining (up to %s)\n", posted.Load(), held.Load(), opt.Drain)

	st, err := audit.Open(ctx, cfg)
	if err != nil {
		return nil, err
	}
	defer st.Close(ctx)
	pending, err := st.Drain(ctx, ev.ID, opt.Drain, prog)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(out, "drained: %d bookings still PENDING\n", pending)
	emails := map[string]string{}
	for _, b := range buyers {
		emails[b.UserID] = b.Email
	}
	md.mu.Lock()
	forged := md.forged
	res.Meddled = md.counts
	md.mu.Unlock()
	prog.Phase("audit", 0, "")
	if res.Report, err = st.Event(ctx, ev.ID, audit.Options{Emails: emails, ExpectedDeadLetters: forged}); err != nil {
		return nil, err
	}
	wentOn, err := st.NotFailed(ctx, refused)
	if err != nil {
		return nil, err
	}
	res.Add("no booking refused with 409 went on", len(wentOn) == 0, "%d of %d refused bookings not FAILED %v",
		len(wentOn), len(refused), wentOn)
	refunded, made, err := md.capturesRefunded(ctx, st)
	if err != nil {
		return nil, err
	}
	res.Add("every capture nobody expected refunded", refunded == made, "%d of %d refunded by their reference", refunded, made)
	if opt.Fault != nil {
		if opt.Fault.Check != nil {
			if err := opt.Fault.Check(ctx, fr, st); err != nil {
				return nil, fmt.Errorf("fault %s: %w", class, err)
			}
		}
		commonChecks(fr, opt.Fault)
	}
	prog.End()
	res.Took = time.Since(began)
	return res, nil
}

// killLoop kills the processes in turn (SIGKILL), waits for each to be back, then pauses. It goes
// on while bookings are being posted, and at least until each process was killed once.
func killLoop(ctx context.Context, cfg *devstack.Settings, opt Options, postingDone <-chan struct{}, out io.Writer) []string {
	var killed []string
	if len(opt.Kills) == 0 {
		return nil
	}
	time.Sleep(min(opt.KillEvery, 2*time.Second))
	for i := 0; ctx.Err() == nil; i++ {
		if i >= len(opt.Kills) {
			select {
			case <-postingDone:
				return killed
			default:
			}
		}
		name := opt.Kills[i%len(opt.Kills)]
		if proc, ok := strings.CutPrefix(name, "pause:"); ok {
			proc = replicaToKill(cfg, proc, i/len(opt.Kills))
			fmt.Fprintf(out, "  %s paused for %s\n", proc, opt.PauseFor)
			if _, err := devstack.Pause(cfg, proc, opt.PauseFor); err != nil {
				fmt.Fprintf(out, "  pause %s: %v\n", proc, err)
			} else {
				killed = append(killed, name)
			}
			continue
		}
		name = replicaToKill(cfg, name, i/len(opt.Kills))
		pid, err := devstack.Kill(cfg, name, 0)
		if err != nil {
			fmt.Fprintf(out, "  kill %s: %v\n", name, err)
		} else {
			fmt.Fprintf(out, "  %s killed (pid %d)\n", name, pid)
			killed = append(killed, name)
			wctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			err := devstack.WaitRestarted(wctx, cfg, name, pid, healthURL(cfg, name))
			if err == nil {
				err = waitListening(wctx, cfg, name)
			}
			if err != nil {
				fmt.Fprintf(out, "  %s did not come back: %v\n", name, err)
			}
			cancel()
		}
		select {
		case <-ctx.Done():
		case <-time.After(opt.KillEvery):
		}
	}
	return killed
}

// waitListening waits until a restarted server accepts connections again (the next kill waits
// for the last one to be back, as a rolling fault would).
func waitListening(ctx context.Context, cfg *devstack.Settings, process string) error {
	addr := map[string]string{"kafka": cfg.KafkaBrokers[0], "temporal": cfg.TemporalAddr}[process]
	for addr != "" {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			return conn.Close()
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
	return nil
}

func healthURL(cfg *devstack.Settings, name string) string {
	for _, p := range config.Processes {
		for k := 0; k < cfg.Replicas; k++ {
			if devstack.ReplicaName(p, k) == name {
				return fmt.Sprintf("http://127.0.0.1:%d/health", cfg.ReplicaPort(p, k))
			}
		}
	}
	return "" // infrastructure: the pid is enough; clients retry until it answers
}

// replicaToKill picks, for round r of the kills, which replica of an application process dies:
// with several, each round kills the next one (never all of a process at once).
func replicaToKill(cfg *devstack.Settings, process string, round int) string {
	for _, p := range config.Processes {
		if p == process {
			return devstack.ReplicaName(process, (round+1)%cfg.Replicas)
		}
	}
	return process
}

// outcome is what one buyer's attempt ended with.
type outcome struct {
	held      bool
	refusedID string // the booking id of a final 409 that named one
	answer    string // the final answer: its status and code (Result.Answers)
	attempts  []string
	key       string        // the Idempotency-Key of every attempt
	began     time.Time     // the first attempt
	took      time.Duration // from the first attempt to the final answer
	booking   string        // the booking held, and the token it pays with
	token     string
}

// answerOf names an answer for Result.Answers.
func answerOf(status int, body []byte, err error) string {
	if err != nil {
		return "error: " + errorKind(err)
	}
	if code := loadgen.ErrorCode(body); code != "" {
		return fmt.Sprintf("%d %s", status, code)
	}
	return fmt.Sprint(status)
}

// errorKind shortens a transport error to its kind (a timeout, a reset, a refusal, ...).
func errorKind(err error) string {
	msg := err.Error()
	for _, k := range []string{"timeout", "deadline exceeded", "reset", "refused", "EOF", "broken pipe"} {
		if strings.Contains(msg, k) {
			return k
		}
	}
	return msg
}

// bookOne books 1 or 2 seats, most buyers wanting the front rows — or, for a share of them, 1 or 2
// places of the area, with a seat or not. Like a real frontend it retries a 503, a 409
// IDEMPOTENCY_KEY_IN_USE or a dropped connection with the same Idempotency-Key; some buyers give up
// on their first request after a few milliseconds and retry it.
func bookOne(ctx context.Context, b *loadgen.Buyer, ev loadgen.Event, opt Options, md *meddler) outcome {
	n := 1 + rand.IntN(2)
	var quantities []map[string]any
	if ev.Area != "" && rand.Float64() < opt.AreaShare {
		quantities = []map[string]any{{"section": ev.Area, "quantity": 1 + rand.IntN(2)}}
		n = rand.IntN(2) // a seat beside the places, or none
	}
	seats := map[string]bool{}
	for len(seats) < n && len(ev.Seats) > 0 {
		// Hot spot: half the buyers aim at the first fifth of the seats.
		span := len(ev.Seats)
		if rand.Float64() < 0.5 {
			span = max(n, len(ev.Seats)/5)
		}
		seats[ev.Seats[rand.IntN(span)]] = true
	}
	var seatIDs []string
	for s := range seats {
		seatIDs = append(seatIDs, s)
	}
	tok := "tok_visa"
	switch r := rand.Float64(); {
	case r < opt.Decline:
		tok = "tok_chargeDeclined"
	case r < opt.Decline+opt.NoResponse:
		tok = "tok_noResponse"
	}
	body := map[string]any{"eventId": ev.ID, "paymentMethod": map[string]string{"type": "card", "token": tok}}
	if len(seatIDs) > 0 {
		body["seatIds"] = seatIDs
	}
	if quantities != nil {
		body["quantities"] = quantities
	}
	key := ids.New()
	var status int
	var raw []byte
	var err error
	impatient := rand.Float64() < opt.ClientTimeouts
	began := time.Now()
	var attempts []string
	for attempt := 0; attempt < 20; attempt++ {
		actx, cancel := ctx, context.CancelFunc(func() {})
		if impatient && attempt == 0 {
			actx, cancel = context.WithTimeout(ctx, time.Duration(20+rand.IntN(280))*time.Millisecond)
		}
		status, raw, err = b.Do(actx, http.MethodPost, "/api/bookings", body, "Idempotency-Key", key)
		cancel()
		attempts = append(attempts, answerOf(status, raw, err))
		if err == nil && status != http.StatusServiceUnavailable && status != http.StatusBadGateway &&
			!(status == http.StatusConflict && strings.Contains(string(raw), booking.CodeKeyInUse)) {
			break
		}
		time.Sleep(time.Duration(200+rand.IntN(800)) * time.Millisecond)
	}
	o := outcome{answer: answerOf(status, raw, err), attempts: attempts, key: key, began: began, took: time.Since(began), token: tok}
	if err != nil {
		return o
	}
	if status == http.StatusConflict {
		var e struct {
			Error struct {
				Details struct {
					BookingID string `json:"bookingId"`
				} `json:"details"`
			} `json:"error"`
		}
		_ = json.Unmarshal(raw, &e)
		o.refusedID = e.Error.Details.BookingID
		return o
	}
	if status != http.StatusAccepted && status != http.StatusOK {
		return o
	}
	var bk struct {
		ID, Status  string
		AmountMinor int64
		Currency    string
	}
	if json.Unmarshal(raw, &bk) != nil || bk.ID == "" {
		return o
	}
	o.held, o.booking = true, bk.ID
	md.held(ctx, bk.ID, bk.AmountMinor, bk.Currency)
	if rand.Float64() < opt.Cancel {
		time.Sleep(time.Duration(rand.IntN(1500)) * time.Millisecond)
		for attempt := 0; attempt < 20; attempt++ {
			s, _, err := b.Do(ctx, http.MethodPost, "/api/bookings/"+bk.ID+"/cancel", nil)
			if err == nil && s == http.StatusOK {
				md.cancelled(ctx, bk.ID, bk.AmountMinor, bk.Currency)
			}
			if err == nil && s != http.StatusServiceUnavailable {
				break
			}
			time.Sleep(time.Duration(300+rand.IntN(700)) * time.Millisecond)
		}
	}
	return o
}
