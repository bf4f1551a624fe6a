package event

import (
	"context"
	"errors"
	"net/http"
	"time"

	"ticketflow/internal/httpapi"
)

// Client is the typed client of the event service's internal API, used by the booking service.
// A missing event is ErrNoEvent; any other error means the event service could not answer.
type Client struct{ http *httpapi.Client }

// NewClient returns a client of the event service, whose replicas are at bases.
func NewClient(bases []string, internalToken string, timeout time.Duration) *Client {
	return &Client{http: httpapi.NewBalancedClient(bases, internalToken, timeout)}
}

// ErrNoEvent is Client's answer for an event that does not exist.
var ErrNoEvent = errors.New("no such event")

// Info is the body of GET /internal/events/{id}: what a booking needs of its event — its name,
// currency and date, the sales window and the buyer limit as they apply (defaults filled in),
// whether its seats are loaded into inventory, and its waiting room (off unless enabled).
type Info struct {
	ID               string      `json:"id"`
	Name             string      `json:"name"`
	Currency         string      `json:"currency"`
	Date             time.Time   `json:"date"`
	SalesStartAt     time.Time   `json:"salesStartAt"`
	SalesEndAt       time.Time   `json:"salesEndAt"`
	MaxSeatsPerBuyer int         `json:"maxSeatsPerBuyer"`
	SeatCount        int         `json:"seatCount"`
	SeatsLoaded      bool        `json:"seatsLoaded"`
	WaitingRoom      WaitingRoom `json:"waitingRoom"`
}

// SalesStatus says whether the event can be booked at now: SalesOpen from SalesStartAt (included)
// to SalesEndAt (excluded), SalesNotStarted before, SalesClosed after.
func (i Info) SalesStatus(now time.Time) string {
	switch {
	case now.Before(i.SalesStartAt):
		return SalesNotStarted
	case !now.Before(i.SalesEndAt):
		return SalesClosed
	}
	return SalesOpen
}

// Info returns what a booking needs of the event (ErrNoEvent when there is none).
func (c *Client) Info(ctx context.Context, eventID string) (Info, error) {
	var info Info
	err := c.http.Get(ctx, "/internal/events/"+eventID, &info)
	if httpapi.IsStatus(err, http.StatusNotFound) {
		return Info{}, ErrNoEvent
	}
	return info, err
}
