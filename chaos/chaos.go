// Package chaos is `ticketflow chaos`: hundreds of bookings on one event through the gateway —
// some declined, some left to expire, some cancelled — while the worker, the bridge, the payment
// and inventory services, the Kafka broker and the Temporal server are killed with SIGKILL one
// after another. When the run drains it checks, from the stores themselves, that nothing was sold
// twice, lost, charged without a ticket or left hanging, and prints the result as a table.
package chaos

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"ticketflow/audit"
	"ticketflow/config"
	"ticketflow/devstack"
	"ticketflow/ids"
	"ticketflow/loadgen"
)

// Options shape a run.
type Options struct {
	Bookings    int           // bookings attempted
	Seats       int           // seats of the event (fewer than bookings want: contention)
	Concurrency int           // buyers at once
	Kills       []string      // processes killed, in turn
	KillEvery   time.Duration // pause between kills
	Decline     float64       // share of bookings paid with tok_chargeDeclined
	NoResponse  float64       // share paid with tok_noResponse (they expire)
	Cancel      float64       // share of held bookings cancelled by the buyer
	Drain       time.Duration // how long to wait for every booking to end
}

// DefaultKills is the order processes are killed in.
var DefaultKills = []string{config.Worker, config.Bridge, config.Payment, config.Inventory, "kafka", "temporal"}

// Result is the outcome of a run: the audit of the event, and what was killed.
type Result struct {
	*audit.Report
	Killed []string
}

// Print writes the counts and the audit table.
func (r *Result) Print(w io.Writer) {
	fmt.Fprintf(w, "\nbookings by status: %v\nkilled: %s\n\n", r.Counts, strings.Join(r.Killed, ", "))
	r.Report.Print(w)
}

// Run performs a chaos run against the running stack of cfg and checks the outcome.
func Run(ctx context.Context, cfg *config.Config, opt Options, out io.Writer) (*Result, error) {
	runID := ids.New()[:8]
	ev, err := loadgen.CreateEvent(ctx, cfg, "Chaos "+runID, opt.Seats, 1000)
	if err != nil {
		return nil, err
	}
	buyers, err := loadgen.NewBuyers(cfg, opt.Bookings, "chaos-"+runID)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(out, "chaos %s: %d bookings on %d seats (event %s), %d at once, killing %s every %s\n",
		runID, opt.Bookings, opt.Seats, ev.ID, opt.Concurrency, strings.Join(opt.Kills, ", "), opt.KillEvery)

	res := &Result{}
	postingDone := make(chan struct{})
	killed := make(chan []string, 1)
	go func() { killed <- killLoop(ctx, cfg, opt, postingDone, out) }()

	var posted, held atomic.Int64
	jobs := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < opt.Concurrency; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				if bookOne(ctx, buyers[i], ev, opt) {
					held.Add(1)
				}
				posted.Add(1)
			}
		}()
	}
	for i := 0; i < opt.Bookings; i++ {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	close(postingDone)
	res.Killed = <-killed // the loop ends once every process was killed at least once
	fmt.Fprintf(out, "posted %d bookings (%d held); draining (up to %s)\n", posted.Load(), held.Load(), opt.Drain)

	st, err := audit.Open(ctx, cfg)
	if err != nil {
		return nil, err
	}
	defer st.Close(ctx)
	pending, err := st.Drain(ctx, ev.ID, opt.Drain)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(out, "drained: %d bookings still PENDING\n", pending)
	emails := map[string]string{}
	for _, b := range buyers {
		emails[b.UserID] = b.Email
	}
	if res.Report, err = st.Event(ctx, ev.ID, audit.Options{Emails: emails}); err != nil {
		return nil, err
	}
	return res, nil
}

// killLoop kills the processes in turn (SIGKILL), waits for each to be back, then pauses. It goes
// on while bookings are being posted, and at least until each process was killed once.
func killLoop(ctx context.Context, cfg *config.Config, opt Options, postingDone <-chan struct{}, out io.Writer) []string {
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
func waitListening(ctx context.Context, cfg *config.Config, process string) error {
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

func healthURL(cfg *config.Config, process string) string {
	if u, ok := cfg.URLs[process]; ok {
		return u + "/health"
	}
	return "" // infrastructure: the pid is enough; clients retry until it answers
}

// bookOne books 1 or 2 seats, most buyers wanting the front rows. Like a real frontend it retries
// a 503 or a dropped connection with the same Idempotency-Key. It reports whether seats were held.
func bookOne(ctx context.Context, b *loadgen.Buyer, ev loadgen.Event, opt Options) bool {
	n := 1 + rand.IntN(2)
	seats := map[string]bool{}
	for len(seats) < n {
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
	body := map[string]any{"eventId": ev.ID, "seatIds": seatIDs, "paymentMethod": map[string]string{"type": "card", "token": tok}}
	key := ids.New()
	var status int
	var raw []byte
	for attempt := 0; attempt < 20; attempt++ {
		var err error
		status, raw, err = b.Do(ctx, http.MethodPost, "/api/bookings", body, "Idempotency-Key", key)
		if err == nil && status != http.StatusServiceUnavailable && status != http.StatusBadGateway {
			break
		}
		time.Sleep(time.Duration(200+rand.IntN(800)) * time.Millisecond)
	}
	if status != http.StatusAccepted && status != http.StatusOK {
		return false
	}
	var bk struct{ ID, Status string }
	if json.Unmarshal(raw, &bk) != nil || bk.ID == "" {
		return false
	}
	if rand.Float64() < opt.Cancel {
		time.Sleep(time.Duration(rand.IntN(1500)) * time.Millisecond)
		for attempt := 0; attempt < 20; attempt++ {
			s, _, err := b.Do(ctx, http.MethodPost, "/api/bookings/"+bk.ID+"/cancel", nil)
			if err == nil && s != http.StatusServiceUnavailable {
				break
			}
			time.Sleep(time.Duration(300+rand.IntN(700)) * time.Millisecond)
		}
	}
	return true
}
