// Package payment is the payment service: one charge per booking through a payment provider
// (a mock that honours the contract test tokens), refunds, on MongoDB (ticketflow_payments).
//
// It consumes ticketflow.payment.requested and publishes ticketflow.payment.processed; the saga
// asks it over the internal API to give a booking's money back (ticketflow.payment.refunded).
// Every step is idempotent: a payment per idempotency key and per booking, a refund per booking,
// each resting on a unique key, and every message a deterministic fact.
package payment

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"ticketflow/internal/auth"
	"ticketflow/internal/bus"
	"ticketflow/internal/config"
	"ticketflow/internal/httpapi"
	"ticketflow/internal/mongodb"
)

const (
	consumerGroup = "payment-service"
	// consumerLanes is how many bookings are charged at once. The provider call is mostly
	// waiting, so more lanes than partitions pay off; one booking still has one lane.
	consumerLanes = 16
)

// Run serves the payment service until ctx ends.
func Run(ctx context.Context, cfg *config.Config) error {
	db, err := mongodb.Connect(ctx, cfg.MongoURI, config.PaymentsDB, 30*time.Second)
	if err != nil {
		return err
	}
	defer db.Client().Disconnect(context.WithoutCancel(ctx))
	st := newStore(db)
	if err := st.ensureIndexes(ctx); err != nil {
		return err
	}
	writer := bus.NewWriter(cfg.KafkaBrokers, config.Payment)
	defer writer.Close()
	// The mock provider keeps its ledger in its own collection: every replica and restart sees the
	// same provider, as with a real one.
	svc := newService(st, NewMockProvider(cfg.ProviderLatency).WithLedger(db.Collection("mock_provider_ledger")), writer)

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	consumer := bus.NewConsumer(bus.ConsumerConfig{Brokers: cfg.KafkaBrokers, GroupID: consumerGroup,
		Topic: bus.TopicPaymentRequested, Handler: svc.handlePaymentRequested, Lanes: consumerLanes, DLT: writer})
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := consumer.Run(ctx); err != nil {
			slog.Error("payment.requested consumer stopped", "err", err)
		}
	})

	secret := []byte(cfg.JWTSecret)
	r := httpapi.NewRouter(cfg.MaxBodyBytes)
	httpapi.Profiling(r, auth.InternalToken([]byte(cfg.JWTSecret)))
	r.Get("/health", httpapi.Health(config.Payment, httpapi.Check{Name: "mongodb", Ping: mongodb.Ping(db)},
		bus.HealthCheck(cfg.KafkaBrokers)))
	r.Get("/stats", bus.StatsHandler(consumer))
	(&api{svc: svc}).routes(r, secret, auth.InternalToken(secret))
	err = httpapi.Serve(ctx, cfg.Addr(config.Payment), r, cfg.ShutdownTimeout)
	// Stop consuming, and wait for the consumer to let go (a message in hand stays uncommitted
	// and is redelivered) before the writer and the database close under it.
	cancel()
	wg.Wait()
	return err
}
