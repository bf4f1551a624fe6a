//go:build integration

package e2e

import (
	"testing"
	"time"
)

// The copies of an event's facts a booking holds follow the event, or are read fresh where they
// decide (issue 23, item 1).

// moveEvent sets an event's date (and with it the default end of its sales).
func moveEvent(t *testing.T, eventID string, at time.Time, extra map[string]any) {
	t.Helper()
	body := map[string]any{"date": at.UTC().Truncate(time.Second).Format(time.RFC3339)}
	for k, v := range extra {
		body[k] = v
	}
	admin(t).expect(200, "PUT", "/api/events/"+eventID, body, nil)
}

// bookConfirmed books one seat with the default card and waits for CONFIRMED.
func bookConfirmed(t *testing.T, c *client, eventID, seat string) booking {
	t.Helper()
	r := book(c, eventID, []string{seat}, "tok_visa")
	if r.status != 202 {
		t.Fatalf("POST /api/bookings = %d %s", r.status, r.body)
	}
	var b booking
	r.decode(t, &b)
	return waitStatus(t, c, b.ID, "CONFIRMED", 30*time.Second)
}

// An event postponed after a booking was made: at the date the booking copied, the booking is
// still cancellable (refunded, seat released), and it shows the event's new name.
func TestAPostponedEventsBookingIsCancellableAfterItsOldDate(t *testing.T) {
	t.Parallel()
	e := newEvent(t, 3, 2500)
	oldDate := time.Now().Add(25 * time.Second)
	moveEvent(t, e.ID, oldDate, nil)
	c, _ := register(t)
	b := bookConfirmed(t, c, e.ID, "FLOOR-A-1")
	moveEvent(t, e.ID, time.Now().Add(24*time.Hour), map[string]any{"name": "Postponed " + e.Name})

	time.Sleep(time.Until(oldDate) + 5*time.Second) // past the old date: the copy's timer has fired
	var got booking
	c.expect(200, "GET", "/api/bookings/"+b.ID, nil, &got)
	if got.Status != "CONFIRMED" || got.EventName != "Postponed "+e.Name {
		t.Fatalf("booking after the old date: %s %q, want CONFIRMED with the event's new name", got.Status, got.EventName)
	}
	var cancelled booking
	c.expect(200, "POST", "/api/bookings/"+b.ID+"/cancel", nil, &cancelled)
	if cancelled.Status != "CANCELLED" {
		t.Fatalf("cancel: %s", cancelled.Status)
	}
	var p struct{ Status string }
	eventually(t, 20*time.Second, func() error {
		c.expect(200, "GET", "/api/payments/booking/"+b.ID, nil, &p)
		if p.Status != "REFUNDED" {
			return errorf("payment %s, want REFUNDED", p.Status)
		}
		return nil
	})
	if s := readSeatMap(t, e.ID).status("FLOOR-A-1"); s != "AVAILABLE" {
		t.Fatalf("seat after the cancel: %s", s)
	}
}

// An event brought forward: once it has begun (by its new date), a cancel is refused with its own
// code, EVENT_STARTED, and the booking stays CONFIRMED and paid.
func TestACancelAfterTheEventsRealStartIsEventStarted(t *testing.T) {
	t.Parallel()
	e := newEvent(t, 3, 2500)
	c, _ := register(t)
	b := bookConfirmed(t, c, e.ID, "FLOOR-A-1")
	begins := time.Now().Add(3 * time.Second)
	moveEvent(t, e.ID, begins, nil)
	time.Sleep(time.Until(begins) + 3*time.Second) // the booking service's event cache lives 2 s

	r := c.do("POST", "/api/bookings/"+b.ID+"/cancel", nil)
	if r.status != 409 || r.err(t).Error.Code != "EVENT_STARTED" {
		t.Fatalf("cancel after the event began: %d %s, want 409 EVENT_STARTED", r.status, r.body)
	}
	var got booking
	c.expect(200, "GET", "/api/bookings/"+b.ID, nil, &got)
	var p struct{ Status string }
	c.expect(200, "GET", "/api/payments/booking/"+b.ID, nil, &p)
	if got.Status != "CONFIRMED" || p.Status != "SUCCEEDED" {
		t.Fatalf("after the refused cancel: booking %s, payment %s", got.Status, p.Status)
	}
}
