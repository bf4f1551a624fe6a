// Package notification is the notification service: one email per fact over SMTP, every
// attempt stored on MongoDB (ticketflow_notifications).
package notification

import (
	"context"
	"time"

	"ticketflow/config"
	"ticketflow/httpapi"
	"ticketflow/mongodb"
)

// Run serves the notification service until ctx ends.
func Run(ctx context.Context, cfg *config.Config) error {
	db, err := mongodb.Connect(ctx, cfg.MongoURI, config.NotificationsDB, 30*time.Second)
	if err != nil {
		return err
	}
	defer db.Client().Disconnect(context.WithoutCancel(ctx))
	r := httpapi.NewRouter(cfg.MaxBodyBytes)
	r.Get("/health", httpapi.Health(config.Notification, httpapi.Check{Name: "mongodb", Ping: mongodb.Ping(db)}))
	return httpapi.Serve(ctx, cfg.Addr(config.Notification), r, cfg.ShutdownTimeout)
}
