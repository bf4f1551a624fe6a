// Package user is the user service: registration, login and the caller's profile, on PostgreSQL
// (ticketflow_users). It publishes ticketflow.user.registered through a transactional outbox.
package user

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

// Run serves the user service until ctx ends.
func Run(ctx context.Context, cfg *config.Config) error {
	pool, err := pgdb.Open(ctx, cfg.PostgresDSN(config.UsersDB), 20, 30*time.Second)
	if err != nil {
		return err
	}
	defer pool.Close()
	if err := pgdb.Migrate(ctx, pool, migrations); err != nil {
		return err
	}
	r := httpapi.NewRouter(cfg.MaxBodyBytes)
	r.Get("/health", httpapi.Health(config.User, httpapi.Check{Name: "postgres", Ping: pool.Ping}))
	return httpapi.Serve(ctx, cfg.Addr(config.User), r, cfg.ShutdownTimeout)
}
