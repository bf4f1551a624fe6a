package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"ticketflow/internal/config"
	"ticketflow/internal/httpapi"
	"ticketflow/internal/ids"
	"ticketflow/internal/seatplan"
	"ticketflow/tools/devstack"
	"ticketflow/tools/loadgen"
	"ticketflow/tools/progress"
	"ticketflow/tools/seed"
)

// SeatMapOptions shape the live seat map benchmark (`ticketflow-dev seatmap-bench`).
type SeatMapOptions struct {
	Seats    int // seats of the stadium (sections of 5,000)
	Watchers int // stream watchers wanted; the run reports how many it held
	// MeasureEvery: one watcher in MeasureEvery decodes and times what it reads (1: every
	// watcher). All watchers are served and read alike; this only keeps the load generator's own
	// JSON decoding, on the cores the servers share, from inflating what it measures.
	MeasureEvery int
	Bookings     int           // bookings made during the sale
	Concurrency  int           // buyers at once
	Pollers      int           // pollers of the baseline (the old page: the full map every 2.5 s)
	PollFor      time.Duration // length of the baseline
	NotModified  time.Duration // length of the 304 run
}

// SeatMapResult is what the seat map benchmark measured.
type SeatMapResult struct {
	Opt                  SeatMapOptions
	Held                 int             // watchers connected through the whole sale
	Dropped              int64           // watcher streams that ended during the sale
	Freshness            []time.Duration // hold answered → change seen by a watcher
	SaleFor              time.Duration
	StreamBytesPerMin    float64 // per watcher
	PollBytesPerMin      float64 // per poller, the old page's way
	StreamCPU, PollCPU   map[string]float64
	NotModifiedPerSecond float64
	Errors               int64
}

// SeatMap runs a sale on a stadium-sized event while watchers follow its stream, then the polling
// baseline and the 304 path, and reports freshness, bytes and CPU.
func SeatMap(ctx context.Context, cfg *devstack.Settings, o SeatMapOptions, out io.Writer) (*SeatMapResult, error) {
	r := &SeatMapResult{Opt: o, StreamCPU: map[string]float64{}, PollCPU: map[string]float64{}}
	prog := progress.New(out, "seatmap")
	defer prog.End()
	prog.Phase(fmt.Sprintf("create a %d-seat event", o.Seats), 1, "events")
	eventID, seatIDs, err := stadium(ctx, cfg, o.Seats)
	if err != nil {
		return nil, err
	}
	prog.Add(1)
	gw := cfg.URLs[config.Gateway]
	var snap struct {
		Version int64 `json:"version"`
	}
	if err := getJSON(ctx, gw+"/api/inventory/events/"+eventID+"/seats/status", &snap); err != nil {
		return nil, err
	}

	// Watchers, each from its own loopback address (the gateway limits per client).
	prog.Phase("open stream watchers", int64(o.Watchers), "watchers")
	seen := newSeenLog()
	var bytes, dropped atomic.Int64
	wctx, stopWatchers := context.WithCancel(ctx)
	defer stopWatchers()
	var held atomic.Int64
	var wg sync.WaitGroup
	for i := 0; i < o.Watchers; i++ {
		ready := make(chan bool, 1)
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			var log *seenLog
			if i%max(o.MeasureEvery, 1) == 0 {
				log = seen
			}
			watch(wctx, gw, eventID, snap.Version, clientIP(20, i), log, &bytes, &dropped, ready)
		}(i)
		if <-ready {
			held.Add(1)
		}
		prog.Add(1)
	}
	r.Held = int(held.Load())

	// The sale: buyers hold 1..4 seats each; the answer time of each hold is when it committed.
	prog.Phase("sale", int64(o.Bookings), "bookings")
	prog.Note(fmt.Sprintf("%d at once, %d watchers", o.Concurrency, r.Held))
	buyers, err := loadgen.NewBuyers(cfg, o.Bookings, "seatmap-"+ids.New()[:6])
	if err != nil {
		return nil, err
	}
	answered := sync.Map{}   // seat id -> time the hold was answered
	errorsSeen := sync.Map{} // what the failed bookings answered (status or error)
	cpu0 := cpuOf(cfg, config.Gateway, config.Inventory)
	start := time.Now()
	bytes.Store(0)
	jobs := make(chan int)
	var bwg sync.WaitGroup
	for w := 0; w < o.Concurrency; w++ {
		bwg.Add(1)
		go func() {
			defer bwg.Done()
			for i := range jobs {
				seats := pickSeats(seatIDs, 1+rand.IntN(4))
				status, _, err := buyers[i].Do(ctx, http.MethodPost, "/api/bookings", map[string]any{"eventId": eventID,
					"seatIds": seats, "paymentMethod": map[string]string{"type": "card", "token": "tok_visa"}})
				prog.Add(1)
				if err != nil || status >= 500 {
					atomic.AddInt64(&r.Errors, 1)
					what := strconv.Itoa(status)
					if err != nil {
						what = err.Error()
					}
					errorsSeen.Store(what, true)
					continue
				}
				if status == http.StatusAccepted {
					at := time.Now()
					for _, s := range seats {
						answered.LoadOrStore(s, at)
					}
				}
			}
		}()
	}
	for i := 0; i < o.Bookings; i++ {
		jobs <- i
	}
	close(jobs)
	bwg.Wait()
	prog.End()
	errorsSeen.Range(func(k, _ any) bool {
		fmt.Fprintf(out, "seatmap: a booking failed with: %v\n", k)
		return true
	})
	time.Sleep(3 * time.Second) // the last changes reach the watchers
	r.SaleFor = time.Since(start)
	for name, ms := range cpuSince(cfg, cpu0) {
		r.StreamCPU[name] = ms / r.SaleFor.Seconds()
	}
	r.StreamBytesPerMin = float64(bytes.Load()) / float64(max(r.Held, 1)) / r.SaleFor.Minutes()
	r.Dropped = dropped.Load()
	stopWatchers()
	wg.Wait()
	r.Freshness = seen.freshness(&answered)

	// The baseline: the old page fetched the whole map every 2.5 s, uncompressed, no ETag.
	prog.Phase(fmt.Sprintf("polling baseline, %d pollers for %s", o.Pollers, o.PollFor), 0, "full maps")
	var polled atomic.Int64
	cpu0 = cpuOf(cfg, config.Gateway, config.Inventory)
	pctx, stopPolling := context.WithTimeout(ctx, o.PollFor)
	var pwg sync.WaitGroup
	for i := 0; i < o.Pollers; i++ {
		pwg.Add(1)
		go func(i int) {
			defer pwg.Done()
			c := clientFor(clientIP(30, i))
			for pctx.Err() == nil {
				n, err := fetch(pctx, c, gw+"/api/inventory/events/"+eventID+"/seats", nil)
				prog.Add(1)
				if err == nil {
					polled.Add(n)
				}
				select {
				case <-pctx.Done():
				case <-time.After(2500 * time.Millisecond):
				}
			}
		}(i)
	}
	pwg.Wait()
	stopPolling()
	for name, ms := range cpuSince(cfg, cpu0) {
		r.PollCPU[name] = ms / o.PollFor.Seconds()
	}
	r.PollBytesPerMin = float64(polled.Load()) / float64(max(o.Pollers, 1)) / o.PollFor.Minutes()

	// The 304 path: readers revalidating the status snapshot with its ETag, once the sale's
	// confirmations have drained (while the map changes, a revalidation rightly answers 200).
	statusURL := gw + "/api/inventory/events/" + eventID + "/seats/status"
	prog.Phase("wait for the confirmations to drain", 0, "reads")
	etag, err := settledETag(ctx, statusURL, 5*time.Minute, prog)
	if err != nil {
		return nil, err
	}
	prog.Phase(fmt.Sprintf("304 path for %s", o.NotModified), 0, "revalidations")
	var n304, other atomic.Int64
	nctx, stop := context.WithTimeout(ctx, o.NotModified)
	var nwg sync.WaitGroup
	for i := 0; i < 32; i++ {
		nwg.Add(1)
		go func(i int) {
			defer nwg.Done()
			// Each worker speaks for 50 readers, each from its own address, so that the per-client
			// limit measures nobody's budget but the server's capacity.
			clients := make([]*http.Client, 50)
			for k := range clients {
				clients[k] = clientFor(clientIP(byte(40+k/5), (k%5)*32+i))
			}
			tag := etag
			for n := 0; nctx.Err() == nil; n++ {
				req, _ := http.NewRequestWithContext(nctx, http.MethodGet, statusURL, nil)
				req.Header.Set("If-None-Match", tag)
				resp, err := clients[n%len(clients)].Do(req)
				prog.Add(1)
				if err != nil {
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode == http.StatusNotModified {
					n304.Add(1)
				} else {
					other.Add(1)
					if t := resp.Header.Get("ETag"); t != "" {
						tag = t // a reader keeps the version it has just read, as a page does
					}
				}
			}
		}(i)
	}
	nwg.Wait()
	stop()
	prog.End()
	if other.Load() > 0 {
		fmt.Fprintf(out, "seatmap: %d revalidations were not answered 304\n", other.Load())
	}
	r.NotModifiedPerSecond = float64(n304.Load()) / o.NotModified.Seconds()
	return r, nil
}

// Print writes the figures and a machine-readable last line.
func (r *SeatMapResult) Print(w io.Writer) {
	p50, p99 := pct(r.Freshness, 50), pct(r.Freshness, 99)
	ratio := r.StreamBytesPerMin / max(r.PollBytesPerMin, 1)
	fmt.Fprintf(w, "\nseat map: %d seats, %d watchers held (of %d wanted), %d streams dropped, %d errors\n",
		r.Opt.Seats, r.Held, r.Opt.Watchers, r.Dropped, r.Errors)
	fmt.Fprintf(w, "  freshness, hold answered → seen by a watcher: p50 %s, p99 %s (%d observations on 1 watcher in %d; target p99 ≤ 500ms)\n",
		p50.Round(time.Millisecond), p99.Round(time.Millisecond), len(r.Freshness), max(r.Opt.MeasureEvery, 1))
	fmt.Fprintf(w, "  bytes per watcher per minute: stream %.0f, polling the full map %.0f (ratio %.4f; target ≤ 0.01)\n",
		r.StreamBytesPerMin, r.PollBytesPerMin, ratio)
	fmt.Fprintf(w, "  CPU, ms per second: stream gateway %.0f inventory %.0f; polling (%d pollers) gateway %.0f inventory %.0f\n",
		r.StreamCPU[config.Gateway], r.StreamCPU[config.Inventory], r.Opt.Pollers, r.PollCPU[config.Gateway], r.PollCPU[config.Inventory])
	fmt.Fprintf(w, "  304 path: %.0f requests/s\n", r.NotModifiedPerSecond)
	fmt.Fprintf(w, "seatmap: seats=%d watchers=%d freshness_p50_ms=%d freshness_p99_ms=%d stream_bytes_per_min=%.0f "+
		"poll_bytes_per_min=%.0f ratio=%.5f gateway_cpu_ms_per_s=%.0f inventory_cpu_ms_per_s=%.0f not_modified_per_s=%.0f errors=%d\n",
		r.Opt.Seats, r.Held, p50.Milliseconds(), p99.Milliseconds(), r.StreamBytesPerMin, r.PollBytesPerMin, ratio,
		r.StreamCPU[config.Gateway], r.StreamCPU[config.Inventory], r.NotModifiedPerSecond, r.Errors)
}

// stadium creates an event of n seats in sections of 5,000 (250 rows of 20).
func stadium(ctx context.Context, cfg *devstack.Settings, n int) (string, []string, error) {
	gw := httpapi.NewClient(cfg.URLs[config.Gateway], "", 5*time.Minute)
	var login struct{ Token string }
	if err := gw.Post(ctx, "/api/users/login", map[string]string{"email": seed.AdminEmail, "password": seed.AdminPassword}, &login); err != nil {
		return "", nil, fmt.Errorf("admin login (is the stack seeded?): %w", err)
	}
	adm := gw.WithBearer(login.Token)
	var v struct{ ID string }
	if err := adm.Post(ctx, "/api/venues", map[string]string{"name": "Stadium " + ids.New()[:6], "address": "1 Arena Way",
		"city": "Benchville", "country": "NO", "timezone": "Europe/Oslo"}, &v); err != nil {
		return "", nil, err
	}
	var sections []seatplan.Section
	for left, i := n, 0; left > 0; i++ {
		sec := seatplan.Section{Name: "Block " + strconv.Itoa(i+1), PriceMinor: 5000}
		for r := 0; r < 250 && left > 0; r++ {
			k := min(20, left)
			sec.Rows = append(sec.Rows, seatplan.Row{Label: strconv.Itoa(r + 1), Seats: k})
			left -= k
		}
		sections = append(sections, sec)
	}
	var e struct{ ID string }
	if err := adm.Post(ctx, "/api/events", map[string]any{"name": "Stadium sale " + ids.New()[:6], "description": "seat map bench",
		"venueId": v.ID, "date": time.Now().Add(30 * 24 * time.Hour).UTC().Truncate(time.Second), "currency": "EUR",
		"tags": []string{"load"}, "sections": sections}, &e); err != nil {
		return "", nil, err
	}
	all, err := seatplan.Expand(sections)
	if err != nil {
		return "", nil, err
	}
	seatIDs := make([]string, len(all))
	for i, s := range all {
		seatIDs[i] = s.ID
	}
	return e.ID, seatIDs, nil
}

func pickSeats(all []string, n int) []string {
	start := rand.IntN(len(all) - n)
	return all[start : start+n]
}

// clientIP is a loopback address of its own for client i of a group.
func clientIP(group byte, i int) string {
	return net.IPv4(127, group, byte(i/250), byte(1+i%250)).String()
}

func clientFor(ip string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	return &http.Client{Transport: &http.Transport{DialContext: d.DialContext, DisableCompression: true,
		MaxIdleConnsPerHost: 2}}
}

// watch follows the stream from version since, counting bytes and noting when each seat changes.
func watch(ctx context.Context, gw, eventID string, since int64, ip string, seen *seenLog, bytes, dropped *atomic.Int64, ready chan<- bool) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet,
		fmt.Sprintf("%s/api/inventory/events/%s/seats/stream?since=%d", gw, eventID, since), nil)
	resp, err := clientFor(ip).Do(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		ready <- false
		if resp != nil {
			resp.Body.Close()
		}
		return
	}
	defer resp.Body.Close()
	ready <- true
	var sightings []sighting
	if seen != nil {
		defer func() { seen.add(sightings) }()
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		line := sc.Bytes()
		bytes.Add(int64(len(line) + 1))
		if seen == nil || !strings.HasPrefix(string(line[:min(6, len(line))]), "data: ") {
			continue
		}
		at := time.Now()
		var batch struct {
			Changes []struct {
				SeatIDs []string `json:"seatIds"`
				Status  string   `json:"status"`
			} `json:"changes"`
		}
		if json.Unmarshal(line[6:], &batch) == nil {
			for _, c := range batch.Changes {
				if c.Status == "LOCKED" {
					sightings = append(sightings, sighting{c.SeatIDs[0], at})
				}
			}
		}
	}
	if ctx.Err() == nil {
		dropped.Add(1)
	}
}

// seenLog keeps when the measuring watchers saw each seat's hold (the first seat of each change
// is enough). Each watcher collects its own and adds them once its stream ends.
type seenLog struct {
	mu sync.Mutex
	at map[string][]time.Time
}

func newSeenLog() *seenLog { return &seenLog{at: map[string][]time.Time{}} }

type sighting struct {
	seat string
	at   time.Time
}

func (l *seenLog) add(seen []sighting) {
	l.mu.Lock()
	for _, s := range seen {
		l.at[s.seat] = append(l.at[s.seat], s.at)
	}
	l.mu.Unlock()
}

// freshness is, for every watcher that saw a hold, how long after its answer it saw it (a watcher
// that saw it before the buyer had the answer counts as zero).
func (l *seenLog) freshness(answered *sync.Map) []time.Duration {
	var out []time.Duration
	l.mu.Lock()
	defer l.mu.Unlock()
	for seat, times := range l.at {
		a, ok := answered.Load(seat)
		if !ok {
			continue
		}
		for _, t := range times {
			out = append(out, max(t.Sub(a.(time.Time)), 0))
		}
	}
	return out
}

func getJSON(ctx context.Context, url string, out any) error {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

// statusOf reads the status snapshot at url: its ETag and how many seats are held (LOCKED);
// locked is -1 when the answer was not 200.
func statusOf(ctx context.Context, url string) (etag string, locked int, err error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", -1, nil // refused for now (a limit, a restart): not settled, asked again
	}
	var snap struct {
		Summary struct {
			Locked int `json:"locked"`
		} `json:"summary"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&snap); err != nil {
		return "", 0, err
	}
	return resp.Header.Get("ETag"), snap.Summary.Locked, nil
}

func fetch(ctx context.Context, c *http.Client, url string, headers map[string]string) (int64, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	return io.Copy(io.Discard, resp.Body)
}

// cpuOf reads the CPU time (ms) the named processes of the stack have used so far, each with its
// children (PostgreSQL's backends, live or ended).
func cpuOf(cfg *devstack.Settings, names ...string) map[string]float64 {
	children := procChildren()
	out := map[string]float64{}
	for _, name := range names {
		for k := 0; k < cfg.Replicas; k++ {
			raw, err := os.ReadFile(devstack.PIDFile(cfg, devstack.ReplicaName(name, k)))
			if err != nil {
				continue
			}
			pid, err := strconv.Atoi(strings.TrimSpace(string(raw)))
			if err != nil {
				continue
			}
			out[name] += treeTicks(pid, children) * 10 // clock ticks of 10 ms
		}
	}
	return out
}

// treeTicks is the CPU of pid and its descendants, in clock ticks: each one's own time and that
// of its children that ended.
func treeTicks(pid int, children map[int][]int) float64 {
	t, _, ok := procTicks(pid)
	if !ok {
		return 0
	}
	for _, c := range children[pid] {
		t += treeTicks(c, children)
	}
	return t
}

// procTicks reads utime+stime+cutime+cstime and the parent of a process.
func procTicks(pid int) (ticks float64, ppid int, ok bool) {
	stat, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return 0, 0, false
	}
	f := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+2:]))
	if len(f) < 15 {
		return 0, 0, false
	}
	ppid, _ = strconv.Atoi(f[1])
	for _, i := range []int{11, 12, 13, 14} {
		v, _ := strconv.ParseFloat(f[i], 64)
		ticks += v
	}
	return ticks, ppid, true
}

// procChildren maps each live process to its children.
func procChildren() map[int][]int {
	out := map[int][]int{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if _, ppid, ok := procTicks(pid); ok {
			out[ppid] = append(out[ppid], pid)
		}
	}
	return out
}

func cpuSince(cfg *devstack.Settings, before map[string]float64) map[string]float64 {
	names := make([]string, 0, len(before))
	for n := range before {
		names = append(names, n)
	}
	now := cpuOf(cfg, names...)
	out := map[string]float64{}
	for n, v := range now {
		out[n] = v - before[n]
	}
	return out
}

// settledETag waits (up to limit) until the snapshot at url keeps one ETag for 2 s, and returns it.
func settledETag(ctx context.Context, url string, limit time.Duration, prog *progress.Reporter) (string, error) {
	deadline := time.Now().Add(limit)
	last, since := "", time.Now()
	for {
		tag, locked, err := statusOf(ctx, url)
		prog.Add(1)
		if err != nil {
			return "", err
		}
		if locked < 0 { // not answered: ask again, until the deadline
			if time.Now().After(deadline) {
				return last, nil
			}
			time.Sleep(250 * time.Millisecond)
			continue
		}
		if tag != last {
			last, since = tag, time.Now()
		}
		// Drained: no seat held any more (every booking confirmed or released), and no change for
		// 2 s. A run started after this one would otherwise share the cores with its backlog.
		if (locked == 0 && time.Since(since) >= 2*time.Second) || time.Now().After(deadline) {
			if locked > 0 {
				prog.Note(fmt.Sprintf("%d seats still held after %s", locked, limit))
			}
			return last, nil
		}
		time.Sleep(250 * time.Millisecond)
	}
}
