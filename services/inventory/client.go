package inventory

import (
	"context"
	"errors"
	"net/http"
	"time"

	"ticketflow/internal/httpapi"
	"ticketflow/internal/seatplan"
)

// Error codes of the internal API for the refusals callers branch on. The handlers write them
// (seatsAPIError) and Client turns them back into the store's errors (errorOf): one place each.
const (
	CodeSeatsUnavailable = "SEATS_UNAVAILABLE"
	CodeHoldLost         = "HOLD_LOST"
	CodeBookingReleased  = "BOOKING_RELEASED"
	CodeBuyerLimit       = "BUYER_LIMIT"
)

// Client is the typed client of the inventory's internal API: the one way other processes quote,
// hold, confirm and release seats, and load an event's seats and count them. Business refusals come back as the errors of this package
// (ErrNoSeatPlan, *SeatsError wrapping ErrUnknownSeat or ErrUnavailable, ErrHoldLost,
// ErrBookingReleased, *BuyerLimitError); anything else means the outcome is unknown (the
// inventory could not be reached, timed out or failed) and IsRefusal reports false for it.
type Client struct{ http *httpapi.Client }

// NewClient returns a client of the inventory service, whose replicas are at bases.
func NewClient(bases []string, internalToken string, timeout time.Duration) *Client {
	return &Client{http: httpapi.NewBalancedClient(bases, internalToken, timeout)}
}

// IsRefusal reports whether err is a definite business answer of the inventory (nothing was
// changed), as opposed to an unknown outcome.
func IsRefusal(err error) bool {
	return errors.Is(err, ErrNoSeatPlan) || errors.Is(err, ErrUnknownSeat) || errors.Is(err, ErrUnavailable) ||
		errors.Is(err, ErrHoldLost) || errors.Is(err, ErrBookingReleased) || errors.Is(err, ErrBuyerLimit)
}

// Quote prices seats and places from the seat data and names those taken right now.
func (c *Client) Quote(ctx context.Context, eventID string, r QuoteRequest) (Quote, error) {
	var q Quote
	err := c.http.Post(ctx, "/internal/events/"+eventID+"/quote", r, &q)
	return q, errorOf(err)
}

// Hold holds every seat of r for its booking until r.HoldUntil, or none.
func (c *Client) Hold(ctx context.Context, r HoldRequest) error {
	return errorOf(c.http.Post(ctx, "/internal/bookings/"+r.BookingID+"/hold", r, nil))
}

// Confirm sells the booking's held seats and places; ErrHoldLost when it no longer holds every
// one.
func (c *Client) Confirm(ctx context.Context, bookingID string, r SeatsRequest) error {
	return errorOf(c.http.Post(ctx, "/internal/bookings/"+bookingID+"/confirm", r, nil))
}

// Release frees whatever of the seats, and whatever places, the booking holds or bought, and
// marks the booking released. Releasing nothing is success.
func (c *Client) Release(ctx context.Context, bookingID string, r SeatsRequest) error {
	return errorOf(c.http.Post(ctx, "/internal/bookings/"+bookingID+"/release", r, nil))
}

// SeatPlan is the body of POST /internal/events/{eventId}/seats: an event's seat plan, priced in
// minor units of Currency (an ISO 4217 code).
type SeatPlan struct {
	Currency string             `json:"currency"`
	Sections []seatplan.Section `json:"sections"`
}

// SeatsLoaded answers POST /internal/events/{eventId}/seats: the event's seat count, and whether
// this request created them (201) or found them there (200).
type SeatsLoaded struct {
	EventID   string `json:"eventId"`
	SeatCount int    `json:"seatCount"`
	Created   bool   `json:"created"`
}

// LoadSeats creates the event's seats from its plan, once: loading an event that has its seats
// already changes nothing. An invalid plan is a 400 *httpapi.Error.
func (c *Client) LoadSeats(ctx context.Context, eventID string, plan SeatPlan) (SeatsLoaded, error) {
	var out SeatsLoaded
	err := c.http.Post(ctx, "/internal/events/"+eventID+"/seats", plan, &out)
	return out, err
}

// Availability counts the event's seats by status; ErrNoSeatPlan while it has none.
func (c *Client) Availability(ctx context.Context, eventID string) (Summary, error) {
	var s Summary
	err := c.http.Get(ctx, "/internal/events/"+eventID+"/availability", &s)
	return s, errorOf(err)
}

// errorOf turns an answer of the internal API back into this package's errors.
func errorOf(err error) error {
	var e *httpapi.Error
	if !errors.As(err, &e) {
		return err
	}
	switch {
	case e.Status == http.StatusNotFound && (e.Details["unknownSeatIds"] != nil || e.Details["unknownSections"] != nil):
		return &SeatsError{Err: ErrUnknownSeat, SeatIDs: detailIDs(e, "unknownSeatIds"), Sections: orNil(detailIDs(e, "unknownSections"))}
	case e.Status == http.StatusNotFound:
		return ErrNoSeatPlan
	case e.Code == CodeSeatsUnavailable:
		return &SeatsError{Err: ErrUnavailable, SeatIDs: detailIDs(e, "unavailableSeatIds"), Sections: orNil(detailIDs(e, "unavailableSections"))}
	case e.Code == CodeHoldLost:
		return ErrHoldLost
	case e.Code == CodeBookingReleased:
		return ErrBookingReleased
	case e.Code == CodeBuyerLimit:
		limit, _ := e.Details["limit"].(float64)
		live, _ := e.Details["live"].(float64)
		return &BuyerLimitError{Limit: int(limit), Live: int(live)}
	}
	return err
}

func detailIDs(e *httpapi.Error, key string) []string {
	raw, _ := e.Details[key].([]any)
	out := make([]string, 0, len(raw))
	for _, v := range raw {
		if s, ok := v.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

func orNil(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}
