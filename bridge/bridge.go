// Package bridge is the Kafka side of the booking saga: it turns the contract topics it consumes
// into Temporal signals and workflow starts, so teams that speak Kafka keep working while Temporal
// orchestrates (`ticketflow serve bridge`).
//
//   - payment.processed → checked against the payment service's record, then the record goes to
//     the booking's workflow as its "payment-result" signal, sealed (auth.PaymentSeal) so that the
//     workflow acts on it without reading it again; a result that is not the record goes
//     to the DLT; a payment for a workflow that has closed is refunded unless the booking keeps it.
//   - booking.initiated from an outside producer → the booking is made exactly as REST makes it
//     (idempotent by booking id). The worker's own booking.initiated messages are not fed back.
//
// seats.locked and booking.confirmed are published by the workflow (its Emit activity); the bridge
// does not consume them.
package bridge

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/segmentio/kafka-go"

	"ticketflow/internal/auth"
	"ticketflow/internal/bus"
	"ticketflow/internal/config"
	"ticketflow/internal/httpapi"
	"ticketflow/internal/lifecycle"
	"ticketflow/internal/process"
	"ticketflow/internal/temporalclient"
	"ticketflow/services/booking"
	"ticketflow/services/payment"
)

// Group is the bridge's consumer group.
const Group = "booking-bridge"

// Bridge holds the bridge's clients: the door to the booking workflows and the booking and
// payment services' contracts.
type Bridge struct {
	door     *lifecycle.Door
	bookings *booking.Client
	payments *payment.Client
	secret   []byte // seals the payments of record it hands to the workflows (auth.PaymentSeal)
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
		door:     lifecycle.NewDoor(c, cfg.TaskQueue, cfg.TemporalNS),
		secret:   []byte(cfg.JWTSecret),
		bookings: booking.NewClient(cfg.Endpoints[config.Booking], token, 30*time.Second),
		payments: payment.NewClient(cfg.Endpoints[config.Payment], token, 30*time.Second),
	}
	dlt := bus.NewWriter(cfg.KafkaBrokers, config.Bridge)
	defer dlt.Close()
	consumers := []*bus.Consumer{
		bus.NewConsumer(bus.ConsumerConfig{Brokers: cfg.KafkaBrokers, GroupID: Group, Topic: bus.TopicPaymentProcessed,
			Handler: bus.Handle(bus.TopicPaymentProcessed, b.PaymentProcessed), Lanes: 32, DLT: dlt}),
		bus.NewConsumer(bus.ConsumerConfig{Brokers: cfg.KafkaBrokers, GroupID: Group, Topic: bus.TopicBookingInitiated,
			Handler: fromOutside(bus.Handle(bus.TopicBookingInitiated, b.BookingInitiated)), Lanes: 16, DLT: dlt}),
	}
	return process.Run(ctx, cfg, process.Spec{Name: config.Bridge,
		Checks:    []httpapi.Check{temporalclient.HealthCheck(c), bus.HealthCheck(cfg.KafkaBrokers)},
		Consumers: consumers})
}

// PaymentProcessed checks a payment result against the payment service's record and delivers the
// record to the booking's workflow:
//   - a result that is not the payment of record (another payment id, amount, currency or
//     outcome, or no payment at all) confirms nothing: it goes to the DLT with the reason, unless
//     it names a real capture that no payment keeps, which the payment service has refunded;
//   - for a booking whose workflow has closed, a payment of record the booking does not keep is
//     refunded (once: the payment service refunds a payment at most once).
func (b *Bridge) PaymentProcessed(ctx context.Context, _ bus.Envelope, claim bus.PaymentProcessed, _ kafka.Message) error {
	v, err := b.payments.Verify(ctx, claim)
	if err != nil {
		return err
	}
	if !v.Matches {
		if v.Refunded {
			slog.WarnContext(ctx, "payment result named a capture no booking keeps; refunded", "booking", claim.BookingID,
				"payment", claim.PaymentID, "charge", claim.ProviderRef, "reason", v.Reason)
			return nil
		}
		return fmt.Errorf("%w: not the payment of record: %s", bus.ErrMalformed, v.Reason)
	}
	rec := payment.Record{Found: true, View: *v.Record}
	res := lifecycle.PaymentResult{PaymentProcessed: rec.Result(), RecordStatus: rec.Status}
	res.Seal = auth.PaymentSeal(b.secret, res.SealFields()...)
	err = b.door.SignalPayment(ctx, claim.BookingID, res)
	switch {
	case err == nil:
		return nil
	case !errors.Is(err, lifecycle.ErrClosed):
		return err // Temporal unreachable: retried
	case !rec.Kept():
		return nil // the workflow has closed and no money is kept: nothing to do
	}
	bk, err := b.bookings.Get(ctx, claim.BookingID)
	if err != nil {
		return err // the payment of record names a booking; it is there once the booking service answers
	}
	if !lifecycle.OwesRefund(bk.Status, deref(bk.PaymentID), rec.ID) {
		// The booking keeps this payment (a duplicate of its confirmation), or it is still PENDING
		// with no open workflow: the run the reconciler starts for it reads the payment of record
		// itself and decides. The bridge never decides a booking's money ahead of its workflow.
		return nil
	}
	reason := fmt.Sprintf("payment arrived after the booking ended (%s)", bk.Status)
	if _, err := b.payments.Refund(ctx, payment.RefundRequest{BookingID: claim.BookingID, PaymentID: rec.ID, Reason: reason}); err != nil {
		return err
	}
	slog.InfoContext(ctx, "late payment refunded", "booking", claim.BookingID, "payment", rec.ID, "bookingStatus", bk.Status)
	return nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// fromOutside skips the worker's own messages (producer header "worker"), before they are decoded.
func fromOutside(h bus.Handler) bus.Handler {
	return func(ctx context.Context, m kafka.Message) error {
		if bus.Header(m, bus.HeaderProducer) == config.Worker {
			return nil
		}
		return h(ctx, m)
	}
}

// BookingInitiated makes a booking announced by an outside producer, exactly as REST would. The
// worker's own announcements (producer header "worker") are already bookings and are skipped
// (fromOutside); were one to slip through, the booking service would find the booking by id and
// change nothing.
func (b *Bridge) BookingInitiated(ctx context.Context, _ bus.Envelope, p bus.BookingInitiated, _ kafka.Message) error {
	err := b.bookings.Create(ctx, booking.AnnouncedBooking{BookingID: p.BookingID, UserID: p.UserID,
		UserEmail: p.UserEmail, EventID: p.EventID, SeatIDs: p.SeatIDs, Quantities: p.Quantities,
		IdempotencyKey: p.IdempotencyKey})
	var e *httpapi.Error
	switch {
	case err == nil:
		return nil
	case errors.As(err, &e) && e.Status == http.StatusConflict:
		return nil // a real outcome (seats taken, buyer limit, sales closed): its workflow records it FAILED
	case errors.As(err, &e) && e.Status >= 400 && e.Status < 500 && e.Status != http.StatusTooManyRequests:
		return fmt.Errorf("%w: booking refused: %s %s", bus.ErrMalformed, e.Code, e.Message)
	}
	return err
}
