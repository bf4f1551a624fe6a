// Package server is the event service (`ticketflow serve event`): venues and events with their seat plans on MongoDB
// (ticketflow_events); creating an event loads its seats into inventory exactly once.
package server

import (
	"context"
	"time"

	"github.com/go-chi/chi/v5"

	"ticketflow/internal/auth"
	"ticketflow/internal/config"
	"ticketflow/internal/httpapi"
	"ticketflow/internal/idempotency"
	"ticketflow/internal/mongodb"
	"ticketflow/internal/process"
	"ticketflow/internal/router"
	"ticketflow/services/inventory"
)

// Run serves the event service until ctx ends.
func Run(ctx context.Context, cfg *config.Config) error {
	st, db, closeDB, err := mongodb.Open(ctx, cfg.MongoURI, config.EventsDB, newStore)
	if err != nil {
		return err
	}
	defer closeDB()
	secret := []byte(cfg.JWTSecret)
	token := auth.InternalToken(secret)
	a := &api{store: st, keys: idempotency.New(st.keys), inventory: inventory.NewClient(cfg.Endpoints[config.Inventory], token, 60*time.Second)}
	return process.Run(ctx, cfg, process.Spec{Name: config.Event,
		Checks: []httpapi.Check{{Name: "mongodb", Ping: mongodb.Ping(db)}},
		API:    router.API(cfg.MaxBodyBytes, func(r chi.Router) { a.routes(r, secret, token) }),
		Jobs:   []func(context.Context){a.reconcile}})
}
