// Package server is the inventory service (`ticketflow serve inventory`): every seat of every event on PostgreSQL
// (ticketflow_inventory), the saga's hold/confirm/release operations, and the public seat map
// cached in Redis.
package server

import (
	"context"
	"embed"
	"log/slog"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/redis/go-redis/v9"

	"ticketflow/internal/auth"
	"ticketflow/internal/config"
	"ticketflow/internal/httpapi"
	"ticketflow/internal/pgdb"
	"ticketflow/internal/process"
	"ticketflow/internal/router"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Run serves the inventory service until ctx ends.
func Run(ctx context.Context, cfg *config.Config) error {
	pool, err := pgdb.OpenMigrated(ctx, cfg.PostgresDSN(config.InventoryDB), cfg.PostgresConns, migrations)
	if err != nil {
		return err
	}
	defer pool.Close()
	// Redis only caches built seat maps: short timeouts, no retries (a slow cache is skipped).
	rdb := redis.NewClient(&redis.Options{Addr: cfg.RedisAddr, PoolSize: 100, MaxRetries: -1,
		DialTimeout: 200 * time.Millisecond, ReadTimeout: redisTimeout, WriteTimeout: redisTimeout})
	defer rdb.Close()

	st := &store{pool: pool}
	a := &api{store: st, maps: newSeatMaps(rdb, st), hub: newHub(st, pool)}
	return process.Run(ctx, cfg, process.Spec{Name: config.Inventory,
		// Redis is a cache: its absence does not make the inventory down (see seatMaps).
		Checks: []httpapi.Check{{Name: "postgres", Ping: pool.Ping}},
		API:    router.API(cfg.MaxBodyBytes, func(r chi.Router) { a.routes(r, auth.InternalToken([]byte(cfg.JWTSecret))) }),
		Jobs:   []func(context.Context){a.sweep, a.hub.run}})
}

// sweep frees holds that expired a minute ago and were never released (their booking's workflow
// releases them itself; this is the backstop the original system lacked).
func (a *api) sweep(ctx context.Context) {
	process.Every(ctx, 30*time.Second, process.AfterInterval, func(ctx context.Context) {
		events, err := a.store.sweepExpired(ctx, time.Minute)
		if err == nil && len(events) > 0 {
			slog.Info("expired holds swept", "events", len(events))
		}
		if err == nil {
			err = a.store.pruneChanges(ctx, changeRetention)
		}
		if err != nil && ctx.Err() == nil {
			slog.Warn("sweep of expired holds failed", "err", err)
		}
	})
}
