// Package server is the payment service (`ticketflow serve payment`): one charge per booking through a payment provider
// (a mock that honours the contract test tokens), refunds, on MongoDB (ticketflow_payments).
//
// It consumes ticketflow.payment.requested and publishes ticketflow.payment.processed; the saga
// asks it over the internal API to give a booking's money back (ticketflow.payment.refunded).
// Every step is idempotent: a payment per idempotency key and per booking, a refund per booking,
// each resting on a unique key, and every message a deterministic fact.
package server

import (
	"context"

	"github.com/go-chi/chi/v5"

	"ticketflow/internal/auth"
	"ticketflow/internal/bus"
	"ticketflow/internal/config"
	"ticketflow/internal/httpapi"
	"ticketflow/internal/mongodb"
	"ticketflow/internal/process"
	"ticketflow/internal/router"
)

const (
	consumerGroup = "payment-service"
	// consumerLanes is how many bookings are charged at once. The provider call is mostly
	// waiting, so more lanes than partitions pay off; one booking still has one lane.
	consumerLanes = 16
)

// Run serves the payment service until ctx ends.
func Run(ctx context.Context, cfg *config.Config) error {
	st, db, closeDB, err := mongodb.Open(ctx, cfg.MongoURI, config.PaymentsDB, newStore)
	if err != nil {
		return err
	}
	defer closeDB()
	writer := bus.NewWriter(cfg.KafkaBrokers, config.Payment)
	defer writer.Close()
	// The mock provider keeps its ledger in its own collection: every replica and restart sees the
	// same provider, as with a real one.
	svc := newService(st, NewMockProvider(cfg.ProviderLatency).WithLedger(db.Collection("mock_provider_ledger")), writer)
	consumer := bus.NewConsumer(bus.ConsumerConfig{Brokers: cfg.KafkaBrokers, GroupID: consumerGroup,
		Topic: bus.TopicPaymentRequested, Handler: bus.Handle(bus.TopicPaymentRequested, svc.handlePaymentRequested),
		Lanes: consumerLanes, DLT: writer})

	secret := []byte(cfg.JWTSecret)
	// process.Run returns only once the consumer has let go (a message in hand stays uncommitted
	// and is redelivered), so the deferred closes of the writer and the database run after it.
	return process.Run(ctx, cfg, process.Spec{Name: config.Payment,
		Checks:    []httpapi.Check{{Name: "mongodb", Ping: mongodb.Ping(db)}, bus.HealthCheck(cfg.KafkaBrokers)},
		API:       router.API(cfg.MaxBodyBytes, func(r chi.Router) { (&api{svc: svc}).routes(r, secret, auth.InternalToken(secret)) }),
		Consumers: []*bus.Consumer{consumer}})
}
