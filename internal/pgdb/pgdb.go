// Package pgdb opens PostgreSQL pools for the services that own a PostgreSQL database and applies
// each service's embedded, versioned migrations at start.
package pgdb

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Open connects a pool to dsn and waits (up to wait) for the server to answer, so a service
// started just before its database does not die at once.
func Open(ctx context.Context, dsn string, maxConns int32, wait time.Duration) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("parse database url: %w", err)
	}
	if maxConns > 0 {
		cfg.MaxConns = maxConns
	}
	cfg.ConnConfig.ConnectTimeout = 3 * time.Second
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	deadline := time.Now().Add(wait)
	for {
		err = pool.Ping(ctx)
		if err == nil {
			return pool, nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			pool.Close()
			return nil, fmt.Errorf("database %s unreachable: %w", cfg.ConnConfig.Database, err)
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// OpenMigrated is how a PostgreSQL-backed service opens its database: Open, waiting up to 30 s
// for the server, then Migrate with the service's migrations (fsys holds migrations/*.sql).
func OpenMigrated(ctx context.Context, dsn string, maxConns int32, fsys fs.FS) (*pgxpool.Pool, error) {
	pool, err := Open(ctx, dsn, maxConns, 30*time.Second)
	if err != nil {
		return nil, err
	}
	if err := Migrate(ctx, pool, fsys); err != nil {
		pool.Close()
		return nil, err
	}
	return pool, nil
}

// Migrate applies, in version order, every migrations/NNN_name.sql file of fsys not yet recorded in
// schema_migrations, each in its own transaction, under an advisory lock so that two processes
// starting together do not race.
func Migrate(ctx context.Context, pool *pgxpool.Pool, fsys fs.FS) error {
	migrations, err := fs.Sub(fsys, "migrations")
	if err != nil {
		return err
	}
	files, err := fs.Glob(migrations, "*.sql")
	if err != nil {
		return err
	}
	type mig struct {
		version int
		name    string
	}
	var all []mig
	for _, f := range files {
		v, err := strconv.Atoi(strings.SplitN(f, "_", 2)[0])
		if err != nil {
			return fmt.Errorf("migration %s: name must start with a version number", f)
		}
		all = append(all, mig{v, f})
	}
	sort.Slice(all, func(i, j int) bool { return all[i].version < all[j].version })

	conn, err := pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock(7215)`); err != nil {
		return err
	}
	defer conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock(7215)`)
	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version int PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
		return err
	}
	for _, m := range all {
		var done bool
		if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = $1)`, m.version).Scan(&done); err != nil {
			return err
		}
		if done {
			continue
		}
		sql, err := fs.ReadFile(migrations, m.name)
		if err != nil {
			return err
		}
		err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, string(sql)); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, name) VALUES ($1, $2)`, m.version, m.name)
			return err
		})
		if err != nil {
			return fmt.Errorf("migration %s: %w", m.name, err)
		}
		slog.Info("migration applied", "migration", m.name)
	}
	return nil
}

// IsUniqueViolation reports whether err is a unique-constraint violation (optionally of a named
// constraint).
func IsUniqueViolation(err error, constraint string) bool {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return false
	}
	return pe.Code == "23505" && (constraint == "" || pe.ConstraintName == constraint)
}
