// Package server is the user service (`ticketflow serve user`): registration, login and the caller's profile, on PostgreSQL
// (ticketflow_users). It publishes ticketflow.user.registered through a transactional outbox.
package server

import (
	"context"
	"embed"
	"log/slog"

	"github.com/go-chi/chi/v5"
	"golang.org/x/crypto/bcrypt"

	"ticketflow/internal/auth"
	"ticketflow/internal/bus"
	"ticketflow/internal/config"
	"ticketflow/internal/httpapi"
	"ticketflow/internal/outbox"
	"ticketflow/internal/pgdb"
	"ticketflow/internal/process"
	"ticketflow/internal/ratelimit"
	"ticketflow/internal/router"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Run serves the user service until ctx ends.
func Run(ctx context.Context, cfg *config.Config) error {
	pool, err := pgdb.OpenMigrated(ctx, cfg.PostgresDSN(config.UsersDB), cfg.PostgresConns, migrations)
	if err != nil {
		return err
	}
	defer pool.Close()
	writer := bus.NewWriter(cfg.KafkaBrokers, config.User)
	defer writer.Close()

	secret := []byte(cfg.JWTSecret)
	dummy, _ := bcrypt.GenerateFromPassword([]byte("not-a-real-password"), bcrypt.DefaultCost)
	limits := ratelimit.NewRedisClient(cfg.RedisAddr)
	defer limits.Close()
	a := &api{store: &store{pool: pool}, secret: secret, ttl: cfg.JWTTTL, dummyHash: dummy,
		failures: ratelimit.NewShared(limits, "login", cfg.LoginLimit, cfg.LoginWindow, slog.Default())}

	return process.Run(ctx, cfg, process.Spec{Name: config.User,
		Checks: []httpapi.Check{{Name: "postgres", Ping: pool.Ping}},
		API:    router.API(cfg.MaxBodyBytes, func(r chi.Router) { a.routes(r, auth.InternalToken(secret)) }),
		Jobs:   []func(context.Context){(&outbox.Relay{Pool: pool, Writer: writer}).Run}})
}
