package booking

import (
	"context"
	"errors"
	"net/http"
	"time"

	"ticketflow/internal/httpapi"
	"ticketflow/internal/seatplan"
)

// Client is the typed client of the booking service's internal API (/internal/bookings): the
// bridge makes bookings announced on Kafka and reads a booking's record; the saga's RecordStatus
// activity records status changes. Errors are the service's answers as *httpapi.Error (a 4xx is
// a definite refusal), *TransitionError for a status change the record refuses, or the failure to
// reach it.
type Client struct{ http *httpapi.Client }

// NewClient returns a client of the booking service, whose replicas are at bases.
func NewClient(bases []string, internalToken string, timeout time.Duration) *Client {
	return &Client{http: httpapi.NewBalancedClient(bases, internalToken, timeout)}
}

// AnnouncedBooking is the body of POST /internal/bookings: a booking announced on Kafka by another
// producer (booking.initiated), made exactly as REST makes it. Its id is the message's, so a
// message delivered twice books once. IdempotencyKey is kept on the record for reference only;
// PaymentToken, when empty, is the contract's default test token.
type AnnouncedBooking struct {
	BookingID string   `json:"bookingId"`
	UserID    string   `json:"userId"`
	UserEmail string   `json:"userEmail"`
	EventID   string   `json:"eventId"`
	SeatIDs   []string `json:"seatIds"`
	// Quantities are the places asked of general-admission areas (booking.initiated's, version 2).
	Quantities     []seatplan.Quantity `json:"quantities,omitempty"`
	PaymentToken   string              `json:"paymentToken,omitempty"`
	IdempotencyKey string              `json:"idempotencyKey"`
}

// Create makes an announced booking (idempotent by its id). The answers are those of
// POST /api/bookings: nil for a booking made or found (202 or 200), a 409 *httpapi.Error for a
// real outcome (seats taken, buyer limit, sales closed: its workflow records it FAILED), another
// 4xx for a request the service refuses as malformed.
func (c *Client) Create(ctx context.Context, b AnnouncedBooking) error {
	return c.http.Post(ctx, "/internal/bookings", b, nil)
}

// Get returns the booking record (the contract's booking shape, without its history); a 404
// *httpapi.Error when there is none.
func (c *Client) Get(ctx context.Context, bookingID string) (*Booking, error) {
	var b Booking
	if err := c.http.Get(ctx, "/internal/bookings/"+bookingID, &b); err != nil {
		return nil, err
	}
	return &b, nil
}

// StatusChange is the body of POST /internal/bookings/{id}/status, which only the saga's
// RecordStatus activity sends: move the booking record to a terminal status, with the reason and
// the payment id, at the workflow's time At (the service's clock when zero).
type StatusChange struct {
	// BookingID names the booking in the path and, since the change may be serialised (a status
	// write retried as a regular activity), in the body too; the handler refuses a body naming
	// another booking than its path.
	BookingID string    `json:"bookingId,omitempty"`
	Status    string    `json:"status"`
	Reason    string    `json:"reason,omitempty"`
	PaymentID string    `json:"paymentId,omitempty"`
	At        time.Time `json:"at"`
}

// RecordedStatus is the status a booking record holds: what a refused status change names.
type RecordedStatus struct {
	Status        string `json:"status"`
	FailureReason string `json:"failureReason"`
}

// TransitionError is the refusal of a status change the lifecycle forbids (409): the record
// ended already, with Recorded.
type TransitionError struct {
	Message  string
	Recorded RecordedStatus
}

func (e *TransitionError) Error() string { return e.Message }

// TransitionRefusal is the answer the service gives for a refused status change; Client reads it
// back with transitionOf.
func TransitionRefusal(err error, recorded RecordedStatus) *httpapi.Error {
	return httpapi.Conflict(httpapi.CodeConflict, err.Error()).
		WithDetails(map[string]any{"status": recorded.Status, "failureReason": recorded.FailureReason})
}

func transitionOf(err error) error {
	var e *httpapi.Error
	if !errors.As(err, &e) || e.Status != http.StatusConflict {
		return err
	}
	te := &TransitionError{Message: e.Message}
	te.Recorded.Status, _ = e.Details["status"].(string)
	te.Recorded.FailureReason, _ = e.Details["failureReason"].(string)
	return te
}

// RecordStatus applies a status change to the booking record (idempotent: the same status twice
// is a no-op). A change the record refuses is a *TransitionError naming the status it holds.
func (c *Client) RecordStatus(ctx context.Context, s StatusChange) error {
	return transitionOf(c.http.Post(ctx, "/internal/bookings/"+s.BookingID+"/status", s, nil))
}
