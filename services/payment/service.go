// Package payment is the payment service: one charge per booking through a payment provider
// (a mock that honours the contract test tokens), refunds, on MongoDB (ticketflow_payments).
package payment

import (
	"context"
	"time"

	"ticketflow/config"
	"ticketflow/httpapi"
	"ticketflow/mongodb"
)

// Run serves the payment service until ctx ends.
func Run(ctx context.Context, cfg *config.Config) error {
	db, err := mongodb.Connect(ctx, cfg.MongoURI, config.PaymentsDB, 30*time.Second)
	if err != nil {
		return err
	}
	defer db.Client().Disconnect(context.WithoutCancel(ctx))
	r := httpapi.NewRouter(cfg.MaxBodyBytes)
	r.Get("/health", httpapi.Health(config.Payment, httpapi.Check{Name: "mongodb", Ping: mongodb.Ping(db)}))
	return httpapi.Serve(ctx, cfg.Addr(config.Payment), r, cfg.ShutdownTimeout)
}
