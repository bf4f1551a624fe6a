// Package process runs one TicketFlow process (a service, the worker, the bridge) until its
// context ends: its internal HTTP port with the routes every process serves, its Kafka consumers
// and its other background jobs, and the order in which they stop. Each process's Run opens its
// stores, builds its parts, and hands them to Run here; what is particular to a process stays in
// its own package.
package process

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"sync"

	"ticketflow/internal/auth"
	"ticketflow/internal/bus"
	"ticketflow/internal/config"
	"ticketflow/internal/httpapi"
	"ticketflow/internal/telemetry"
)

// Spec is one process: its name, what its health depends on, its own routes, and what it runs in
// the background.
type Spec struct {
	// Name is the process's name (config.User, config.Worker, …): the port it listens on
	// (cfg.Addr) and the service its health answer names.
	Name string
	// Checks are the dependencies /health pings.
	Checks []httpapi.Check
	// API serves the process's own routes (a service's router, from package router); nil when it
	// has none (the worker, the bridge).
	API http.Handler
	// Consumers run in the background; their counters are served at GET /stats.
	Consumers []*bus.Consumer
	// Jobs run in the background until their context ends: reconcilers, sweeps, relays.
	Jobs []func(ctx context.Context)
}

// Run serves s on cfg.Addr(s.Name) until ctx ends: /metrics, Go's profiler at /debug/pprof for
// internal callers, /health with s.Checks, /stats when s has consumers, and s.API for the rest.
//
// The consumers and jobs start before the port opens and run with a context that ends with
// ctx, or when the server fails. Run returns only after the server has shut down gracefully
// (cfg.ShutdownTimeout) and every consumer and job has returned, so the caller's deferred
// closes of its stores and writers run after they let go: a consumer's message in hand stays
// uncommitted and is redelivered, never handled against a closed store.
func Run(ctx context.Context, cfg *config.Config, s Spec) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	for _, c := range s.Consumers {
		wg.Go(func() {
			if err := c.Run(ctx); err != nil {
				slog.Error("consumer stopped", "topic", c.Stats().Topic, "err", err)
			}
		})
	}
	for _, job := range s.Jobs {
		wg.Go(func() { job(ctx) })
	}
	err := httpapi.Serve(ctx, cfg.Addr(s.Name), handler(cfg, s), cfg.ShutdownTimeout)
	cancel()
	wg.Wait()
	return err
}

// handler serves the routes every process serves, then hands the rest to the process's API. It
// dispatches by exact path, without the standard mux's path cleaning (which redirects a path with
// ".." elsewhere: what reaches the API must be the API's to judge), and needs no router, so that a
// process without an API (the worker, the bridge) links none.
func handler(cfg *config.Config, s Spec) http.Handler {
	shared := map[string]http.Handler{
		"/health":  httpapi.GetOnly(httpapi.Health(s.Name, s.Checks...)),
		"/metrics": httpapi.GetOnly(telemetry.MetricsHandler()),
	}
	if len(s.Consumers) > 0 {
		shared["/stats"] = httpapi.GetOnly(bus.StatsHandler(s.Consumers...))
	}
	for path, h := range shared {
		shared[path] = httpapi.Observed(h, httpapi.Route(path))
	}
	profiler := httpapi.Profiling(auth.InternalToken([]byte(cfg.JWTSecret)))
	rest := s.API
	if rest == nil {
		rest = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			httpapi.WriteError(w, r, httpapi.NotFound("route"))
		})
	}
	return httpapi.RequestIDs(httpapi.Recover(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch h, ok := shared[r.URL.Path]; {
		case ok:
			h.ServeHTTP(w, r)
		case strings.HasPrefix(r.URL.Path, "/debug/pprof/"):
			profiler.ServeHTTP(w, r)
		default:
			rest.ServeHTTP(w, r)
		}
	})))
}
