package chaos

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"ticketflow/internal/config"
	"ticketflow/tools/audit"
	"ticketflow/tools/devstack"
	"ticketflow/tools/faults"
	"ticketflow/tools/loadgen"
)

// The fault classes besides kills: faults that leave a process alive and wrong (issue 28). Each
// is a run of its own — a sale on an event of its own, the fault made in the middle of it and
// taken back, the drain, the audit and the class's own checks — and a row of the summary.

// Fault is a fault class.
type Fault struct {
	Name string
	// What is the fault in a few words, for the table.
	What string
	// Inject makes the fault while the bookings are posted and returns once it is taken back (the
	// posting goes on until every booking is posted; the drain waits for Inject).
	Inject func(ctx context.Context, r *FaultRun) error
	// Check adds the class's own lines to the table, after the audit.
	Check func(ctx context.Context, r *FaultRun, st *audit.Stores) error
	// Spread is how long the sale lasts (the bookings are posted evenly over it).
	Spread time.Duration
	// Drain is how long the run waits for its bookings to end, past the stack's hold TTL and the
	// usual three minutes (a skewed clock holds seats longer).
	Drain time.Duration
	// ServerErrorsExpected: a buyer may be told 5xx in the end (a full disk); every other class
	// must answer every buyer with a decision.
	ServerErrorsExpected bool
}

// HeldBooking is a booking a buyer was told 202 for, and the payment token it pays with.
type HeldBooking struct{ ID, Token string }

// FaultRun is a fault class's view of its run.
type FaultRun struct {
	Cfg     *devstack.Settings
	Event   loadgen.Event
	Out     io.Writer
	Posting <-chan struct{} // closed once every booking is posted
	// Held are the bookings held, known once the posting is done (Check).
	Held []HeldBooking
	res  *Result
	mu   sync.Mutex
	logs map[string]int64 // each log file's size when the run began

	// What the classes measure for their checks.
	lost        int64                    // lost-replies: replies lost
	quiet       []string                 // lost-replies: link kinds that lost none
	reads       map[string]int           // redis-pressure: the seat-map readers' answers
	holdLives   map[string]time.Duration // clock: each booking's hold lifetime on PostgreSQL's clock
	longestHold time.Duration
}

// Note records what the fault did or saw (a line of the run's report).
func (r *FaultRun) Note(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	line := fmt.Sprintf(format, args...)
	r.res.Notes = append(r.res.Notes, line)
	fmt.Fprintf(r.Out, "  fault: %s\n", line)
}

// Add adds a line to the run's table.
func (r *FaultRun) Add(check string, ok bool, format string, args ...any) {
	r.res.Add(check, ok, format, args...)
}

// Result is the run's result so far (the answers are known once the posting is done).
func (r *FaultRun) Result() *Result { return r.res }

// Scale sizes the fault classes: Hold is how long a fault is held (the 30 s for a replica
// cut off; the CPU quota is held twice as long, a minute in a full run).
type Scale struct {
	Hold time.Duration
}

// ClassNames are the fault classes in the order a full run makes them ("kills" is the run of
// kills and meddling that came first).
var ClassNames = []string{"kills", "lost-replies", "slow-links", "replica-cut", "disk-full", "cpu-starve",
	"rebalance", "redis-pressure", "clock"}

// Classes returns the fault classes of sc by name (all but "kills", which is Options.Kills).
func Classes(sc Scale) map[string]*Fault {
	h := sc.Hold
	return map[string]*Fault{
		"lost-replies":   lostReplies(h),
		"slow-links":     slowLinks(h),
		"replica-cut":    replicaCut(h),
		"disk-full":      diskFull(h),
		"cpu-starve":     cpuStarve(h),
		"rebalance":      rebalance(h),
		"redis-pressure": redisPressure(h),
		"clock":          clocks(h),
	}
}

// lead is how long a sale goes on before its fault is made, and after it is taken back.
func lead(hold time.Duration) time.Duration { return max(hold/3, 3*time.Second) }

// holdFault makes a fault lead into the sale, holds it, takes it back.
func holdFault(ctx context.Context, r *FaultRun, hold time.Duration, make func() (faults.Restore, error)) error {
	if err := sleep(ctx, lead(hold)); err != nil {
		return err
	}
	restore, err := make()
	if err != nil {
		return err
	}
	waitErr := sleep(ctx, hold)
	return errors.Join(waitErr, restore())
}

func sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

// --- 1. lost replies ---------------------------------------------------------------------------

// lostLinks are the links whose replies are lost, by kind, with the share of reply chunks lost,
// the bytes of each connection let through first (its handshake; counted from when the toxic is
// put on, so small for a quiet link whose connections are old), and how long a lost reply leaves
// the client waiting before the connection ends (0: at once). The quieter a link, the likelier
// each reply is lost; and each link's first reply past the skip is lost whatever the probability
// (lose_first), so that every link loses one in a short pass too (at the probabilities alone, a
// pass of 24 bookings lost none on one link in three passes out of four: booking→inventory carries
// one request a booking, and Kafka's consumers wait at the broker, a fetch answered only when a
// message comes, each partition on a connection of its own).
var lostLinks = []struct {
	kind        string
	probability float64
	skip, stall int64
}{
	{"postgres", 0.01, 1024, 0},
	{"inventory", 0.05, 0, 4000},
	{"temporal-worker", 0.05, 512, 3000},
	{"temporal-bridge", 0.3, 0, 0},
	{"kafka", 0.02, 512, 0},
}

// proxiesOf lists the stack's proxies of a link kind: "postgres", "inventory" (each replica's),
// "temporal-worker" (each worker replica's), "kafka" (every Kafka proxy).
func proxiesOf(cfg *devstack.Settings, kind string) []string {
	var out []string
	for _, p := range cfg.FaultProxies() {
		switch {
		case kind == "kafka" && p.KafkaListener != "",
			kind == p.Name,
			kind == devstack.ProxyInventory && strings.HasPrefix(p.Name, devstack.ProxyInventory),
			strings.HasPrefix(kind, "temporal-") && strings.HasPrefix(p.Name, kind):
			out = append(out, p.Name)
		}
	}
	return out
}

func lostReplies(hold time.Duration) *Fault {
	return &Fault{
		Name: "lost-replies", Spread: hold + 2*lead(hold),
		What: "replies cut or stalled on worker→Temporal, bridge→Temporal, booking→inventory, services→PostgreSQL, producers→Kafka",
		Inject: func(ctx context.Context, r *FaultRun) error {
			links, err := faults.NewLinks(r.Cfg)
			if err != nil {
				return err
			}
			err = holdFault(ctx, r, hold, func() (faults.Restore, error) {
				var toxics []faults.Toxic
				for _, l := range lostLinks {
					for _, p := range proxiesOf(r.Cfg, l.kind) {
						toxics = append(toxics, faults.Toxic{Proxy: p, Type: "lost_reply", Stream: "downstream", Toxicity: 1,
							Attributes: map[string]any{"probability": l.probability, "skip_bytes": l.skip, "stall": l.stall, "lose_first": true}})
					}
				}
				restore, err := links.Add("lost", toxics...)
				if err != nil {
					return nil, err
				}
				r.Note("replies lost on %d links for %s", len(toxics), hold)
				return func() error {
					// Count before the toxics go: their counts go with them.
					for _, l := range lostLinks {
						n, err := links.Lost("lost", proxiesOf(r.Cfg, l.kind)...)
						if err != nil {
							return err
						}
						r.Note("%s: %d replies lost (p=%.2f, %s)", l.kind, n, l.probability,
							map[bool]string{true: fmt.Sprintf("stalled %dms first", l.stall), false: "cut at once"}[l.stall > 0])
						r.lost += n
						if n == 0 {
							r.quiet = append(r.quiet, l.kind)
						}
					}
					return restore()
				}, nil
			})
			return err
		},
		Check: func(ctx context.Context, r *FaultRun, st *audit.Stores) error {
			r.Add("replies were lost on every link", r.lost > 0 && len(r.quiet) == 0, "%d replies lost; none on %v", r.lost, r.quiet)
			return nil
		},
	}
}

// --- 2. slow links -----------------------------------------------------------------------------

func slowLinks(hold time.Duration) *Fault {
	return &Fault{
		Name: "slow-links", Spread: hold + 2*lead(hold),
		What: "200 ± 100 ms on every reply from PostgreSQL and Kafka",
		Inject: func(ctx context.Context, r *FaultRun) error {
			links, err := faults.NewLinks(r.Cfg)
			if err != nil {
				return err
			}
			return holdFault(ctx, r, hold, func() (faults.Restore, error) {
				var toxics []faults.Toxic
				for _, kind := range []string{devstack.ProxyPostgres, "kafka"} {
					for _, p := range proxiesOf(r.Cfg, kind) {
						toxics = append(toxics, faults.Toxic{Proxy: p, Type: "latency", Stream: "downstream", Toxicity: 1,
							Attributes: map[string]any{"latency": 200, "jitter": 100}})
					}
				}
				r.Note("latency 200 ± 100 ms on %d links for %s", len(toxics), hold)
				return links.Add("slow", toxics...)
			})
		},
		Check: func(ctx context.Context, r *FaultRun, st *audit.Stores) error {
			p50, p95 := r.res.DecisionTimes()
			r.Note("seat decisions took %s (median), %s (p95)", p50.Round(time.Millisecond), p95.Round(time.Millisecond))
			return nil
		},
	}
}

// --- 3. one replica cut off --------------------------------------------------------------------

func replicaCut(hold time.Duration) *Fault {
	return &Fault{
		Name: "replica-cut", Spread: hold + 2*lead(hold),
		What: "a worker and a bridge replica lose Temporal and Kafka (silently) while their twins run",
		Inject: func(ctx context.Context, r *FaultRun) error {
			links, err := faults.NewLinks(r.Cfg)
			if err != nil {
				return err
			}
			k := r.Cfg.Replicas - 1 // the last replica; with one, the only one (nothing to take over)
			return holdFault(ctx, r, hold, func() (faults.Restore, error) {
				var toxics []faults.Toxic
				var cut []string
				for _, p := range []string{config.Worker, config.Bridge} {
					replica := devstack.ReplicaName(p, k)
					cut = append(cut, replica)
					for _, link := range []string{devstack.ProxyTemporal, devstack.ProxyKafka} {
						for _, stream := range []string{"upstream", "downstream"} {
							// timeout 0: nothing passes and the connection stays open, as behind a
							// partition (a refused connection would be the kind fault).
							toxics = append(toxics, faults.Toxic{Proxy: devstack.ProxyName(link, replica), Type: "timeout",
								Stream: stream, Toxicity: 1, Attributes: map[string]any{"timeout": 0}})
						}
					}
				}
				if r.Cfg.Replicas == 1 {
					r.Note("one replica of each process: %v cut off with no twin to take over", cut)
				}
				r.Note("%v cut off from Temporal and Kafka for %s", cut, hold)
				return links.Add("cut", toxics...)
			})
		},
	}
}

// --- 4. disk full ------------------------------------------------------------------------------

func diskFull(hold time.Duration) *Fault {
	each := max(hold*2/3, 8*time.Second)
	return &Fault{
		Name: "disk-full", Spread: 2*each + 3*lead(hold), ServerErrorsExpected: true,
		What: "PostgreSQL's data filesystem fills during the sale, then Kafka's; space returns",
		Inject: func(ctx context.Context, r *FaultRun) error {
			for _, server := range []string{"postgres", "kafka"} {
				dir := r.Cfg.FaultDisk(server)
				err := holdFault(ctx, r, each, func() (faults.Restore, error) {
					restore, size, err := faults.Fill(dir)
					if err != nil {
						return nil, err
					}
					free, _ := faults.Free(dir)
					r.Note("%s's filesystem full (%d KiB, %d bytes free) for %s", server, size>>10, free, each)
					return restore, nil
				})
				if err != nil {
					return err
				}
			}
			return nil
		},
		Check: func(ctx context.Context, r *FaultRun, st *audit.Stores) error {
			var refused, internal []string
			for a, n := range r.res.Seen {
				switch {
				case strings.HasPrefix(a, "503"):
					refused = append(refused, fmt.Sprintf("%s ×%d", a, n))
				case strings.HasPrefix(a, "500"):
					internal = append(internal, fmt.Sprintf("%s ×%d", a, n))
				}
			}
			sort.Strings(refused)
			r.Add("a full disk is told as 503, never 500", len(internal) == 0, "503s %v; 500s %v", refused, internal)
			return nil
		},
	}
}

// --- 5. starved CPU ----------------------------------------------------------------------------

// starveShare is the share of one core a starved process gets.
const starveShare = 0.15

func cpuStarve(hold time.Duration) *Fault {
	each := 2 * hold
	return &Fault{
		Name: "cpu-starve", Spread: 2*each + 3*lead(hold),
		What: fmt.Sprintf("the worker, then Temporal, held to %d%% of a core", int(starveShare*100)),
		Inject: func(ctx context.Context, r *FaultRun) error {
			var workers []string
			for k := 0; k < r.Cfg.Replicas; k++ {
				workers = append(workers, devstack.ReplicaName(config.Worker, k))
			}
			for _, group := range [][]string{workers, {"temporal"}} {
				err := holdFault(ctx, r, each, func() (faults.Restore, error) {
					restore, method, err := faults.Starve(r.Cfg, starveShare, group...)
					if err != nil {
						return nil, err
					}
					r.Note("%v held to %d%% of a core (%s) for %s", group, int(starveShare*100), method, each)
					return restore, nil
				})
				if err != nil {
					return err
				}
			}
			return nil
		},
		Check: expiredInTime,
	}
}

// expiredInTime: every held booking whose payment never answers (tok_noResponse) ended EXPIRED,
// or CANCELLED by its buyer: the hold still expired.
func expiredInTime(ctx context.Context, r *FaultRun, st *audit.Stores) error {
	var ids []string
	for _, h := range r.Held {
		if h.Token == "tok_noResponse" {
			ids = append(ids, h.ID)
		}
	}
	status, err := st.Statuses(ctx, ids)
	if err != nil {
		return err
	}
	var wrong []string
	for _, id := range ids {
		if s := status[id]; s != "EXPIRED" && s != "CANCELLED" {
			wrong = append(wrong, id+" "+s)
		}
	}
	r.Add("every unpaid hold expired", len(wrong) == 0, "%d unpaid holds, %d not EXPIRED %v", len(ids), len(wrong), first(wrong, 3))
	return nil
}

func first(s []string, n int) []string { return s[:min(n, len(s))] }

// --- 6. consumer rebalance ---------------------------------------------------------------------

// consumerSession is the bridge's consumer group session (internal/bus): a member silent longer
// is out of the group and its partitions go to the others.
const consumerSession = 6 * time.Second

func rebalance(hold time.Duration) *Fault {
	pause := max(hold/2, 3*consumerSession)
	return &Fault{
		Name: "rebalance", Spread: pause + 2*lead(hold),
		What: "a bridge replica paused past its consumer group session during a burst, then resumed",
		Inject: func(ctx context.Context, r *FaultRun) error {
			bridge := devstack.ReplicaName(config.Bridge, r.Cfg.Replicas-1)
			if err := sleep(ctx, lead(hold)); err != nil {
				return err
			}
			before, _ := handled(ctx, r.Cfg)
			r.Note("%s paused (SIGSTOP) for %s, its group session being %s", bridge, pause, consumerSession)
			if _, err := devstack.Pause(r.Cfg, bridge, pause); err != nil {
				return err
			}
			r.Note("%s resumed", bridge)
			if err := sleep(ctx, lead(hold)); err != nil {
				return err
			}
			after, _ := handled(ctx, r.Cfg)
			r.Note("the bridges handled %d payment results around the pause", after-before)
			return nil
		},
	}
}

// handled sums the bridges' payment.processed messages handled (their /metrics).
func handled(ctx context.Context, cfg *devstack.Settings) (int64, error) {
	var n int64
	for k := 0; k < cfg.Replicas; k++ {
		url := fmt.Sprintf("http://127.0.0.1:%d/metrics", cfg.ReplicaPort(config.Bridge, k))
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return n, err
		}
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			line := sc.Text()
			if strings.HasPrefix(line, "ticketflow_kafka_messages_handled_total{") && strings.Contains(line, "payment.processed") {
				var v float64
				if _, err := fmt.Sscan(line[strings.LastIndex(line, " ")+1:], &v); err == nil {
					n += int64(v)
				}
			}
		}
		resp.Body.Close()
	}
	return n, nil
}

// --- 7. Redis under memory pressure ------------------------------------------------------------

func redisPressure(hold time.Duration) *Fault {
	return &Fault{
		Name: "redis-pressure", Spread: hold + 2*lead(hold),
		What: "Redis at a tiny maxmemory: keys evicted (allkeys-lru), then writes refused (volatile-lru)",
		Inject: func(ctx context.Context, r *FaultRun) error {
			readers, cancel := context.WithCancel(ctx)
			reads := make(chan map[string]int, 1)
			go func() { reads <- readSeatMaps(readers, r) }()
			before, _ := faults.RedisEvicted(ctx, r.Cfg.RedisAddr)
			err := holdFault(ctx, r, hold, func() (faults.Restore, error) {
				evict, err := faults.SqueezeRedis(ctx, r.Cfg.RedisAddr, 64<<10, "allkeys-lru")
				if err != nil {
					return nil, err
				}
				r.Note("Redis maxmemory: what it holds + 64 KiB, allkeys-lru, for %s", hold/2)
				if err := sleep(ctx, hold/2); err != nil {
					return evict, nil
				}
				refuse, err := faults.SqueezeRedis(ctx, r.Cfg.RedisAddr, 0, "volatile-lru")
				if err != nil {
					return evict, nil
				}
				r.Note("Redis maxmemory: what it holds, volatile-lru (writes of keys without a TTL refused), for %s", hold/2)
				return func() error { return errors.Join(refuse(), evict()) }, nil
			})
			after, _ := faults.RedisEvicted(ctx, r.Cfg.RedisAddr)
			r.Note("Redis evicted %d keys", after-before)
			<-r.Posting
			cancel()
			r.reads = <-reads
			return err
		},
		Check: func(ctx context.Context, r *FaultRun, st *audit.Stores) error {
			var bad []string
			total := 0
			for a, n := range r.reads {
				total += n
				if a != "200" && a != "304" {
					bad = append(bad, fmt.Sprintf("%s ×%d", a, n))
				}
			}
			sort.Strings(bad)
			r.Add("seat maps and events read without a 5xx", total > 0 && len(bad) == 0, "%d reads; not 200: %v", total, bad)
			return nil
		},
	}
}

// readSeatMaps reads the event's seat map and the event (its availability) every 100 ms as a
// visitor would, until ctx ends, and counts the answers.
func readSeatMaps(ctx context.Context, r *FaultRun) map[string]int {
	out := map[string]int{}
	visitors, err := loadgen.NewBuyers(r.Cfg, 2, "chaos-reader")
	if err != nil {
		return map[string]int{"error: " + err.Error(): 1}
	}
	for i := 0; ctx.Err() == nil; i++ {
		path := "/api/inventory/events/" + r.Event.ID + "/seats"
		if i%2 == 1 {
			path = "/api/events/" + r.Event.ID
		}
		status, body, err := visitors[i%2].Do(ctx, http.MethodGet, path, nil)
		if ctx.Err() != nil {
			break
		}
		out[answerOf(status, body, err)]++
		_ = sleep(ctx, 100*time.Millisecond)
	}
	return out
}

// --- 8. clocks ---------------------------------------------------------------------------------

// ClockOffset is how far the clock class moves the processes' clocks from PostgreSQL's.
const ClockOffset = 2 * time.Minute

// clockProcesses are the processes that take the time deciding a deadline (docs/operations.md,
// "Which clock decides"); the clock class restarts them with an offset.
var clockProcesses = []string{config.Booking, config.Inventory, config.Event, config.User, config.Ticket, config.Gateway}

func clocks(hold time.Duration) *Fault {
	return &Fault{
		Name: "clock", Spread: 2*hold + 2*lead(hold), Drain: ClockOffset,
		What: fmt.Sprintf("the Go processes' clocks ±%s from PostgreSQL's", ClockOffset),
		Inject: func(ctx context.Context, r *FaultRun) error {
			sampled := make(chan error, 1)
			sampler, stop := context.WithCancel(ctx)
			go func() { sampled <- r.sampleHolds(sampler) }()
			defer func() { stop(); <-sampled }()
			if err := sleep(ctx, lead(hold)); err != nil {
				return err
			}
			// Replica k runs +offset, its twin -offset; then the other way round. With one
			// replica of each: +offset, then -offset.
			for _, sign := range []time.Duration{1, -1} {
				if err := r.offsetClocks(ctx, sign*ClockOffset); err != nil {
					return err
				}
				if err := sleep(ctx, hold); err != nil {
					return err
				}
			}
			return r.offsetClocks(ctx, 0)
		},
		Check: func(ctx context.Context, r *FaultRun, st *audit.Stores) error {
			allowed := r.Cfg.HoldTTL + ClockOffset + 5*time.Second
			var over []string
			for id, life := range r.holdLives {
				if life > allowed {
					over = append(over, fmt.Sprintf("%s %s", id, life.Round(time.Second)))
				}
			}
			sort.Strings(over)
			r.Add("no hold outlives its expiry by more than the offset", len(r.holdLives) > 0 && len(over) == 0,
				"%d holds seen, longest %s (allowed %s: HOLD_TTL + %s); over: %v", len(r.holdLives),
				r.longestHold.Round(time.Second), allowed, ClockOffset, first(over, 3))
			return nil
		},
	}
}

// offsetClocks restarts every clock process's replicas with their clocks moved: replica k by
// offset when k is even, by -offset when odd (0: the true clock), all at once.
func (r *FaultRun) offsetClocks(ctx context.Context, offset time.Duration) error {
	var wg sync.WaitGroup
	errs := make(chan error, len(clockProcesses)*r.Cfg.Replicas)
	var set []string
	for _, p := range clockProcesses {
		for k := 0; k < r.Cfg.Replicas; k++ {
			replica := devstack.ReplicaName(p, k)
			off := offset
			if k%2 == 1 {
				off = -offset
			}
			var env []string
			if off != 0 {
				env = []string{"TICKETFLOW_CLOCK_OFFSET=" + off.String()}
			}
			set = append(set, fmt.Sprintf("%s %+v", replica, off))
			health := fmt.Sprintf("http://127.0.0.1:%d/health", r.Cfg.ReplicaPort(p, k))
			wg.Add(1)
			go func() {
				defer wg.Done()
				rctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
				defer cancel()
				if err := faults.Restart(rctx, r.Cfg, replica, env, health); err != nil {
					errs <- err
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	var all []error
	for err := range errs {
		all = append(all, err)
	}
	r.Note("clocks: %s", strings.Join(set, ", "))
	return errors.Join(all...)
}

// sampleHolds watches the event's holds until ctx ends: each booking's hold lifetime is its
// held_until less PostgreSQL's clock when the hold was first seen.
func (r *FaultRun) sampleHolds(ctx context.Context) error {
	st, err := audit.Open(ctx, r.Cfg)
	if err != nil {
		return err
	}
	defer st.Close(context.Background())
	seen := map[string]time.Time{}
	r.holdLives = map[string]time.Duration{}
	for ctx.Err() == nil {
		holds, now, err := st.Holds(ctx, r.Event.ID)
		if err == nil {
			for _, h := range holds {
				first, ok := seen[h.BookingID]
				if !ok {
					first, seen[h.BookingID] = now, now
				}
				life := h.HeldUntil.Sub(first)
				r.holdLives[h.BookingID] = life
				r.longestHold = max(r.longestHold, life)
			}
		}
		_ = sleep(ctx, 250*time.Millisecond)
	}
	return nil
}

// --- checks every class makes ------------------------------------------------------------------

// markLogs remembers how long each process's log is, so that afterPanics reads only the run's.
func (r *FaultRun) markLogs() {
	r.logs = map[string]int64{}
	files, _ := filepath.Glob(filepath.Join(r.Cfg.LogDir(), "*.log"))
	for _, f := range files {
		if st, err := os.Stat(f); err == nil {
			r.logs[f] = st.Size()
		}
	}
}

// panics lists the log lines of the run that tell of a Go panic or a fatal runtime error in a
// TicketFlow process.
func (r *FaultRun) panics() []string {
	var out []string
	files, _ := filepath.Glob(filepath.Join(r.Cfg.LogDir(), "*.log"))
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".log")
		if !isApp(name) {
			continue
		}
		fh, err := os.Open(f)
		if err != nil {
			continue
		}
		_, _ = fh.Seek(r.logs[f], io.SeekStart)
		sc := bufio.NewScanner(fh)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			if line := sc.Text(); strings.HasPrefix(line, "panic:") || strings.HasPrefix(line, "fatal error:") {
				out = append(out, name+": "+line)
			}
		}
		fh.Close()
	}
	return out
}

// isApp reports whether a log file's name is a replica of an application process.
func isApp(name string) bool {
	for _, p := range config.Processes {
		if name == p || strings.HasPrefix(name, p+"-") {
			return true
		}
	}
	return false
}

// commonChecks are the lines every fault class adds: no process panicked, and every buyer was
// answered with the seat decision, 202 or 409 (or, where the class expects it, a 503 the buyer
// may retry later), after the retries a frontend makes: never a 500, a 401 for a good token, or
// no answer at all.
func commonChecks(r *FaultRun, f *Fault) {
	p := r.panics()
	r.Add("no process panicked", len(p) == 0, "%d panics %v", len(p), first(p, 3))
	var other []string
	n := 0
	for a, c := range r.res.Answers {
		if strings.HasPrefix(a, "202") || strings.HasPrefix(a, "409") || f.ServerErrorsExpected && strings.HasPrefix(a, "503") {
			continue
		}
		n += c
		other = append(other, fmt.Sprintf("%s ×%d", a, c))
	}
	sort.Strings(other)
	r.Add("every buyer answered 202 or 409 after retries", n == 0, "%d buyers answered otherwise %v", n, other)
	if n > 0 {
		for _, u := range first(r.res.Unanswered, 5) {
			r.Note("answered otherwise: %s", u)
		}
	}
}

// --- the summary -------------------------------------------------------------------------------

// Summary prints one row per run and the last line, `chaos: faults=<classes> bookings=<n>
// result=PASS|FAIL`, and reports whether every run passed.
func Summary(w io.Writer, results []*Result) bool {
	fmt.Fprintf(w, "\n%-15s %-8s %-6s %-10s %-14s %s\n", "fault class", "bookings", "result", "took", "decision p95", "failed checks")
	fmt.Fprintln(w, strings.Repeat("-", 100))
	total, pass := 0, len(results) > 0
	var names []string
	for _, r := range results {
		names = append(names, r.Class)
		total += r.Bookings
		var failed []string
		for _, l := range r.Lines {
			if !l.OK {
				failed = append(failed, l.Check)
			}
		}
		res := "PASS"
		if !r.Passed() {
			res, pass = "FAIL", false
		}
		_, p95 := r.DecisionTimes()
		fmt.Fprintf(w, "%-15s %-8d %-6s %-10s %-14s %s\n", r.Class, r.Bookings, res, r.Took.Round(time.Second),
			p95.Round(time.Millisecond), strings.Join(failed, "; "))
	}
	result := map[bool]string{true: "PASS", false: "FAIL"}[pass]
	fmt.Fprintf(w, "chaos: faults=%s bookings=%d result=%s\n", strings.Join(names, ","), total, result)
	return pass
}

// --- running the classes -----------------------------------------------------------------------

// RunClasses runs the named classes one after another, each on an event of its own: "kills" with
// base's kills and meddling, each fault class with base's sale and no other fault. A class that
// cannot run (its fault could not be made) is a failed row; the others still run.
func RunClasses(ctx context.Context, cfg *devstack.Settings, names []string, base Options, sc Scale, out io.Writer) ([]*Result, error) {
	classes := Classes(sc)
	var results []*Result
	for _, name := range names {
		opt := base
		if name != "kills" {
			f, ok := classes[name]
			if !ok {
				return results, fmt.Errorf("no fault class %q (the classes: %s)", name, strings.Join(ClassNames, ", "))
			}
			opt.Fault, opt.Spread, opt.Kills = f, f.Spread, nil
			opt.ClientTimeouts, opt.PauseFor = 0, 0
			opt.TemporalCancels, opt.Terminates, opt.Forge, opt.LateCaptures = 0, 0, 0, 0
			opt.Drain += f.Drain
			if links, err := faults.NewLinks(cfg); err == nil {
				_ = links.Reset() // no toxic left by an interrupted run
			}
		}
		res, err := Run(ctx, cfg, opt, out)
		if ctx.Err() != nil {
			return results, ctx.Err()
		}
		if err != nil {
			fmt.Fprintf(out, "chaos [%s]: %v\n", name, err)
			res = &Result{Class: name, Report: &audit.Report{}}
			res.Add("the run completed", false, "%v", err)
		}
		res.Print(out)
		results = append(results, res)
	}
	return results, nil
}
