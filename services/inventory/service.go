// Package inventory is the inventory service: every seat of every event on PostgreSQL
// (ticketflow_inventory), the saga's hold/confirm/release operations, and the public seat map
// cached in Redis.
package inventory

import (
	"context"
	"embed"
	"log/slog"
	"time"

	"github.com/redis/go-redis/v9"

	"ticketflow/internal/auth"
	"ticketflow/internal/config"
	"ticketflow/internal/httpapi"
	"ticketflow/internal/pgdb"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Run serves the inventory service until ctx ends.
func Run(ctx context.Context, cfg *config.Config) error {
	pool, err := pgdb.Open(ctx, cfg.PostgresDSN(config.InventoryDB), cfg.PostgresConns, 30*time.Second)
	if err != nil {
		return err
	}
	defer pool.Close()
	if err := pgdb.Migrate(ctx, pool, migrations); err != nil {
		return err
	}
	// Redis only caches built seat maps: short timeouts, no retries (a slow cache is skipped).
	rdb := redis.NewClient(&redis.Options{Addr: cfg.RedisAddr, PoolSize: 100, MaxRetries: -1,
		DialTimeout: 200 * time.Millisecond, ReadTimeout: redisTimeout, WriteTimeout: redisTimeout})
	defer rdb.Close()

	st := &store{pool: pool}
	a := &api{store: st, maps: newSeatMaps(rdb, st), hub: newHub(st, pool)}
	go sweep(ctx, a)
	go a.hub.run(ctx)

	r := httpapi.NewRouter(cfg.MaxBodyBytes)
	httpapi.Profiling(r, auth.InternalToken([]byte(cfg.JWTSecret)))
	// Redis is a cache: its absence does not make the inventory down (see seatMaps).
	r.Get("/health", httpapi.Health(config.Inventory, httpapi.Check{Name: "postgres", Ping: pool.Ping}))
	a.routes(r, auth.InternalToken([]byte(cfg.JWTSecret)))
	return httpapi.Serve(ctx, cfg.Addr(config.Inventory), r, cfg.ShutdownTimeout)
}

// sweep frees holds that expired a minute ago and were never released (their booking's workflow
// releases them itself; this is the backstop the original system lacked).
func sweep(ctx context.Context, a *api) {
	t := time.NewTicker(30 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
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
	}
}
