// Package booking is the booking service: the booking record and its status history on
// PostgreSQL (ticketflow_bookings), the REST routes of /api/bookings, and the start of each
// booking's BookingWorkflow.
package booking

import (
	"context"
	"embed"
	"time"

	"ticketflow/config"
	"ticketflow/httpapi"
	"ticketflow/pgdb"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Run serves the booking service until ctx ends.
func Run(ctx context.Context, cfg *config.Config) error {
	pool, err := pgdb.Open(ctx, cfg.PostgresDSN(config.BookingsDB), 40, 30*time.Second)
	if err != nil {
		return err
	}
	defer pool.Close()
	if err := pgdb.Migrate(ctx, pool, migrations); err != nil {
		return err
	}
	r := httpapi.NewRouter(cfg.MaxBodyBytes)
	r.Get("/health", httpapi.Health(config.Booking, httpapi.Check{Name: "postgres", Ping: pool.Ping}))
	return httpapi.Serve(ctx, cfg.Addr(config.Booking), r, cfg.ShutdownTimeout)
}
