package bench

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"sync"
	"time"

	"ticketflow/gateway"
	"ticketflow/internal/config"
	"ticketflow/tools/devstack"
	"ticketflow/tools/loadgen"
	"ticketflow/tools/progress"
)

// readPath measures GET /api/inventory/events/{id}/seats: through the stack's gateway (spread
// over the buyers' addresses, as the rate limit is per client), and — for the ratio — through one
// gateway instance built from the same code, against the inventory service and against a trivial
// handler that serves the same bytes.
func (r *Result) readPath(ctx context.Context, cfg *devstack.Settings, eventID string, buyers []*loadgen.Buyer, o Options, prog *progress.Reporter) error {
	path := "/api/inventory/events/" + eventID + "/seats"
	status, payload, err := buyers[0].Do(ctx, http.MethodGet, path, nil)
	if err != nil || status != http.StatusOK {
		return fmt.Errorf("seat map: %d %v", status, err)
	}
	prog.Phase("seat-map reads through the stack's gateway for "+o.ReadFor.String(), 0, "reads")
	r.SeatMapGW = load(ctx, o.ReadFor, o.ReadConc, prog, func(i int) (int, error) {
		s, _, err := buyers[i%len(buyers)].Do(ctx, http.MethodGet, path, nil)
		return s, err
	})

	trivial := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(payload)
	}))
	defer trivial.Close()
	local := *cfg.Config
	local.RateLimit = 0
	local.Endpoints = map[string][]string{}
	for k, v := range cfg.Endpoints {
		local.Endpoints[k] = v
	}
	// The trivial handler stands in for the notification service, whose routes are not read here.
	local.Endpoints[config.Notification] = []string{trivial.URL}
	gw, err := gateway.New(&local, nil)
	if err != nil {
		return err
	}
	front := httptest.NewServer(gw.Routes())
	defer front.Close()
	tok := buyers[0].Token
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: o.ReadConc * 2}, Timeout: 30 * time.Second}
	get := func(u string) func(int) (int, error) {
		return func(int) (int, error) {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			resp, err := hc.Do(req)
			if err != nil {
				return 0, err
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			return resp.StatusCode, nil
		}
	}
	prog.Phase("seat-map reads through an in-process gateway for "+o.ReadFor.String(), 0, "reads")
	r.SeatMap = load(ctx, o.ReadFor, o.ReadConc, prog, get(front.URL+path))
	prog.Phase("trivial reads through an in-process gateway for "+o.ReadFor.String(), 0, "reads")
	r.Trivial = load(ctx, o.ReadFor, o.ReadConc, prog, get(front.URL+"/api/notifications/my"))
	prog.End()
	return nil
}

// load calls f from `conc` goroutines for d and measures the rate of 200 answers and latencies.
func load(ctx context.Context, d time.Duration, conc int, prog *progress.Reporter, f func(i int) (int, error)) Rate {
	var mu sync.Mutex
	var lat []time.Duration
	errors := 0
	deadline := time.Now().Add(d)
	start := time.Now()
	var wg sync.WaitGroup
	for g := 0; g < conc; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			var mine []time.Duration
			bad := 0
			for i := g; time.Now().Before(deadline) && ctx.Err() == nil; i += conc {
				t := time.Now()
				s, err := f(i)
				prog.Add(1)
				if err != nil || s != http.StatusOK {
					bad++
					continue
				}
				mine = append(mine, time.Since(t))
			}
			mu.Lock()
			lat = append(lat, mine...)
			errors += bad
			mu.Unlock()
		}(g)
	}
	wg.Wait()
	el := time.Since(start)
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	return Rate{PerS: float64(len(lat)) / el.Seconds(), P50: pct(lat, 50), P99: pct(lat, 99), Errors: errors}
}
