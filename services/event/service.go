// Package event is the event service: venues and events with their seat plans on MongoDB
// (ticketflow_events); creating an event loads its seats into inventory exactly once.
package event

import (
	"context"
	"time"

	"ticketflow/config"
	"ticketflow/httpapi"
	"ticketflow/mongodb"
)

// Run serves the event service until ctx ends.
func Run(ctx context.Context, cfg *config.Config) error {
	db, err := mongodb.Connect(ctx, cfg.MongoURI, config.EventsDB, 30*time.Second)
	if err != nil {
		return err
	}
	defer db.Client().Disconnect(context.WithoutCancel(ctx))
	r := httpapi.NewRouter(cfg.MaxBodyBytes)
	r.Get("/health", httpapi.Health(config.Event, httpapi.Check{Name: "mongodb", Ping: mongodb.Ping(db)}))
	return httpapi.Serve(ctx, cfg.Addr(config.Event), r, cfg.ShutdownTimeout)
}
