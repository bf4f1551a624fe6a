package ticket

import (
	"context"
	"fmt"
	"time"

	"ticketflow/internal/httpapi"
	"ticketflow/internal/seatplan"
)

// Client is the typed client of the ticket service's internal API (/internal/tickets): the
// booking saga issues and revokes a booking's tickets, the notification service reads them for
// the emails. Errors are the service's answers as *httpapi.Error, or the failure to reach it.
type Client struct{ http *httpapi.Client }

// NewClient returns a client of the ticket service, whose replicas are at bases.
func NewClient(bases []string, internalToken string, timeout time.Duration) *Client {
	return &Client{http: httpapi.NewBalancedClient(bases, internalToken, timeout)}
}

// IssueRequest is the body of POST /internal/bookings/{id}/tickets: a confirmed booking, as the
// saga knows it. The holder is the booking's user (named from the user service); the event's
// start, which decides how long the signing key stays published, is the event service's.
// A booking's tickets are one per seat of SeatIDs and one per place of Quantities (its
// general-admission areas): PlaceSeat names the latter.
type IssueRequest struct {
	BookingID  string              `json:"bookingId"`
	UserID     string              `json:"userId"`
	UserEmail  string              `json:"userEmail"`
	EventID    string              `json:"eventId"`
	EventName  string              `json:"eventName"`
	SeatIDs    []string            `json:"seatIds"`
	Quantities []seatplan.Quantity `json:"quantities,omitempty"`
}

// PlaceSeat is the seat a ticket of a general-admission place names: the area's key and the
// place's number within its booking (PIT#2, the second of the booking's places in PIT). A place
// has no number of its own; the ticket, like the place, admits one person to the area.
func PlaceSeat(area string, n int) string { return fmt.Sprintf("%s#%d", area, n) }

// Seats are the seats the booking's tickets name, in order: its seats, then its places.
func (r IssueRequest) Seats() []string {
	out := append([]string(nil), r.SeatIDs...)
	for _, q := range r.Quantities {
		for n := 1; n <= q.Quantity; n++ {
			out = append(out, PlaceSeat(q.Section, n))
		}
	}
	return out
}

// Issued is the answer of Issue and Tickets: the booking's tickets, one per seat, in seat order
// (transferred ones with the tickets that replaced them).
type Issued struct {
	Tickets []Ticket `json:"tickets"`
}

// Issue issues the booking's tickets, one per seat and place: idempotent per booking (a second call answers
// the tickets of the first), and a booking revoked before it is issued nothing. A 400
// *httpapi.Error for a request the service refuses; any other error is worth a retry.
func (c *Client) Issue(ctx context.Context, r IssueRequest) (Issued, error) {
	var out Issued
	err := c.http.Post(ctx, "/internal/bookings/"+r.BookingID+"/tickets", r, &out)
	return out, err
}

// RevokeRequest is the body of POST /internal/bookings/{id}/tickets/revoke.
type RevokeRequest struct {
	BookingID string `json:"bookingId"`
	Reason    string `json:"reason"`
}

// Revoke revokes every ticket of the booking (idempotent; a booking with no tickets yet is
// marked so that a late Issue issues none).
func (c *Client) Revoke(ctx context.Context, r RevokeRequest) error {
	return c.http.Post(ctx, "/internal/bookings/"+r.BookingID+"/tickets/revoke", r, nil)
}

// Tickets returns the booking's tickets (none when it has none).
func (c *Client) Tickets(ctx context.Context, bookingID string) (Issued, error) {
	var out Issued
	err := c.http.Get(ctx, "/internal/bookings/"+bookingID+"/tickets", &out)
	return out, err
}

// Get returns one ticket; a 404 *httpapi.Error when there is none.
func (c *Client) Get(ctx context.Context, ticketID string) (Ticket, error) {
	var out Ticket
	err := c.http.Get(ctx, "/internal/tickets/"+ticketID, &out)
	return out, err
}
