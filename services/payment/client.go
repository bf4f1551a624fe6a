package payment

import (
	"context"
	"net/http"
	"time"

	"ticketflow/internal/bus"
	"ticketflow/internal/httpapi"
)

// Client is the typed client of the payment service's internal API, used by the saga's
// activities and the bridge.
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
