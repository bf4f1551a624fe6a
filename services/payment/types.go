// Package payment is the payment service's contract: the typed Client of its internal API (the
// payment of record, refunds, claim verification), the wire types and the payment statuses.
// Other processes import this package, never the server (services/payment/server).
package payment

import (
	"strings"
	"time"

	"ticketflow/internal/bus"
)

// Payment statuses. PENDING is the only one that moves on its own (to SUCCEEDED or FAILED when
// the provider answers, or to FAILED when voided); SUCCEEDED moves to REFUNDED on a refund.
const (
	StatusPending   = "PENDING"
	StatusSucceeded = "SUCCEEDED"
	StatusFailed    = "FAILED"
	StatusRefunded  = "REFUNDED"
)

// View is a payment as the API shows it (the contract's shape; no idempotency key, no token).
type View struct {
	ID            string `json:"id"`
	BookingID     string `json:"bookingId"`
	UserID        string `json:"userId"`
	AmountMinor   int64  `json:"amountMinor"`
	Currency      string `json:"currency"`
	Status        string `json:"status"`
	FailureReason string `json:"failureReason"`
	ProviderRef   string `json:"providerRef"`
	// RefundRef is the provider's reference of the refund of a REFUNDED payment's capture.
	RefundRef string    `json:"refundRef,omitempty"`
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
}

// Record is the payment service's record of a booking's payment, as the saga reads it: Found is
// false when the booking has no payment yet.
type Record struct {
	Found bool `json:"found"`
	View
}

// Captured reports whether money was taken for this payment (and perhaps given back since).
func (r Record) Captured() bool {
	return r.Found && (r.Status == StatusSucceeded || r.Status == StatusRefunded)
}

// Settled reports whether the payment has its outcome (the provider answered, or it was voided).
func (r Record) Settled() bool { return r.Found && r.Status != StatusPending }

// Kept reports whether this payment's money is taken and not given back.
func (r Record) Kept() bool { return r.Found && r.Status == StatusSucceeded }

// VoidReasonPrefix begins the failureReason of a voided payment: a void is its outcome (FAILED),
// whatever the provider answered after it.
const VoidReasonPrefix = "voided: "

// Result is the record as a payment.processed payload, as the payment service published it: a
// capture is a SUCCESS with no failureReason (even if refunded since); a declined or voided
// payment is FAILED — a payment voided while the provider charged reads REFUNDED, "voided: ...",
// and was published FAILED with no provider reference.
func (r Record) Result() bus.PaymentProcessed {
	res := bus.PaymentProcessed{BookingID: r.BookingID, PaymentID: r.ID, Status: bus.PaymentFailed, AmountMinor: r.AmountMinor,
		Currency: r.Currency, ProviderRef: r.ProviderRef, FailureReason: r.FailureReason}
	switch {
	case strings.HasPrefix(r.FailureReason, VoidReasonPrefix):
		res.ProviderRef = ""
	case r.Captured():
		res.Status, res.FailureReason = bus.PaymentSuccess, ""
	}
	return res
}

// Verdict is the payment service's judgement of a payment.processed claim.
type Verdict struct {
	// Matches is true when the claim is the booking's payment of record: the same payment id,
	// booking, amount, currency and outcome.
	Matches bool  `json:"matches"`
	Record  *View `json:"record,omitempty"`
	// Reason says why a claim does not match.
	Reason string `json:"reason,omitempty"`
	// Refunded is true when the claim named a real capture (the provider made it) that no payment
	// of record keeps: it was refunded by its reference, once, and payment.refunded published.
	Refunded bool `json:"refunded,omitempty"`
}

// RefundRequest is POST /internal/payments/refund: give back the money of BookingID's payment.
// With PaymentID set, only that payment is refunded: when it is not the booking's payment of
// record, nothing is (a payment id the service never made has no money behind it).
type RefundRequest struct {
	BookingID string `json:"bookingId"`
	PaymentID string `json:"paymentId,omitempty"`
	Reason    string `json:"reason"`
}

// RefundOutcome answers POST /internal/payments/refund. The same request made again gets the
// same answer, so the saga can retry it freely.
type RefundOutcome struct {
	// Refunded is true once the booking's money is (or already was) given back.
	Refunded bool `json:"refunded"`
	// Voided is true when the payment was stopped before any money moved.
	Voided    bool   `json:"voided,omitempty"`
	PaymentID string `json:"paymentId,omitempty"`
	Status    string `json:"status,omitempty"`
}
