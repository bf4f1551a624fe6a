package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"go.mongodb.org/mongo-driver/v2/bson"

	"ticketflow/internal/mongodb"
	"ticketflow/services/payment"
)

// refund is refundBooking, limited to req.PaymentID when it is set.
func (s *service) refund(ctx context.Context, req payment.RefundRequest) (payment.RefundOutcome, error) {
	if req.PaymentID != "" && req.PaymentID != paymentID(req.BookingID) {
		p, err := s.store.paymentOfBooking(ctx, req.BookingID)
		if err != nil && !notFound(err) {
			return payment.RefundOutcome{}, err
		}
		if err != nil || p.ID != req.PaymentID {
			// Not a payment of ours: there is no money behind that id to give back.
			return payment.RefundOutcome{PaymentID: req.PaymentID}, nil
		}
	}
	return s.refundBooking(ctx, req.BookingID, req.Reason)
}

// refundBooking gives back the money of a booking's payment, once:
//   - no payment yet: a FAILED placeholder is stored, so a payment.requested that arrives late
//     (after its booking was given up) is refused instead of charged;
//   - PENDING (the provider never answered): voided, FAILED, no money moved;
//   - FAILED: nothing to give back;
//   - SUCCEEDED or REFUNDED: refunded once (the refunds document is the once), and
//     payment.refunded is published (again, on a repeated call; consumers drop duplicates).
func (s *service) refundBooking(ctx context.Context, bookingID, reason string) (payment.RefundOutcome, error) {
	// Each pass either answers or saw the payment change under it (another replica or request);
	// a few passes settle it.
	for range 3 {
		p, err := s.store.paymentOfBooking(ctx, bookingID)
		if notFound(err) {
			p, err = s.voidUnrequested(ctx, bookingID, reason)
			if errors.Is(err, errStale) {
				continue
			}
			if err != nil {
				return payment.RefundOutcome{}, err
			}
			return payment.RefundOutcome{Voided: true, PaymentID: p.ID, Status: p.Status}, nil
		}
		if err != nil {
			return payment.RefundOutcome{}, err
		}
		switch p.Status {
		case payment.StatusPending:
			winner, won, err := s.store.settle(ctx, settlement{PaymentID: p.ID, Status: payment.StatusFailed,
				FailureReason: voidPrefix + reason, SettledAt: s.now()})
			if err != nil {
				return payment.RefundOutcome{}, err
			}
			if !won {
				continue // the provider's answer came first: refund it (or nothing to give back)
			}
			slog.InfoContext(ctx, "payment voided", "booking", bookingID, "payment", p.ID, "reason", reason)
			return payment.RefundOutcome{Voided: true, PaymentID: p.ID, Status: winner.Status}, nil
		case payment.StatusFailed:
			return payment.RefundOutcome{Voided: p.voided(), PaymentID: p.ID, Status: p.Status}, nil
		case payment.StatusSucceeded, payment.StatusRefunded:
			return s.completeRefund(ctx, p, reason)
		default:
			return payment.RefundOutcome{}, fmt.Errorf("payment %s has unknown status %q", p.ID, p.Status)
		}
	}
	return payment.RefundOutcome{}, errStale
}

// voidUnrequested stores the FAILED placeholder payment of a booking given up before its
// payment was requested. errStale when a payment appeared meanwhile.
func (s *service) voidUnrequested(ctx context.Context, bookingID, reason string) (*Payment, error) {
	now := s.now()
	p := &Payment{ID: paymentID(bookingID), BookingID: bookingID, Status: payment.StatusFailed, FailureReason: voidPrefix + reason,
		IdempotencyKey: "void:" + bookingID, Placeholder: true, SettledAt: now, CreatedAt: now, UpdatedAt: now}
	if err := s.store.insertPayment(ctx, p); err != nil {
		if mongodb.IsDuplicateKey(err) {
			return nil, errStale
		}
		return nil, err
	}
	slog.InfoContext(ctx, "booking given up before its payment was requested; any later request will be refused",
		"booking", bookingID, "reason", reason)
	return p, nil
}

// completeRefund refunds a SUCCEEDED payment, or finishes (and re-announces) a refund begun
// before. Every step is safe to repeat: the refunds insert claims the refund, the provider call is
// idempotent under its key, the status change is conditional, and the message is a fact.
func (s *service) completeRefund(ctx context.Context, p *Payment, reason string) (payment.RefundOutcome, error) {
	r, again, err := s.refundOnce(ctx, &Refund{BookingID: p.BookingID, PaymentID: p.ID, AmountMinor: p.AmountMinor,
		Currency: p.Currency, Reason: reason, CreatedAt: s.now()}, p.ProviderRef, "refund:"+p.ID)
	if err != nil {
		return payment.RefundOutcome{}, err
	}
	if p.Status == payment.StatusSucceeded {
		err := s.store.transition(ctx, p.ID, payment.StatusSucceeded, bson.M{"status": payment.StatusRefunded,
			"refundRef": r.ProviderRef, "updatedAt": s.now()})
		if err != nil && !errors.Is(err, errStale) { // stale: another replica marked it already
			return payment.RefundOutcome{}, err
		}
	}
	msg, err := refundedMessage(r)
	if err != nil {
		return payment.RefundOutcome{}, err
	}
	if err := s.announce(ctx, again, msg); err != nil {
		return payment.RefundOutcome{}, err
	}
	return payment.RefundOutcome{Refunded: true, PaymentID: p.ID, Status: payment.StatusRefunded}, nil
}

// refundOnce gives back the capture chargeRef, described by r, exactly once: the refunds insert
// claims it (r.BookingID is the document's key), the provider's refund is idempotent under
// providerKey, and its reference is recorded once made. A refund begun before is carried on with
// its own reason and time; the refund as stored is returned, and again is true when it was begun
// before (its message may have been sent already).
func (s *service) refundOnce(ctx context.Context, r *Refund, chargeRef, providerKey string) (_ *Refund, again bool, err error) {
	r.ChargeRef = chargeRef
	if err := s.store.insertRefund(ctx, r); err != nil {
		if !mongodb.IsDuplicateKey(err) {
			return nil, false, err
		}
		if r, err = s.store.refund(ctx, r.BookingID); err != nil {
			return nil, false, err
		}
		again = true
	}
	if r.ProviderRef != "" {
		return r, again, nil
	}
	res, err := s.provider.Refund(ctx, ChargeRefund{IdempotencyKey: providerKey, ChargeRef: chargeRef,
		AmountMinor: r.AmountMinor, Currency: r.Currency})
	if err != nil {
		return nil, false, fmt.Errorf("refund charge %s: %w", chargeRef, err)
	}
	if err := s.store.setRefundRef(ctx, r.BookingID, res.ProviderRef); err != nil {
		return nil, false, err
	}
	r.ProviderRef = res.ProviderRef
	slog.InfoContext(ctx, "payment refunded", "refund", r.BookingID, "payment", r.PaymentID, "charge", chargeRef,
		"reason", r.Reason)
	return r, again, nil
}
