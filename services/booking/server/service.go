// Package server is the booking service (`ticketflow serve booking`): the booking record and its status history on
// PostgreSQL (ticketflow_bookings), the REST routes of /api/bookings with their Idempotency-Key,
// the seat decision within the request, and the start of each booking's BookingWorkflow — which
// alone moves the booking's status from then on.
package server

import (
	"context"
	"embed"
	"time"

	"github.com/go-chi/chi/v5"

	"ticketflow/internal/admission"
	"ticketflow/internal/auth"
	"ticketflow/internal/config"
	"ticketflow/internal/httpapi"
	"ticketflow/internal/idempotency"
	"ticketflow/internal/lifecycle"
	"ticketflow/internal/pgdb"
	"ticketflow/internal/process"
	"ticketflow/internal/router"
	"ticketflow/internal/temporalclient"
	"ticketflow/services/event"
	"ticketflow/services/inventory"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Run serves the booking service until ctx ends.
func Run(ctx context.Context, cfg *config.Config) error {
	pool, err := pgdb.OpenMigrated(ctx, cfg.PostgresDSN(config.BookingsDB), cfg.PostgresConns, migrations)
	if err != nil {
		return err
	}
	defer pool.Close()
	tc, err := temporalclient.Dial(ctx, cfg)
	if err != nil {
		return err
	}
	defer tc.Close()

	secret := []byte(cfg.JWTSecret)
	token := auth.InternalToken(secret)
	st := &store{pool: pool}
	events := newEventCache(event.NewClient(cfg.Endpoints[config.Event], token, 5*time.Second))
	orch := &orchestrator{door: lifecycle.NewDoor(tc, cfg.TaskQueue, cfg.TemporalNS), store: st, events: events}
	a := &api{
		store:        st,
		keys:         idempotency.New(keyStore{pool: pool}),
		orch:         orch,
		events:       events,
		inventory:    inventory.NewClient(cfg.Endpoints[config.Inventory], token, 5*time.Second),
		holdTTL:      cfg.HoldTTL,
		admissionKey: admission.Key(secret),
	}
	registerMetrics()

	return process.Run(ctx, cfg, process.Spec{Name: config.Booking,
		Checks: []httpapi.Check{{Name: "postgres", Ping: pool.Ping}, temporalclient.HealthCheck(tc)},
		API:    router.API(cfg.MaxBodyBytes, func(r chi.Router) { a.routes(r, secret, token) }),
		Jobs:   []func(context.Context){orch.reconcile}})
}
