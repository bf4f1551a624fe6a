//go:build integration

package e2e

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

// The original TicketFlow React frontend (the version before its Razorpay checkout) keeps working
// against this gateway (issue 16; docs/compatibility.md). Its requests are replayed here with
// exactly the shapes it sends, written down from its documented behaviour, and every field it
// reads is checked — with the types it reads them as. No Idempotency-Key, no paymentMethod: it
// sent neither.

// legacyEvent is what the original's event list and event page read.
type legacyEvent struct {
	ID         string          `json:"id"`
	Name       string          `json:"name"`
	Date       string          `json:"date"`
	Price      json.RawMessage `json:"price"`
	TotalSeats json.RawMessage `json:"totalSeats"`
	Sections   json.RawMessage `json:"sections"`
}

// legacySeat is what its seat map reads.
type legacySeat struct {
	ID         string          `json:"id"`
	SeatNumber json.RawMessage `json:"seatNumber"`
	Row        string          `json:"row"`
	Section    string          `json:"section"`
	Status     string          `json:"status"`
}

// legacyBooking is what its booking status and "my bookings" pages read.
type legacyBooking struct {
	ID          string          `json:"id"`
	BookingID   string          `json:"bookingId"`
	EventName   string          `json:"eventName"`
	SeatIDs     []string        `json:"seatIds"`
	TotalAmount json.RawMessage `json:"totalAmount"`
	Status      string          `json:"status"`
}

// number reads a field the frontend does arithmetic or formatting on: a JSON number (NaN
// otherwise, as the issue found).
func number(t testing.TB, what string, raw json.RawMessage) float64 {
	t.Helper()
	var f float64
	if len(raw) == 0 || raw[0] == '"' || json.Unmarshal(raw, &f) != nil {
		t.Fatalf("%s is %s, not a number", what, raw)
	}
	return f
}

func TestOriginalFrontendStillWorks(t *testing.T) {
	e := eventWith(t, 6, 4550, map[string]any{"sections": []map[string]any{
		{"name": "Floor", "priceMinor": 4550, "rows": []map[string]any{{"label": "A", "seats": 6}}},
		{"name": "Balcony", "priceMinor": 2500, "rows": []map[string]any{{"label": "B", "seats": 2}}}}})
	c := newClient(t)

	// Register, then log in, as its forms send them; it keeps the token and the user.
	email := "legacy-" + uniq() + "@example.com"
	var reg, login struct {
		Token string `json:"token"`
		User  struct{ ID, Name, Email, Role string }
	}
	c.expect(201, "POST", "/api/users/register", map[string]string{"name": "Legacy Fan", "email": email, "password": "legacy-pass-1"}, &reg)
	c.expect(200, "POST", "/api/users/login", map[string]string{"email": email, "password": "legacy-pass-1"}, &login)
	if reg.Token == "" || login.Token == "" || login.User.ID != reg.User.ID || login.User.Email != email || login.User.Name != "Legacy Fan" {
		t.Fatalf("register %+v, login %+v", reg, login)
	}
	c = c.as(login.Token)

	// The event list: each card reads price (major units) and totalSeats; sections is an array.
	var list struct {
		Events []legacyEvent `json:"events"`
		Total  int           `json:"total"`
	}
	c.expect(200, "GET", "/api/events?limit=100&search="+urlQuery(e.Name), nil, &list)
	if len(list.Events) != 1 || list.Events[0].ID != e.ID {
		t.Fatalf("list %+v", list)
	}
	for _, ev := range []legacyEvent{list.Events[0], func() legacyEvent {
		var one legacyEvent
		c.expect(200, "GET", "/api/events/"+e.ID, nil, &one)
		return one
	}()} {
		if p := number(t, "price", ev.Price); p != 25.00 {
			t.Errorf("price %v, want the lowest section's 25.00", p)
		}
		if n := number(t, "totalSeats", ev.TotalSeats); n != 8 {
			t.Errorf("totalSeats %v, want 8", n)
		}
		if !strings.HasPrefix(string(ev.Sections), "[") {
			t.Errorf("sections %s, want an array", ev.Sections)
		}
		if _, err := time.Parse(time.RFC3339, ev.Date); err != nil {
			t.Errorf("date %q: %v", ev.Date, err)
		}
	}
	// The default list starts with events that can still be attended.
	var first struct{ Events []legacyEvent }
	c.expect(200, "GET", "/api/events", nil, &first)
	for _, ev := range first.Events {
		if d, _ := time.Parse(time.RFC3339, ev.Date); d.Before(time.Now()) {
			t.Fatalf("the default list shows a past event first: %s on %s", ev.Name, ev.Date)
		}
	}

	// The seat map: buttons read seatNumber (a string) and status; labels are row + seatNumber.
	var seats struct {
		Seats []legacySeat `json:"seats"`
	}
	c.expect(200, "GET", "/api/inventory/events/"+e.ID+"/seats", nil, &seats)
	if len(seats.Seats) != 8 {
		t.Fatalf("%d seats", len(seats.Seats))
	}
	for _, s := range seats.Seats {
		var n string
		if json.Unmarshal(s.SeatNumber, &n) != nil || n == "" || !strings.HasSuffix(s.ID, "-"+n) || s.Status != "AVAILABLE" || s.Row == "" {
			t.Fatalf("seat %s: seatNumber %s, row %q, status %q", s.ID, s.SeatNumber, s.Row, s.Status)
		}
	}

	// Booking, exactly as it posts it: the event's name and its own total, null or a number. Both
	// are ignored: the server names and prices the booking.
	var bookings []legacyBooking
	for i, shape := range []map[string]any{
		{"eventId": e.ID, "eventName": e.Name, "seatIds": []string{"FLOOR-A-1", "FLOOR-A-2"}, "totalAmount": nil},
		{"eventId": e.ID, "eventName": "Cheaper Name", "seatIds": []string{"BALCONY-B-1"}, "totalAmount": 0.01},
	} {
		r := c.do("POST", "/api/bookings", shape)
		if r.status != 202 {
			t.Fatalf("booking %d: %d %s", i, r.status, r.body)
		}
		var b legacyBooking
		r.decode(t, &b)
		if b.ID == "" || b.BookingID != b.ID || b.Status != "PENDING" || b.EventName != e.Name {
			t.Fatalf("booking %d: %s", i, r.body)
		}
		bookings = append(bookings, b)
	}
	if got := number(t, "totalAmount", bookings[0].TotalAmount); got != 91.00 {
		t.Fatalf("totalAmount %v, want 91.00 from the seat data", got)
	}
	if got := number(t, "totalAmount", bookings[1].TotalAmount); got != 25.00 {
		t.Fatalf("totalAmount %v: the client's 0.01 was taken", got)
	}

	// Polling its booking until it is final (the default test card succeeds).
	for _, b := range bookings {
		poll(t, time.Minute, time.Second, func() error {
			var got legacyBooking
			c.expect(200, "GET", "/api/bookings/"+b.ID, nil, &got)
			if got.Status != "CONFIRMED" {
				return fmt.Errorf("booking %s is %s", b.ID, got.Status)
			}
			return nil
		})
	}

	// "My bookings": an array, newest first, with what each row reads.
	var mine []legacyBooking
	c.expect(200, "GET", "/api/bookings/my", nil, &mine)
	if len(mine) != 2 || mine[0].ID != bookings[1].ID || mine[1].ID != bookings[0].ID {
		t.Fatalf("my bookings %+v", mine)
	}
	for _, b := range mine {
		if b.EventName != e.Name || len(b.SeatIDs) == 0 || b.Status != "CONFIRMED" || number(t, "totalAmount", b.TotalAmount) <= 0 {
			t.Fatalf("my booking %+v", b)
		}
	}

	// Only those two legacy fields are let in, with their documented types.
	for name, body := range map[string]map[string]any{
		"another unknown field": {"eventId": e.ID, "seatIds": []string{"FLOOR-A-3"}, "price": 1},
		"eventName a number":    {"eventId": e.ID, "seatIds": []string{"FLOOR-A-3"}, "eventName": 7},
		"totalAmount a string":  {"eventId": e.ID, "seatIds": []string{"FLOOR-A-3"}, "totalAmount": "91.00"},
	} {
		if r := c.do("POST", "/api/bookings", body); r.status != 400 || r.err(t).Error.Code != "VALIDATION_ERROR" {
			t.Errorf("%s: %d %s", name, r.status, r.body)
		}
	}
}
