package payment

import (
	"context"
	"net/http"
	"time"

	"ticketflow/internal/bus"
	"ticketflow/internal/httpapi"
)

// Client is the typed client of the payment service's internal API, used by the saga's
// activities, the bridge and the chaos run.
type Client struct{ http *httpapi.Client }

// NewClient returns a client of the payment service, whose replicas are at bases.
func NewClient(bases []string, internalToken string, timeout time.Duration) *Client {
	return &Client{http: httpapi.NewBalancedClient(bases, internalToken, timeout)}
}

// Record returns the record of a booking's payment; Found is false when there is none yet.
func (c *Client) Record(ctx context.Context, bookingID string) (Record, error) {
	var r Record
	err := c.http.Get(ctx, "/internal/payments/booking/"+bookingID, &r.View)
	if httpapi.IsStatus(err, http.StatusNotFound) {
		return Record{}, nil
	}
	r.Found = err == nil
	return r, err
}

// Refund gives back a booking's money (see ChargeRefund); the same request twice refunds once.
func (c *Client) Refund(ctx context.Context, r RefundRequest) (RefundOutcome, error) {
	var out RefundOutcome
	err := c.http.Post(ctx, "/internal/payments/refund", r, &out)
	return out, err
}

// Verify judges a payment.processed claim against the payment of record (see Verdict).
func (c *Client) Verify(ctx context.Context, claim bus.PaymentProcessed) (Verdict, error) {
	var v Verdict
	err := c.http.Post(ctx, "/internal/payments/verify", claim, &v)
	return v, err
}

// MockCapture is the body of POST /internal/payments/mock-captures: have the mock provider capture
// AmountMinor (minor units of Currency) under Key, outside any payment of record.
type MockCapture struct {
	Key         string `json:"key"`
	AmountMinor int64  `json:"amountMinor"`
	Currency    string `json:"currency"`
}

// MockCaptured answers POST /internal/payments/mock-captures: the provider's charge.
type MockCaptured struct {
	ProviderRef string `json:"providerRef"`
	Approved    bool   `json:"approved"`
	AmountMinor int64  `json:"amountMinor"`
	Currency    string `json:"currency"`
}

// MockCapture makes the mock provider capture money no payment of record keeps (tests and the
// chaos run; a 404 *httpapi.Error unless the service runs the mock provider). The same Key twice
// captures once.
func (c *Client) MockCapture(ctx context.Context, m MockCapture) (MockCaptured, error) {
	var out MockCaptured
	err := c.http.Post(ctx, "/internal/payments/mock-captures", m, &out)
	return out, err
}
