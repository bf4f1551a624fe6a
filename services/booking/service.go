// Package booking is the booking service: the booking record and its status history on
// PostgreSQL (ticketflow_bookings), the REST routes of /api/bookings with their Idempotency-Key,
// the seat decision within the request, and the start of each booking's BookingWorkflow — which
// alone moves the booking's status from then on.
package booking

import (
	"context"
	"embed"
	"time"

	"ticketflow/internal/auth"
	"ticketflow/internal/config"
	"ticketflow/internal/httpapi"
	"ticketflow/internal/pgdb"
	"ticketflow/internal/temporalclient"
	"ticketflow/services/inventory"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Run serves the booking service until ctx ends.
func Run(ctx context.Context, cfg *config.Config) error {
	pool, err := pgdb.Open(ctx, cfg.PostgresDSN(config.BookingsDB), cfg.PostgresConns, 30*time.Second)
	if err != nil {
		return err
	}
	defer pool.Close()
	if err := pgdb.Migrate(ctx, pool, migrations); err != nil {
		return err
	}
	tc, err := temporalclient.Dial(ctx, cfg)
	if err != nil {
		return err
	}
	defer tc.Close()

	secret := []byte(cfg.JWTSecret)
	token := auth.InternalToken(secret)
	st := &store{pool: pool}
	orch := &orchestrator{temporal: tc, taskQueue: cfg.TaskQueue, namespace: cfg.TemporalNS, store: st}
	a := &api{
		store:     st,
		orch:      orch,
		events:    newEventCache(httpapi.NewBalancedClient(cfg.Endpoints[config.Event], token, 5*time.Second)),
		inventory: inventory.NewClient(cfg.Endpoints[config.Inventory], token, 5*time.Second),
		holdTTL:   cfg.HoldTTL,
	}
	go orch.reconcile(ctx)
	registerMetrics()

	r := httpapi.NewRouter(cfg.MaxBodyBytes)
	httpapi.Profiling(r, auth.InternalToken([]byte(cfg.JWTSecret)))
	r.Get("/health", httpapi.Health(config.Booking, httpapi.Check{Name: "postgres", Ping: pool.Ping},
		temporalclient.HealthCheck(tc)))
	a.routes(r, secret, token)
	return httpapi.Serve(ctx, cfg.Addr(config.Booking), r, cfg.ShutdownTimeout)
}
