package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"ticketflow/internal/bus"
	"ticketflow/services/payment"
)

// verifyClaim checks a payment.processed claim against the payment of record. A claim that is not
// the record never confirms anything; when it names a capture the provider really made and no
// payment of record keeps, the money is given back by the capture's reference.
func (s *service) verifyClaim(ctx context.Context, claim *bus.PaymentProcessed) (payment.Verdict, error) {
	p, err := s.store.paymentOfBooking(ctx, claim.BookingID)
	if err != nil && !notFound(err) {
		return payment.Verdict{}, err
	}
	var v payment.Verdict
	if err == nil {
		view := p.view()
		v.Record = &view
		v.Reason = mismatch(p, claim)
		if v.Reason == "" {
			v.Matches = true
			return v, nil
		}
	} else {
		v.Reason = "no payment of record for booking " + claim.BookingID
	}
	if claim.Status != bus.PaymentSuccess || claim.ProviderRef == "" || (p != nil && p.ProviderRef == claim.ProviderRef) {
		// Either no money is claimed, or the capture named is the record's own (which its own
		// message reports truthfully): nothing to give back.
		return v, nil
	}
	charge, err := s.provider.Lookup(ctx, claim.ProviderRef)
	if errors.Is(err, ErrUnknownCharge) {
		return v, nil
	}
	if err != nil {
		return payment.Verdict{}, fmt.Errorf("look up charge %s: %w", claim.ProviderRef, err)
	}
	if !charge.Approved {
		return v, nil
	}
	if err := s.refundStrayCapture(ctx, claim, charge, v.Reason); err != nil {
		return payment.Verdict{}, err
	}
	v.Refunded = true
	return v, nil
}

// mismatch says how claim differs from the payment of record p; "" when it is p.
func mismatch(p *Payment, claim *bus.PaymentProcessed) string {
	outcome, _ := p.outcome()
	switch {
	case claim.PaymentID != p.ID:
		return fmt.Sprintf("paymentId %s is not the booking's payment %s", claim.PaymentID, p.ID)
	case claim.AmountMinor != p.AmountMinor || claim.Currency != p.Currency:
		return fmt.Sprintf("amount %d %s differs from the payment of record (%d %s)", claim.AmountMinor,
			claim.Currency, p.AmountMinor, p.Currency)
	case p.Status == payment.StatusPending:
		return "the payment of record has no outcome yet"
	case claim.Status != outcome:
		return fmt.Sprintf("status %s differs from the payment of record (%s)", claim.Status, p.Status)
	}
	return ""
}

// refundStrayCapture gives back a capture no payment of record keeps, by its reference, once: the
// refund document's key is the capture, the provider's refund is idempotent by it, and the message
// is a fact with a deterministic id.
func (s *service) refundStrayCapture(ctx context.Context, claim *bus.PaymentProcessed, c Charge, why string) error {
	key := "capture:" + c.Ref
	r, again, err := s.refundOnce(ctx, &Refund{BookingID: key, PaymentID: claim.PaymentID, AmountMinor: c.AmountMinor,
		Currency: c.Currency, Reason: cleanReason("capture no booking keeps: " + why), CreatedAt: s.now()},
		c.Ref, "refund:"+key)
	if err != nil {
		return err
	}
	slog.WarnContext(ctx, "capture no booking keeps refunded", "booking", claim.BookingID, "charge", c.Ref,
		"refund", r.ProviderRef, "reason", why)
	msg, err := bus.NewMessage(bus.TopicPaymentRefunded, claim.BookingID, bus.FactID(key, bus.TopicPaymentRefunded),
		r.CreatedAt, bus.PaymentRefunded{BookingID: claim.BookingID, PaymentID: claim.PaymentID,
			AmountMinor: r.AmountMinor, Currency: r.Currency, ProviderRef: r.ProviderRef, Reason: r.Reason})
	if err != nil {
		return err
	}
	return s.announce(ctx, again, msg)
}
