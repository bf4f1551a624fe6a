package server

import (
	"strings"
	"time"

	"ticketflow/internal/bus"
	"ticketflow/services/payment"
)

// voidPrefix starts the failure reason of a payment voided before the provider took any money.
const voidPrefix = payment.VoidReasonPrefix

// Payment is one charge of one booking, as stored in the payments collection.
type Payment struct {
	ID            string `bson:"_id"`
	BookingID     string `bson:"bookingId"`
	UserID        string `bson:"userId"`
	AmountMinor   int64  `bson:"amountMinor"`
	Currency      string `bson:"currency"`
	Status        string `bson:"status"`
	FailureReason string `bson:"failureReason"`
	ProviderRef   string `bson:"providerRef"`
	// RefundRef is the provider's reference of the refund that gave the capture back (REFUNDED).
	RefundRef      string `bson:"refundRef,omitempty"`
	IdempotencyKey string `bson:"idempotencyKey"`
	// Placeholder marks a payment made by a void that came before its payment.requested; the
	// request fills in its owner and amount when it arrives (and is refused).
	Placeholder bool `bson:"placeholder,omitempty"`
	// SettledAt is when the payment left PENDING. It is the occurredAt of its payment.processed
	// message, and unlike updatedAt it never changes again, so a re-sent message is byte-identical.
	SettledAt time.Time `bson:"settledAt,omitempty"`
	CreatedAt time.Time `bson:"createdAt"`
	UpdatedAt time.Time `bson:"updatedAt"`
}

// Refund is the one refund of a booking's payment: its _id is the booking id, so a second refund
// of the same booking is a duplicate-key error, never a second refund. A capture that no payment
// of record keeps is refunded under "capture:<its reference>" instead.
type Refund struct {
	BookingID   string    `bson:"_id"`
	PaymentID   string    `bson:"paymentId"`
	ChargeRef   string    `bson:"chargeRef,omitempty"` // the provider's reference of the capture refunded
	AmountMinor int64     `bson:"amountMinor"`
	Currency    string    `bson:"currency"`
	ProviderRef string    `bson:"providerRef"`
	Reason      string    `bson:"reason"`
	CreatedAt   time.Time `bson:"createdAt"`
}

func (p *Payment) view() payment.View {
	return payment.View{ID: p.ID, BookingID: p.BookingID, UserID: p.UserID, AmountMinor: p.AmountMinor, Currency: p.Currency,
		Status: p.Status, FailureReason: p.FailureReason, ProviderRef: p.ProviderRef, RefundRef: p.RefundRef,
		CreatedAt: p.CreatedAt.UTC(), UpdatedAt: p.UpdatedAt.UTC()}
}

// voided reports whether the payment was settled by a void: given up before the provider
// answered. It stays voided when a capture the provider answered afterwards is refunded (the
// payment then reads REFUNDED, with both references).
func (p *Payment) voided() bool {
	return (p.Status == payment.StatusFailed || p.Status == payment.StatusRefunded) && strings.HasPrefix(p.FailureReason, voidPrefix)
}

// outcome is the payment's settlement as payment.processed reports it, and as a claim about it
// must say: SUCCESS for a capture the booking's payment made (even if refunded since), FAILED for
// a declined or voided payment — a void stays its outcome, whatever answer came after it.
func (p *Payment) outcome() (status, providerRef string) {
	switch {
	case p.voided():
		return bus.PaymentFailed, ""
	case p.Status == payment.StatusSucceeded || p.Status == payment.StatusRefunded:
		return bus.PaymentSuccess, p.ProviderRef
	}
	return bus.PaymentFailed, p.ProviderRef
}

// settled reports whether the provider's answer (or a void) is final for this payment.
func (p *Payment) settled() bool { return p.Status != payment.StatusPending }

// processedMessage is the payment.processed fact of a settled payment. Everything in it comes
// from the stored payment, so every re-send carries the same eventId and the same bytes.
func processedMessage(p *Payment) (bus.Message, error) {
	status, providerRef := p.outcome()
	return bus.NewMessage(bus.TopicPaymentProcessed, p.BookingID, bus.FactID(p.BookingID, bus.TopicPaymentProcessed),
		p.SettledAt, bus.PaymentProcessed{BookingID: p.BookingID, PaymentID: p.ID, Status: status,
			AmountMinor: p.AmountMinor, Currency: p.Currency, ProviderRef: providerRef, FailureReason: p.FailureReason})
}

// refundedMessage is the payment.refunded fact of a refund, again entirely from stored data.
func refundedMessage(r *Refund) (bus.Message, error) {
	return bus.NewMessage(bus.TopicPaymentRefunded, r.BookingID, bus.FactID(r.BookingID, bus.TopicPaymentRefunded),
		r.CreatedAt, bus.PaymentRefunded{BookingID: r.BookingID, PaymentID: r.PaymentID, AmountMinor: r.AmountMinor,
			Currency: r.Currency, ProviderRef: r.ProviderRef, Reason: r.Reason})
}
