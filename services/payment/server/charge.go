package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/segmentio/kafka-go"

	"ticketflow/internal/bus"
	"ticketflow/internal/mongodb"
	"ticketflow/services/payment"
)

// publisher is what the service needs of a *bus.Writer.
type publisher interface {
	Publish(ctx context.Context, msgs ...bus.Message) error
	PublishChecked(ctx context.Context, msgs ...bus.Message) error
}

// service is the payment logic shared by the consumer and the HTTP API.
type service struct {
	store    *store
	provider Provider
	bus      publisher
	now      func() time.Time
}

func newService(st *store, p Provider, pub publisher) *service {
	return &service{store: st, provider: p, bus: pub,
		// Mongo keeps milliseconds: a time taken here must equal its stored copy, or the first
		// send of a fact and its re-sends would differ.
		now: func() time.Time { return time.Now().UTC().Truncate(time.Millisecond) }}
}

// handlePaymentRequested handles a ticketflow.payment.requested message (decoded by bus.Handle).
// A message delivered twice charges once: the second delivery finds the payment and re-sends its
// outcome.
func (s *service) handlePaymentRequested(ctx context.Context, _ bus.Envelope, req bus.PaymentRequested, m kafka.Message) error {
	if string(m.Key) != req.BookingID {
		// Still handled (the booking lock keeps it safe in this process), but the contract's
		// one-writer-per-booking ordering rests on the key.
		slog.WarnContext(ctx, "payment.requested not keyed by its booking id", "key", string(m.Key), "booking", req.BookingID)
	}
	return s.pay(ctx, &req)
}

// pay charges the booking of req once and publishes the outcome. Order matters: the outcome is
// stored before it is published, so a publish that fails is retried from the stored outcome and
// never charges again.
func (s *service) pay(ctx context.Context, req *bus.PaymentRequested) error {
	p, err := s.paymentFor(ctx, req)
	if err != nil {
		return err
	}
	if p.Placeholder {
		if p, err = s.fillPlaceholder(ctx, p, req); err != nil {
			return err
		}
	}
	if p.settled() {
		// A redelivery (its offset commit was lost with the broker) or a request re-sent: the
		// outcome may be on the topic already, so it is looked for before it is sent again.
		if err := s.finishVoidRefund(ctx, p); err != nil {
			return err
		}
		return s.publishProcessed(ctx, p, true)
	}

	// Charge with the stored payment's key and amount: a redelivery (or a request re-sent with
	// another key for the same booking) must reach the provider as the same charge.
	res, err := s.provider.Charge(ctx, ChargeRequest{IdempotencyKey: p.IdempotencyKey, Token: req.PaymentMethodToken,
		AmountMinor: p.AmountMinor, Currency: p.Currency})
	if errors.Is(err, ErrNoResponse) {
		// Whether money moved is unknown: report nothing. The booking's hold runs out and its
		// saga voids the payment; a redelivery asks the provider again under the same key.
		slog.WarnContext(ctx, "payment provider did not respond; payment stays PENDING", "booking", p.BookingID, "payment", p.ID)
		return nil
	}
	if err != nil {
		return fmt.Errorf("charge booking %s: %w", p.BookingID, err)
	}

	o := settlement{PaymentID: p.ID, Status: payment.StatusSucceeded, ProviderRef: res.ProviderRef, SettledAt: s.now()}
	if !res.Approved {
		o.Status, o.FailureReason = payment.StatusFailed, res.DeclineReason
	}
	winner, won, err := s.store.settle(ctx, o)
	if err != nil {
		return err
	}
	if !won && winner.Status == payment.StatusFailed && strings.HasPrefix(winner.FailureReason, voidPrefix) {
		return s.lostToVoid(ctx, p.ID, res) // voided while the provider was charging
	}
	p.Status, p.FailureReason, p.ProviderRef, p.SettledAt, p.UpdatedAt = winner.Status, winner.FailureReason,
		winner.ProviderRef, winner.SettledAt, winner.SettledAt
	slog.InfoContext(ctx, "payment settled", "booking", p.BookingID, "payment", p.ID, "status", p.Status)
	// Lost the settlement: another delivery (another replica, after a rebalance) settled it and
	// publishes or published the same fact.
	return s.publishProcessed(ctx, p, !won)
}

// paymentFor inserts the PENDING payment of req, or returns the payment already made for its
// idempotency key or its booking.
func (s *service) paymentFor(ctx context.Context, req *bus.PaymentRequested) (*Payment, error) {
	now := s.now()
	p := &Payment{ID: paymentID(req.BookingID), BookingID: req.BookingID, UserID: req.UserID, AmountMinor: req.AmountMinor,
		Currency: req.Currency, Status: payment.StatusPending, IdempotencyKey: req.IdempotencyKey, CreatedAt: now, UpdatedAt: now}
	err := s.store.insertPayment(ctx, p)
	if err == nil {
		return p, nil
	}
	if !mongodb.IsDuplicateKey(err) {
		return nil, err
	}
	existing, err := s.store.paymentOfBooking(ctx, req.BookingID)
	if notFound(err) {
		existing, err = s.store.paymentWithKey(ctx, req.IdempotencyKey) // the key, reused for another booking
	}
	if notFound(err) {
		return nil, fmt.Errorf("payment of booking %s: duplicate key, yet no payment found", req.BookingID)
	}
	if err != nil {
		return nil, err
	}
	if existing.BookingID != req.BookingID {
		return nil, fmt.Errorf("%w: idempotencyKey already used for booking %s", bus.ErrMalformed, existing.BookingID)
	}
	return existing, nil
}

// fillPlaceholder completes the payment a void left for a booking whose request had not come yet.
// It stays FAILED: the booking was given up before it could be charged.
func (s *service) fillPlaceholder(ctx context.Context, p *Payment, req *bus.PaymentRequested) (*Payment, error) {
	err := s.store.fillPlaceholder(ctx, p.ID, req.UserID, req.AmountMinor, req.Currency)
	if err != nil && !errors.Is(err, errStale) {
		return nil, err
	}
	return s.store.payment(ctx, p.ID)
}

// lostToVoid handles a charge whose outcome lost to a void: the saga gave the booking up while the
// provider was charging. Money taken for a voided payment is given back at once.
func (s *service) lostToVoid(ctx context.Context, id string, res ChargeResult) error {
	cur, err := s.store.payment(ctx, id)
	if err != nil {
		return err
	}
	if !cur.settled() {
		return errStale
	}
	if res.Approved && cur.Status == payment.StatusFailed {
		// Money taken for a voided payment is given back at once, recorded as the booking's refund
		// and announced; a failure is retried with the message (the provider answers the charge
		// again with the same reference, under its idempotency key).
		r, again, err := s.refundOnce(ctx, &Refund{BookingID: cur.BookingID, PaymentID: cur.ID, AmountMinor: cur.AmountMinor,
			Currency: cur.Currency, Reason: "charge answered after its payment was voided", CreatedAt: s.now()},
			res.ProviderRef, "void:"+cur.ID)
		if err != nil {
			return err
		}
		// The record tells the whole story: voided, captured late, refunded (both references).
		if cur, err = s.store.refundedIfGivenBack(ctx, cur); err != nil {
			return err
		}
		msg, err := refundedMessage(r)
		if err != nil {
			return err
		}
		if err := s.announce(ctx, again, msg); err != nil {
			return err
		}
	}
	// A redelivery that came while the provider was charging may have sent it already. Its
	// outcome stays the void's (Payment.outcome).
	return s.publishProcessed(ctx, cur, true)
}

// finishVoidRefund completes the refund of a charge answered after its payment was voided, when
// an earlier attempt stored the refund and failed before the provider made it or before its
// message was sent; the message is sent again, looked for first.
func (s *service) finishVoidRefund(ctx context.Context, p *Payment) error {
	if !p.voided() {
		return nil
	}
	r, err := s.store.refund(ctx, p.BookingID)
	if notFound(err) || (err == nil && r.ChargeRef == "") {
		return nil
	}
	if err != nil {
		return err
	}
	if r.ProviderRef == "" {
		if r, _, err = s.refundOnce(ctx, r, r.ChargeRef, "void:"+p.ID); err != nil {
			return err
		}
	}
	if _, err := s.store.refundedIfGivenBack(ctx, p); err != nil {
		return err
	}
	msg, err := refundedMessage(r)
	if err != nil {
		return err
	}
	return s.announce(ctx, true, msg) // an earlier attempt stored it, and may have sent it
}

// publishProcessed sends the payment.processed fact of p; again says it may have been sent before.
func (s *service) publishProcessed(ctx context.Context, p *Payment, again bool) error {
	msg, err := processedMessage(p)
	if err != nil {
		return err
	}
	return s.announce(ctx, again, msg)
}

// announce publishes a fact. A fact that may have been published before (again: it was found
// stored, not made by this call) is first looked for on its topic: Kafka holds each fact once
// even when a delivery is repeated because its offset commit was lost with the broker, or a
// process died between publishing and acknowledging. A first send skips the look, which costs a
// read of the partition's tail.
func (s *service) announce(ctx context.Context, again bool, msgs ...bus.Message) error {
	if again {
		return s.bus.PublishChecked(ctx, msgs...)
	}
	return s.bus.Publish(ctx, msgs...)
}
