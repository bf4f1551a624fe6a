// Package bridge is the Kafka side of the booking saga: it turns the contract topics it consumes
// into Temporal signals and workflow starts, so teams that speak Kafka keep working while Temporal
// orchestrates (`ticketflow serve bridge`).
//
//   - payment.processed → the "payment-result" signal of the booking's workflow; for a workflow
//     that already ended (expired, cancelled), a success is refunded instead.
//   - booking.initiated from an outside producer → the booking is made exactly as REST makes it
//     (idempotent by booking id). The worker's own booking.initiated messages are not fed back.
//
// seats.locked and booking.confirmed are the bridge's own emissions; it does not consume them.
package bridge

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"ticketflow/auth"
	"ticketflow/bus"
	"ticketflow/config"
	"ticketflow/httpapi"
	"ticketflow/temporalclient"
	"ticketflow/workflows"
)

// Group is the bridge's consumer group.
const Group = "booking-bridge"

// Bridge holds the bridge's clients.
type Bridge struct {
	temporal client.Client
	bookings *httpapi.Client
	payments *httpapi.Client
}

// Run consumes until ctx ends, with a health answer and consumer stats on its port.
func Run(ctx context.Context, cfg *config.Config) error {
	c, err := temporalclient.Dial(ctx, cfg)
	if err != nil {
		return err
	}
	defer c.Close()
	token := auth.InternalToken([]byte(cfg.JWTSecret))
	b := &Bridge{
		temporal: c,
		bookings: httpapi.NewClient(cfg.URLs[config.Booking], token, 30*time.Second),
		payments: httpapi.NewClient(cfg.URLs[config.Payment], token, 30*time.Second),
	}
	dlt := bus.NewWriter(cfg.KafkaBrokers, config.Bridge)
	defer dlt.Close()
	consumers := []*bus.Consumer{
		bus.NewConsumer(bus.ConsumerConfig{Brokers: cfg.KafkaBrokers, GroupID: Group, Topic: bus.TopicPaymentProcessed,
			Handler: b.PaymentProcessed, Lanes: 32, DLT: dlt}),
		bus.NewConsumer(bus.ConsumerConfig{Brokers: cfg.KafkaBrokers, GroupID: Group, Topic: bus.TopicBookingInitiated,
			Handler: b.BookingInitiated, Lanes: 16, DLT: dlt}),
	}
	var wg sync.WaitGroup
	for _, cons := range consumers {
		wg.Add(1)
		go func(cons *bus.Consumer) { defer wg.Done(); _ = cons.Run(ctx) }(cons)
	}
	defer wg.Wait()

	r := httpapi.NewRouter(cfg.MaxBodyBytes)
	httpapi.Profiling(r, auth.InternalToken([]byte(cfg.JWTSecret)))
	r.Get("/health", httpapi.Health(config.Bridge, temporalclient.HealthCheck(c), bus.HealthCheck(cfg.KafkaBrokers)))
	r.Get("/stats", bus.StatsHandler(consumers...))
	return httpapi.Serve(ctx, cfg.Addr(config.Bridge), r, cfg.ShutdownTimeout)
}

// PaymentProcessed delivers a payment result to the booking's workflow. When the workflow has
// ended, a successful payment that the booking does not use is refunded (once: the payment
// service refunds a booking at most once).
func (b *Bridge) PaymentProcessed(ctx context.Context, m kafka.Message) error {
	env, err := bus.DecodeEnvelope(m.Topic, m.Value)
	if err != nil {
		return err
	}
	var p bus.PaymentProcessed
	if err := bus.DecodePayload(env, &p); err != nil {
		return err
	}
	err = b.temporal.SignalWorkflow(ctx, workflows.WorkflowID(p.BookingID), "", workflows.SignalPaymentResult, p)
	var nf *serviceerror.NotFound
	if err == nil || !errors.As(err, &nf) {
		return err
	}
	if p.Status != bus.PaymentSuccess {
		return nil // a decline for a finished booking changes nothing
	}
	var booking struct {
		Status    string  `json:"status"`
		PaymentID *string `json:"paymentId"`
	}
	err = b.bookings.Get(ctx, "/internal/bookings/"+p.BookingID, &booking)
	switch {
	case httpapi.IsStatus(err, http.StatusNotFound):
		booking.Status = "UNKNOWN" // money for a booking nobody knows is returned
	case err != nil:
		return err
	}
	if booking.Status == workflows.StatusConfirmed && booking.PaymentID != nil && *booking.PaymentID == p.PaymentID {
		return nil // a duplicate of the payment the booking was confirmed with
	}
	reason := fmt.Sprintf("payment arrived after the booking ended (%s)", booking.Status)
	if err := b.payments.Post(ctx, "/internal/payments/refund", map[string]string{"bookingId": p.BookingID, "reason": reason}, nil); err != nil {
		return err
	}
	slog.Info("late payment refunded", "booking", p.BookingID, "payment", p.PaymentID, "bookingStatus", booking.Status)
	return nil
}

// BookingInitiated makes a booking announced by an outside producer, exactly as REST would. The
// worker's own announcements (producer header "worker") are already bookings and are skipped;
// were one to slip through, the booking service would find the booking by id and change nothing.
func (b *Bridge) BookingInitiated(ctx context.Context, m kafka.Message) error {
	if bus.Header(m, bus.HeaderProducer) == config.Worker {
		return nil
	}
	env, err := bus.DecodeEnvelope(m.Topic, m.Value)
	if err != nil {
		return err
	}
	var p bus.BookingInitiated
	if err := bus.DecodePayload(env, &p); err != nil {
		return err
	}
	err = b.bookings.Post(ctx, "/internal/bookings", map[string]any{
		"bookingId": p.BookingID, "userId": p.UserID, "userEmail": p.UserEmail, "eventId": p.EventID,
		"seatIds": p.SeatIDs, "idempotencyKey": p.IdempotencyKey,
	}, nil)
	var e *httpapi.Error
	switch {
	case err == nil:
		return nil
	case errors.As(err, &e) && e.Code == "SEATS_UNAVAILABLE":
		return nil // a real outcome: the booking is recorded FAILED by its workflow
	case errors.As(err, &e) && e.Status >= 400 && e.Status < 500 && e.Status != http.StatusTooManyRequests:
		return fmt.Errorf("%w: booking refused: %s %s", bus.ErrMalformed, e.Code, e.Message)
	}
	return err
}
