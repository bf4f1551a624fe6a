// Package inventory is the inventory service: every seat of every event on PostgreSQL
// (ticketflow_inventory), the saga's hold/confirm/release operations, and the public seat map
// cached in Redis.
package inventory

import (
	"context"
	"embed"
	"time"

	"github.com/redis/go-redis/v9"

	"ticketflow/config"
	"ticketflow/httpapi"
	"ticketflow/pgdb"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Run serves the inventory service until ctx ends.
func Run(ctx context.Context, cfg *config.Config) error {
	pool, err := pgdb.Open(ctx, cfg.PostgresDSN(config.InventoryDB), 40, 30*time.Second)
	if err != nil {
		return err
	}
	defer pool.Close()
	if err := pgdb.Migrate(ctx, pool, migrations); err != nil {
		return err
	}
	rdb := redis.NewClient(&redis.Options{Addr: cfg.RedisAddr, PoolSize: 100})
	defer rdb.Close()
	r := httpapi.NewRouter(cfg.MaxBodyBytes)
	r.Get("/health", httpapi.Health(config.Inventory,
		httpapi.Check{Name: "postgres", Ping: pool.Ping},
		httpapi.Check{Name: "redis", Ping: func(ctx context.Context) error { return rdb.Ping(ctx).Err() }}))
	return httpapi.Serve(ctx, cfg.Addr(config.Inventory), r, cfg.ShutdownTimeout)
}
