package bench

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"ticketflow/internal/auth"
	"ticketflow/internal/config"
	"ticketflow/internal/ids"
	"ticketflow/tools/devstack"
	"ticketflow/tools/loadgen"
	"ticketflow/tools/progress"
)

// WaitersOptions shape the cost measurement of waiting buyers (`onsale-bench --waiters N`): N
// buyers wait in one moving line on a gateway process of the bench's own; first all of them poll,
// then Streams of them follow the stream instead.
type WaitersOptions struct {
	Waiters   int
	Streams   int
	PollEvery time.Duration
	Hold      time.Duration
}

// WaitersResult is what it measured.
type WaitersResult struct {
	Opt               WaitersOptions
	Joined            int
	JoinTook          time.Duration
	RedisBytes        int64 // Redis's used memory for the line, per waiting buyer
	GatewayRSSBase    int64 // the gateway's resident memory before anyone joined
	GatewayRSSPolling int64 // with every buyer waiting and polling
	GatewayRSSStreams int64 // with Streams of them streaming
	Polls             int64
	PollWindow        time.Duration
	PollCPU           map[string]float64 // ms over the polling window: gateway, redis
	Streaming         int                // streams held through the streaming window
	Pushes            int64              // places pushed over it
	StreamWindow      time.Duration
	StreamCPU         map[string]float64
	GatewayPID        int
	// The Go runtime's heap and stacks in use (go_memstats_*_inuse_bytes), the same three times as
	// the resident memory: what the process holds, without the garbage and pages not yet returned.
	InUseBase, InUsePolling, InUseStreams int64
	Errors                                int64
	pollersDuringStreamRate               float64
}

// Waiters measures what waiting buyers cost one gateway process and Redis.
func Waiters(ctx context.Context, cfg *devstack.Settings, o WaitersOptions, out io.Writer) (*WaitersResult, error) {
	r := &WaitersResult{Opt: o, PollCPU: map[string]float64{}, StreamCPU: map[string]float64{}}
	prog := progress.New(out, "waiters")
	defer prog.End()
	port := cfg.Ports[config.Gateway] + 47
	gw, pid, stopGateway, err := ownGateway(ctx, cfg, port)
	if err != nil {
		return nil, err
	}
	defer stopGateway()
	r.GatewayPID = pid
	fmt.Fprintf(out, "waiters: %d buyers wait in one line on a gateway process of this run (pid %d, %s, no rate limit); %d of them stream, the rest poll every %s\n",
		o.Waiters, pid, gw, o.Streams, o.PollEvery)
	tag := ids.New()[:8]
	// On sale, one let in a second: the line moves every second, so every waiting buyer's place
	// changes every second (the streams' worst case).
	ev, err := loadgen.CreateEventWith(ctx, cfg, "Waiters "+tag, 100, 5000, map[string]any{
		"waitingRoom":  map[string]any{"enabled": true, "admitPerMinute": 60},
		"salesStartAt": time.Now().Add(-time.Minute).UTC().Truncate(time.Second).Format(time.RFC3339)})
	if err != nil {
		return nil, err
	}
	rdb := redis.NewClient(&redis.Options{Addr: cfg.RedisAddr})
	defer rdb.Close()
	time.Sleep(time.Second)
	r.GatewayRSSBase = rss(pid)
	admin := fmt.Sprintf("http://127.0.0.1:%d/metrics", port+50)
	r.InUseBase = inUse(ctx, admin)

	tokens := make([]string, o.Waiters)
	for i := range tokens {
		tokens[i], _, err = auth.Sign([]byte(cfg.JWTSecret), auth.Identity{UserID: ids.New(), Role: auth.RoleUser}, 3*time.Hour, time.Now())
		if err != nil {
			return nil, err
		}
	}
	// Polls and joins share a pool of connections from a few addresses, as buyers behind a load
	// balancer's keep-alive connections would.
	pool := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 256, MaxConnsPerHost: 256}}
	path := "/api/events/" + ev.ID + "/queue"
	call := func(method, tok string) bool {
		req, _ := http.NewRequestWithContext(ctx, method, gw+path, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := pool.Do(req)
		if err != nil {
			atomic.AddInt64(&r.Errors, 1)
			return false
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			atomic.AddInt64(&r.Errors, 1)
			return false
		}
		return true
	}
	prog.Phase("join", int64(o.Waiters), "buyers")
	began := time.Now()
	var joined atomic.Int64
	parallel(ctx, 128, o.Waiters, func(i int) {
		if call(http.MethodPost, tokens[i]) {
			joined.Add(1)
		}
		prog.Add(1)
	})
	r.Joined, r.JoinTook = int(joined.Load()), time.Since(began)
	r.RedisBytes = lineBytes(ctx, rdb, ev.ID) / int64(max(r.Joined, 1))

	// Everyone polls, evenly spread over each interval.
	prog.Phase("poll", int64(o.Hold.Seconds()), "s")
	pollers := func(ctx context.Context, from int) {
		parallel(ctx, 256, 256, func(w int) {
			for round := 0; ctx.Err() == nil; round++ {
				start := time.Now()
				for i := from + w; i < o.Waiters && ctx.Err() == nil; i += 256 {
					if call(http.MethodGet, tokens[i]) {
						atomic.AddInt64(&r.Polls, 1)
					}
				}
				if !waitUntil(ctx, start.Add(o.PollEvery)) {
					return
				}
			}
		})
	}
	pctx, stopPolls := context.WithCancel(ctx)
	go pollers(pctx, 0)
	time.Sleep(3 * time.Second) // every poller has asked once
	atomic.StoreInt64(&r.Polls, 0)
	cpu0, at := cpuOfPIDs(cfg, pid), time.Now()
	holdFor(ctx, prog, o.Hold)
	r.PollCPU, r.PollWindow = gatewayCPUSince(cfg, pid, cpu0), time.Since(at)
	r.GatewayRSSPolling = rss(pid)
	r.InUsePolling = inUse(ctx, admin)
	stopPolls()

	// Streams for the first Streams buyers; the others keep polling.
	prog.Phase("open streams", int64(o.Streams), "streams")
	sctx, stopStreams := context.WithCancel(ctx)
	defer stopStreams()
	var pushes atomic.Int64
	var open sync.WaitGroup
	var held atomic.Int64
	streams := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1, DialContext: (&net.Dialer{}).DialContext}}
	for i := 0; i < o.Streams && i < o.Waiters; i++ {
		ready := make(chan bool, 1)
		open.Add(1)
		go func(tok string) {
			defer open.Done()
			req, _ := http.NewRequestWithContext(sctx, http.MethodGet, gw+path+"/stream", nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			resp, err := streams.Do(req)
			if err != nil || resp.StatusCode != http.StatusOK {
				atomic.AddInt64(&r.Errors, 1)
				ready <- false
				return
			}
			defer resp.Body.Close()
			ready <- true
			held.Add(1)
			sc := bufio.NewScanner(resp.Body)
			for sc.Scan() {
				if strings.HasPrefix(sc.Text(), "data: ") {
					pushes.Add(1)
				}
			}
		}(tokens[i])
		<-ready
		prog.Add(1)
	}
	go pollers(sctx, o.Streams)
	time.Sleep(3 * time.Second)
	pushes.Store(0)
	polls0 := atomic.LoadInt64(&r.Polls)
	cpu0, at = cpuOfPIDs(cfg, pid), time.Now()
	prog.Phase("stream", int64(o.Hold.Seconds()), "s")
	holdFor(ctx, prog, o.Hold)
	r.StreamCPU, r.StreamWindow = gatewayCPUSince(cfg, pid, cpu0), time.Since(at)
	r.pollersDuringStreamRate = float64(atomic.LoadInt64(&r.Polls)-polls0) / r.StreamWindow.Seconds()
	r.Pushes, r.Streaming = pushes.Load(), int(held.Load())
	r.GatewayRSSStreams = rss(pid)
	r.InUseStreams = inUse(ctx, admin)
	stopStreams()
	open.Wait()
	return r, nil
}

// Print writes the figures per waiting buyer.
func (r *WaitersResult) Print(w io.Writer) {
	pollMS := r.PollCPU[config.Gateway] + r.PollCPU["redis"]
	perPoll := pollMS / float64(max(r.Polls, 1))
	pollsPerMin := 60 / r.Opt.PollEvery.Seconds()
	// Streams: what the streaming window cost beyond its pollers (at the polling window's cost per poll).
	streamMS := r.StreamCPU[config.Gateway] + r.StreamCPU["redis"] - perPoll*r.pollersDuringStreamRate*r.StreamWindow.Seconds()
	perStreamMin := streamMS / float64(max(r.Streaming, 1)) / r.StreamWindow.Minutes()
	fmt.Fprintf(w, "\nwaiting buyers on one gateway process (pid %d)\n", r.GatewayPID)
	fmt.Fprintf(w, "  joined              %d in %s (%.0f/s), errors %d\n", r.Joined, r.JoinTook.Round(time.Millisecond),
		float64(r.Joined)/r.JoinTook.Seconds(), r.Errors)
	fmt.Fprintf(w, "  Redis               %d bytes per waiting buyer\n", r.RedisBytes)
	fmt.Fprintf(w, "  polling             %d polls answered in %s (%.0f/s); gateway %.0f ms + Redis %.0f ms of CPU: %.3f ms a poll, %.2f ms per buyer-minute at one poll every %s\n",
		r.Polls, r.PollWindow.Round(time.Second), float64(r.Polls)/r.PollWindow.Seconds(),
		r.PollCPU[config.Gateway], r.PollCPU["redis"], perPoll, perPoll*pollsPerMin, r.Opt.PollEvery)
	fmt.Fprintf(w, "  gateway memory      %.1f MB before, %.1f MB with %d waiting and polling (%.2f KB per waiting buyer)\n",
		mb(r.GatewayRSSBase), mb(r.GatewayRSSPolling), r.Joined, float64(r.GatewayRSSPolling-r.GatewayRSSBase)/1024/float64(max(r.Joined, 1)))
	fmt.Fprintf(w, "  streaming           %d streams held, %d places pushed in %s (%.2f a stream a second); %.2f ms of CPU per streaming buyer-minute; gateway %.1f MB (%.1f KB per stream)\n",
		r.Streaming, r.Pushes, r.StreamWindow.Round(time.Second), float64(r.Pushes)/float64(max(r.Streaming, 1))/r.StreamWindow.Seconds(),
		perStreamMin, mb(r.GatewayRSSStreams), float64(r.GatewayRSSStreams-r.GatewayRSSPolling)/1024/float64(max(r.Streaming, 1)))
	fmt.Fprintf(w, "  Go heap and stacks  %.1f MB before, %.1f MB polling (%.2f KB per waiting buyer), %.1f MB streaming (%.1f KB per stream)\n",
		mb(r.InUseBase), mb(r.InUsePolling), float64(r.InUsePolling-r.InUseBase)/1024/float64(max(r.Joined, 1)),
		mb(r.InUseStreams), float64(r.InUseStreams-r.InUsePolling)/1024/float64(max(r.Streaming, 1)))
	fmt.Fprintf(w, "bench: waiters=%d redis_bytes_per_waiting_buyer=%d gateway_kb_per_polling_buyer=%.2f gateway_kb_per_stream=%.1f cpu_ms_per_poll=%.3f cpu_ms_per_polling_buyer_min=%.2f cpu_ms_per_streaming_buyer_min=%.2f streams=%d\n",
		r.Joined, r.RedisBytes, float64(r.GatewayRSSPolling-r.GatewayRSSBase)/1024/float64(max(r.Joined, 1)),
		float64(r.GatewayRSSStreams-r.GatewayRSSPolling)/1024/float64(max(r.Streaming, 1)), perPoll, perPoll*pollsPerMin, perStreamMin, r.Streaming)
}

// inUse reads the Go heap and stacks in use from a process's /metrics (bytes; 0 when unreadable).
func inUse(ctx context.Context, metrics string) int64 {
	runtime.GC() // this process's garbage is not the gateway's, but a quiet moment helps both
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, metrics, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	var total float64
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		for _, name := range []string{"go_memstats_heap_inuse_bytes ", "go_memstats_stack_inuse_bytes "} {
			if v, ok := strings.CutPrefix(sc.Text(), name); ok {
				f, _ := strconv.ParseFloat(v, 64)
				total += f
			}
		}
	}
	return int64(total)
}

func mb(b int64) float64 { return float64(b) / (1 << 20) }

// ownGateway starts a gateway process of this run on port (no rate limit: the pollers share a few
// addresses), with the stack's configuration otherwise, and waits until it answers.
func ownGateway(ctx context.Context, cfg *devstack.Settings, port int) (string, int, func(), error) {
	bin, err := devstack.AppBinary()
	if err != nil {
		return "", 0, nil, err
	}
	logf, err := os.Create(filepath.Join(cfg.LogDir(), "gateway-waiters.log"))
	if err != nil {
		return "", 0, nil, err
	}
	cmd := exec.Command(bin, "serve", "gateway")
	cmd.Env = append(cfg.ProcessEnv(), "RATE_LIMIT=0", "GATEWAY_PORT="+strconv.Itoa(port),
		"GATEWAY_ADMIN_PORT="+strconv.Itoa(port+50), "TICKETFLOW_LISTEN_PORT=", "TICKETFLOW_ADMIN_PORT=")
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return "", 0, nil, err
	}
	stop := func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		logf.Close()
	}
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	for deadline := time.Now().Add(20 * time.Second); ; {
		if resp, err := http.Get(base + "/health"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return base, cmd.Process.Pid, stop, nil
			}
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			stop()
			return "", 0, nil, fmt.Errorf("the bench's gateway on %s did not come up (log %s)", base, logf.Name())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// rss is a process's resident memory in bytes.
func rss(pid int) int64 {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb * 1024
		}
	}
	return 0
}

// lineBytes is what the event's line takes in Redis (MEMORY USAGE of each of its keys, counted
// exactly).
func lineBytes(ctx context.Context, rdb *redis.Client, eventID string) int64 {
	var total int64
	pre := "room:{" + eventID + "}:"
	for _, k := range []string{"m", "p", "e", "q", "g", "f"} {
		n, _ := rdb.MemoryUsage(ctx, pre+k, 0).Result()
		total += n
	}
	return total
}

// cpuOfPIDs reads the CPU (ms) of the bench's gateway and of the stack's Redis.
func cpuOfPIDs(cfg *devstack.Settings, gatewayPID int) map[string]float64 {
	out := cpuOf(cfg, "redis")
	t, _, _ := procTicks(gatewayPID)
	out[config.Gateway] = t * 10
	return out
}

func gatewayCPUSince(cfg *devstack.Settings, gatewayPID int, before map[string]float64) map[string]float64 {
	now := cpuOfPIDs(cfg, gatewayPID)
	for k, v := range now {
		now[k] = v - before[k]
	}
	return now
}

func holdFor(ctx context.Context, prog *progress.Reporter, d time.Duration) {
	end := time.Now().Add(d)
	for time.Now().Before(end) && ctx.Err() == nil {
		time.Sleep(time.Second)
		prog.Add(1)
	}
}

// parallel runs f(0..n-1) on `workers` goroutines.
func parallel(ctx context.Context, workers, n int, f func(i int)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n || ctx.Err() != nil {
					return
				}
				f(i)
			}
		}()
	}
	wg.Wait()
}
