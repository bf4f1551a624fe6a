// Package server is the ticket service (`ticketflow serve ticket`), on PostgreSQL
// (ticketflow_tickets): one ticket per seat of a confirmed booking, each a compact JWS signed with
// Ed25519 that anyone can verify offline against GET /api/tickets/keys; revocation when a booking
// is cancelled or refunded, and the revocation lists offline scanners keep; check-in at the door,
// exactly once, online or uploaded later; transfer to another account. Its facts go to Kafka
// (ticketflow.ticket.*) through a transactional outbox.
package server

import (
	"context"
	"embed"
	"log/slog"
	"time"

	"github.com/go-chi/chi/v5"

	"ticketflow/internal/auth"
	"ticketflow/internal/bus"
	"ticketflow/internal/clock"
	"ticketflow/internal/config"
	"ticketflow/internal/httpapi"
	"ticketflow/internal/outbox"
	"ticketflow/internal/pgdb"
	"ticketflow/internal/process"
	"ticketflow/internal/router"
	"ticketflow/services/event"
	"ticketflow/services/user"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Run serves the ticket service until ctx ends.
func Run(ctx context.Context, cfg *config.Config) error {
	pool, err := pgdb.OpenMigrated(ctx, cfg.PostgresDSN(config.TicketsDB), cfg.PostgresConns, migrations)
	if err != nil {
		return err
	}
	defer pool.Close()
	keys := &keyring{pool: pool, rotation: cfg.TicketKeyRotation}
	if err := keys.load(ctx); err != nil {
		return err
	}
	writer := bus.NewWriter(cfg.KafkaBrokers, config.Ticket)
	defer writer.Close()
	secret := []byte(cfg.JWTSecret)
	internalToken := auth.InternalToken(secret)
	a := &api{store: &store{pool: pool}, keys: keys, eventLasts: cfg.TicketEventLasts, now: clock.Now,
		users:  user.NewClient(cfg.Endpoints[config.User], internalToken, 5*time.Second),
		events: event.NewClient(cfg.Endpoints[config.Event], internalToken, 5*time.Second)}
	rotation := func(ctx context.Context) {
		if err := keys.rotateIfDue(ctx); err != nil {
			slog.WarnContext(ctx, "ticket key rotation", "err", err)
		}
	}
	return process.Run(ctx, cfg, process.Spec{Name: config.Ticket,
		Checks: []httpapi.Check{{Name: "postgres", Ping: pool.Ping}},
		API:    router.API(cfg.MaxBodyBytes, func(r chi.Router) { a.routes(r, secret, internalToken) }),
		Jobs: []func(context.Context){(&outbox.Relay{Pool: pool, Writer: writer}).Run,
			func(ctx context.Context) { process.Every(ctx, time.Minute, process.AfterInterval, rotation) }}})
}
