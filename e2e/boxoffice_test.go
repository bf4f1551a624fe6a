//go:build integration

package e2e

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"ticketflow/internal/bus"
	"ticketflow/internal/ids"
	"ticketflow/internal/lifecycle"
)

// The rules a box office expects (issue 14): sales windows, currencies, addresses, event times
// with the venue's local time, buyer limits. Each has its refused case and its accepted case on
// the real stack; the buyer limit also its parallel case.

// eventView is an event as the API answers it, with the fields of the box-office rules.
type eventView struct {
	ID                string          `json:"id"`
	Name              string          `json:"name"`
	Currency          string          `json:"currency"`
	Date              string          `json:"date"`
	DateLocal         string          `json:"dateLocal"`
	SalesStartAt      string          `json:"salesStartAt"`
	SalesEndAt        string          `json:"salesEndAt"`
	SalesEndAtLocal   string          `json:"salesEndAtLocal"`
	SalesStatus       string          `json:"salesStatus"`
	MaxSeatsPerBuyer  int             `json:"maxSeatsPerBuyer"`
	Price             json.RawMessage `json:"price"`
	TotalSeats        int             `json:"totalSeats"`
	Sections          []any           `json:"sections"`
	SalesStartAtLocal string          `json:"salesStartAtLocal"`
	Venue             struct{ Timezone string }
}

// venueIn makes a venue in time zone tz.
func venueIn(t testing.TB, adm *client, tz string) string {
	t.Helper()
	var v venue
	adm.expect(201, "POST", "/api/venues", map[string]string{"name": "Venue " + uniq(), "address": "1 Box St",
		"city": "Boxton", "country": "NO", "timezone": tz}, &v)
	return v.ID
}

// eventWith creates an event of `seats` seats (FLOOR-A-1..n) at priceMinor in EUR, two months
// ahead, with the fields of extra on top, and returns its answer.
func eventWith(t testing.TB, seats int, priceMinor int64, extra map[string]any) eventView {
	t.Helper()
	adm := admin(t)
	body := map[string]any{"name": "Box " + uniq(), "description": "box office", "venueId": venueIn(t, adm, "Europe/Oslo"),
		"date": inDays(60), "currency": "EUR", "tags": []string{"box"},
		"sections": []map[string]any{{"name": "Floor", "priceMinor": priceMinor,
			"rows": []map[string]any{{"label": "A", "seats": seats}}}}}
	for k, v := range extra {
		body[k] = v
	}
	var e eventView
	adm.expect(201, "POST", "/api/events", body, &e)
	return e
}

// refusedWith checks a refusal's status and code.
func refusedWith(t testing.TB, r response, status int, code string) apiError {
	t.Helper()
	if r.status != status {
		t.Fatalf("answered %d, want %d %s: %s", r.status, status, code, r.body)
	}
	e := r.err(t)
	if e.Error.Code != code {
		t.Fatalf("code %s, want %s: %s", e.Error.Code, code, r.body)
	}
	return e
}

func myBookings(t testing.TB, c *client) []booking {
	t.Helper()
	var list []booking
	c.expect(200, "GET", "/api/bookings/my", nil, &list)
	return list
}

// --- sales window ------------------------------------------------------------------------------

func TestSalesWindowRefusesBookingsBeforeAndAfterIt(t *testing.T) {
	// Not yet on sale: refused, nothing stored, nothing held.
	early := eventWith(t, 4, 1000, map[string]any{"salesStartAt": inDays(1)})
	if early.SalesStatus != "SALES_NOT_STARTED" {
		t.Fatalf("event %+v", early)
	}
	c, _ := register(t)
	e := refusedWith(t, book(c, early.ID, []string{"FLOOR-A-1"}, "tok_visa"), 409, "SALES_NOT_STARTED")
	if e.Error.Details["salesStartAt"] == nil {
		t.Errorf("the refusal does not say when sales open: %+v", e.Error)
	}
	// An event dated in the past (its default window ended when it began), as the issue found.
	past := eventWith(t, 4, 1000, map[string]any{"date": inDays(-300)})
	if past.SalesStatus != "SALES_CLOSED" || past.SalesEndAt != past.Date {
		t.Fatalf("past event %+v", past)
	}
	refusedWith(t, book(c, past.ID, []string{"FLOOR-A-1"}, "tok_visa"), 409, "SALES_CLOSED")
	if n := len(myBookings(t, c)); n != 0 {
		t.Fatalf("refused bookings were stored: %d", n)
	}
	for _, id := range []string{early.ID, past.ID} {
		if sm := readSeatMap(t, id); sm.Summary["available"] != 4 {
			t.Fatalf("seats held outside the window: %+v", sm.Summary)
		}
	}

	// Accepted inside the window, refused from its last second on, though the booking service
	// has the event cached from the accepted booking.
	end := time.Now().Add(3 * time.Second).UTC().Truncate(time.Second)
	closing := eventWith(t, 4, 1000, map[string]any{"salesEndAt": end.Format(time.RFC3339)})
	if closing.SalesEndAt != end.Format(time.RFC3339) || closing.SalesStatus != "ON_SALE" {
		t.Fatalf("closing event %+v", closing)
	}
	if r := book(c, closing.ID, []string{"FLOOR-A-1"}, "tok_visa"); r.status != 202 {
		t.Fatalf("booking inside the window: %d %s", r.status, r.body)
	}
	time.Sleep(time.Until(end) + 50*time.Millisecond)
	refusedWith(t, book(c, closing.ID, []string{"FLOOR-A-2"}, "tok_visa"), 409, "SALES_CLOSED")
	if sm := readSeatMap(t, closing.ID); sm.status("FLOOR-A-2") != "AVAILABLE" {
		t.Fatalf("FLOOR-A-2 after the window: %s", sm.status("FLOOR-A-2"))
	}
}

func TestMovingTheDateMovesTheDefaultSalesEnd(t *testing.T) {
	t.Parallel()
	adm := admin(t)
	e := eventWith(t, 4, 1000, nil)
	if e.SalesEndAt != e.Date {
		t.Fatalf("default end %s, date %s", e.SalesEndAt, e.Date)
	}
	// Later: the default end follows.
	later := inDays(90)
	var got eventView
	adm.expect(200, "PUT", "/api/events/"+e.ID, map[string]any{"date": later}, &got)
	if got.Date != later || got.SalesEndAt != later || got.SalesStatus != "ON_SALE" {
		t.Fatalf("after moving the date later: %+v", got)
	}
	// Into the past: sales close with it. The booking service, which has the event cached from a
	// booking, applies the change within its cache's 2 s.
	c, _ := register(t)
	if r := book(c, e.ID, []string{"FLOOR-A-1"}, "tok_visa"); r.status != 202 {
		t.Fatalf("booking before the move: %d %s", r.status, r.body)
	}
	earlier := inDays(-1)
	adm.expect(200, "PUT", "/api/events/"+e.ID, map[string]any{"date": earlier}, &got)
	if got.SalesEndAt != earlier || got.SalesStatus != "SALES_CLOSED" {
		t.Fatalf("after moving the date into the past: %+v", got)
	}
	time.Sleep(2100 * time.Millisecond)
	refusedWith(t, book(c, e.ID, []string{"FLOOR-A-2"}, "tok_visa"), 409, "SALES_CLOSED")

	// An explicit end stays put when the date moves, and may not be left after the event.
	f := eventWith(t, 2, 1000, map[string]any{"date": inDays(60), "salesEndAt": inDays(50)})
	adm.expect(200, "PUT", "/api/events/"+f.ID, map[string]any{"date": inDays(70)}, &got)
	if got.SalesEndAt != f.SalesEndAt {
		t.Fatalf("an explicit end moved with the date: %s, was %s", got.SalesEndAt, f.SalesEndAt)
	}
	refusedWith(t, adm.do("PUT", "/api/events/"+f.ID, map[string]any{"date": inDays(40)}), 400, "VALIDATION_ERROR")
	// null gives the default back: it follows the date again.
	adm.expect(200, "PUT", "/api/events/"+f.ID, map[string]any{"salesEndAt": nil}, &got)
	if got.SalesEndAt != got.Date {
		t.Fatalf("salesEndAt null: end %s, date %s", got.SalesEndAt, got.Date)
	}
	// Windows that make no sense are refused.
	for name, body := range map[string]map[string]any{
		"end after the event": {"salesEndAt": inDays(80)},
		"start after the end": {"salesStartAt": inDays(71), "salesEndAt": inDays(69)},
		"start null":          {"salesStartAt": nil},
		"date null":           {"date": nil},
		"limit 0":             {"maxSeatsPerBuyer": 0},
	} {
		if r := adm.do("PUT", "/api/events/"+f.ID, body); r.status != 400 {
			t.Errorf("%s: %d %s", name, r.status, r.body)
		}
	}
	for name, extra := range map[string]map[string]any{
		"end after the event":  {"salesEndAt": inDays(61)},
		"start after the end":  {"salesStartAt": inDays(59), "salesEndAt": inDays(58)},
		"empty window":         {"salesStartAt": inDays(30), "salesEndAt": inDays(30)},
		"limit above 1000":     {"maxSeatsPerBuyer": 1001},
		"limit as a string":    {"maxSeatsPerBuyer": "4"},
		"start without a zone": {"salesStartAt": "2027-01-01T10:00:00"},
	} {
		body := map[string]any{"name": "Bad " + uniq(), "description": "", "venueId": venueIn(t, adm, "UTC"),
			"date": inDays(60), "currency": "EUR", "tags": []string{},
			"sections": []map[string]any{{"name": "F", "priceMinor": 1, "rows": []map[string]any{{"label": "A", "seats": 1}}}}}
		for k, v := range extra {
			body[k] = v
		}
		if r := adm.do("POST", "/api/events", body); r.status != 400 || r.err(t).Error.Code != "VALIDATION_ERROR" {
			t.Errorf("%s: %d %s", name, r.status, r.body)
		}
	}
}

// A booking announced on Kafka outside the window is stored refused, so that its workflow records
// it FAILED and booking.failed tells its producer why.
func TestAKafkaBookingOutsideTheSalesWindowIsRecordedFailed(t *testing.T) {
	t.Parallel()
	e := eventWith(t, 2, 1000, map[string]any{"date": inDays(-2)})
	c, u := register(t)
	recordedFailed(t, c, announce(t, c, u, e.ID, "FLOOR-A-1"), "sales for this event closed")
	if sm := readSeatMap(t, e.ID); sm.Summary["available"] != 2 {
		t.Fatalf("seats held outside the window: %+v", sm.Summary)
	}
}

// --- currencies --------------------------------------------------------------------------------

func TestMoneyIsShownByTheCurrencysExponent(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		currency string
		minor    int64
		want     string // the amount in major units as the JSON answers write it
	}{
		{"JPY", 1500, "1500"},
		{"EUR", 1500, "15.00"},
		{"KWD", 1500, "1.500"},
	} {
		t.Run(c.currency, func(t *testing.T) {
			e := eventWith(t, 2, c.minor, map[string]any{"currency": c.currency})
			if string(e.Price) != c.want {
				t.Fatalf("event price %s, want %s", e.Price, c.want)
			}
			buyer, u := register(t)
			r := book(buyer, e.ID, []string{"FLOOR-A-1"}, "tok_visa")
			if r.status != 202 || !strings.Contains(string(r.body), `"totalAmount":`+c.want+`,`) {
				t.Fatalf("booking %d %s, want totalAmount %s", r.status, r.body, c.want)
			}
			var b booking
			r.decode(t, &b)
			waitStatus(t, buyer, b.ID, lifecycle.StatusConfirmed, time.Minute)
			// The confirmation email says the same amount.
			eventually(t, 30*time.Second, func() error {
				if n := mailCount(t, `to:"`+u.Email+`" "`+c.want+` `+c.currency+`"`); n != 1 {
					return fmt.Errorf("%d confirmation emails saying %s %s", n, c.want, c.currency)
				}
				return nil
			})
		})
	}
	// Unknown, withdrawn and metal codes are refused when an event is made.
	adm := admin(t)
	for _, code := range []string{"ZZZ", "HRK", "XAU", "eur"} {
		body := map[string]any{"name": "Money " + uniq(), "description": "", "venueId": venueIn(t, adm, "UTC"),
			"date": inDays(60), "currency": code, "tags": []string{},
			"sections": []map[string]any{{"name": "F", "priceMinor": 1, "rows": []map[string]any{{"label": "A", "seats": 1}}}}}
		if e := refusedWith(t, adm.do("POST", "/api/events", body), 400, "VALIDATION_ERROR"); !strings.Contains(e.Error.Message, "currency") {
			t.Errorf("%s refused for another reason: %s", code, e.Error.Message)
		}
	}
}

// --- email addresses ---------------------------------------------------------------------------

func TestOneAddressRuleForRegistrationAndMessages(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	for _, addr := range []string{"dot.@example.test", "a..b@example.test", "<someone@example.test>",
		"Some One <someone@example.test>", `"a b"@example.test`, "someone@example.test (x)", "someone@localhost"} {
		r := c.do("POST", "/api/users/register", map[string]string{"name": "X", "email": addr, "password": "correct-horse-1"})
		if e := refusedWith(t, r, 400, "VALIDATION_ERROR"); !strings.Contains(e.Error.Message, "email") {
			t.Errorf("%q refused for another reason: %s", addr, e.Error.Message)
		}
	}
	// Accepted: stored with its domain in lower case, its local part as given; compared
	// case-insensitively at login and for uniqueness.
	local := "Mixed.Case+" + uniq()
	var a authAnswer
	c.expect(201, "POST", "/api/users/register", map[string]string{"name": "Mia", "email": local + "@Example.TEST",
		"password": "correct-horse-1"}, &a)
	if a.User.Email != local+"@example.test" {
		t.Fatalf("stored as %q", a.User.Email)
	}
	c.expect(200, "POST", "/api/users/login", map[string]string{"email": strings.ToUpper(local) + "@example.test",
		"password": "correct-horse-1"}, nil)
	refusedWith(t, c.do("POST", "/api/users/register", map[string]string{"name": "Mia", "email": strings.ToLower(local) + "@EXAMPLE.test",
		"password": "correct-horse-1"}), 409, "EMAIL_TAKEN")

	// The same rule on Kafka: a booking.initiated whose userEmail is an angle-addr is
	// dead-lettered (its mail could never be delivered), not booked.
	e := newEvent(t, 1, 100)
	id := ids.New()
	value, _ := json.Marshal(map[string]any{"eventId": bus.FactID(id, bus.TopicBookingInitiated), "eventType": "booking.initiated",
		"occurredAt": time.Now().UTC(), "payload": map[string]any{"bookingId": id, "userId": a.User.ID,
			"userEmail": "<" + a.User.Email + ">", "eventId": e.ID, "eventName": "x", "seatIds": []string{"FLOOR-A-1"},
			"amountMinor": 100, "currency": "EUR", "idempotencyKey": ""}})
	produce(t, kafka.Message{Topic: bus.TopicBookingInitiated, Key: []byte(id), Value: value})
	poll(t, time.Minute, time.Second, func() error {
		if len(topicMessages(t, bus.DLT(bus.TopicBookingInitiated), id)) != 1 {
			return errorf("booking.initiated with an angle-addr not dead-lettered")
		}
		return nil
	})
	if r := admin(t).do("GET", "/api/bookings/"+id, nil); r.status != 404 {
		t.Fatalf("a booking was made from it: %d", r.status)
	}
}

// --- event times and venues --------------------------------------------------------------------

func TestEventTimesAreStrictAtSecondsWithTheVenuesLocalTime(t *testing.T) {
	t.Parallel()
	adm := admin(t)
	for _, tz := range []string{"", "Mars/Olympus_Mons", "Local", "../../etc/passwd", "europe/oslo"} {
		refusedWith(t, adm.do("POST", "/api/venues", map[string]string{"name": "V", "address": "a", "city": "c",
			"country": "NO", "timezone": tz}), 400, "VALIDATION_ERROR")
	}
	oslo := venueIn(t, adm, "Europe/Oslo")
	var v struct{ Timezone string }
	adm.expect(200, "GET", "/api/venues/"+oslo, nil, &v)
	if v.Timezone != "Europe/Oslo" {
		t.Fatalf("venue time zone %q", v.Timezone)
	}
	body := func(date any) map[string]any {
		return map[string]any{"name": "Times " + uniq(), "description": "", "venueId": oslo, "date": date,
			"currency": "EUR", "tags": []string{},
			"sections": []map[string]any{{"name": "F", "priceMinor": 1, "rows": []map[string]any{{"label": "A", "seats": 1}}}}}
	}
	year := time.Now().Year() + 1
	for _, bad := range []any{fmt.Sprintf("%d-01-10T20:00:00+24:00", year), fmt.Sprintf("%d-01-10T20:00:00", year),
		fmt.Sprintf("%d-01-10 20:00:00Z", year), fmt.Sprintf("%d-02-30T20:00:00Z", year), 1767225600, nil} {
		refusedWith(t, adm.do("POST", "/api/events", body(bad)), 400, "VALIDATION_ERROR")
	}
	// Nanoseconds in, whole seconds stored and answered, the same on every read; the local time
	// at the venue beside it (20:00 in Oslo in January is 19:00 UTC).
	var e eventView
	adm.expect(201, "POST", "/api/events", body(fmt.Sprintf("%d-01-10T20:00:00.123456789+01:00", year)), &e)
	want := fmt.Sprintf("%d-01-10T19:00:00Z", year)
	if e.Date != want || e.DateLocal != fmt.Sprintf("%d-01-10T20:00:00+01:00", year) || e.Venue.Timezone != "Europe/Oslo" ||
		!strings.HasSuffix(e.SalesStartAtLocal, "+01:00") && !strings.HasSuffix(e.SalesStartAtLocal, "+02:00") {
		t.Fatalf("created %+v", e)
	}
	var again eventView
	newClient(t).expect(200, "GET", "/api/events/"+e.ID, nil, &again)
	if again.Date != want || again.DateLocal != e.DateLocal {
		t.Fatalf("read back %s / %s, created %s / %s", again.Date, again.DateLocal, e.Date, e.DateLocal)
	}
	// Summer time at the venue: 20:00 in July is 18:00 UTC.
	adm.expect(200, "PUT", "/api/events/"+e.ID, map[string]any{"date": fmt.Sprintf("%d-07-10T18:00:00Z", year)}, &again)
	if again.DateLocal != fmt.Sprintf("%d-07-10T20:00:00+02:00", year) {
		t.Fatalf("summer local time %s", again.DateLocal)
	}
}

// --- buyer limits ------------------------------------------------------------------------------

func TestBuyerLimitAcrossLiveBookings(t *testing.T) {
	t.Parallel()
	e := eventWith(t, 12, 100, map[string]any{"maxSeatsPerBuyer": 4})
	if e.MaxSeatsPerBuyer != 4 {
		t.Fatalf("event %+v", e)
	}
	c, _ := register(t)
	var first booking
	if r := book(c, e.ID, []string{"FLOOR-A-1", "FLOOR-A-2", "FLOOR-A-3"}, "tok_noResponse"); r.status != 202 {
		t.Fatalf("3 of 4: %d %s", r.status, r.body)
	} else {
		r.decode(t, &first)
	}
	refusedWith(t, book(c, e.ID, []string{"FLOOR-A-4", "FLOOR-A-5"}, "tok_visa"), 409, "BUYER_LIMIT")
	if sm := readSeatMap(t, e.ID); sm.status("FLOOR-A-4") != "AVAILABLE" || sm.status("FLOOR-A-5") != "AVAILABLE" {
		t.Fatal("a refused booking holds seats")
	}
	var fourth booking
	book(c, e.ID, []string{"FLOOR-A-4"}, "tok_visa").decode(t, &fourth)
	if fourth.Status != "PENDING" {
		t.Fatalf("the 4th seat: %+v", fourth)
	}
	waitStatus(t, c, fourth.ID, lifecycle.StatusConfirmed, time.Minute)
	// Sold seats count too.
	refusedWith(t, book(c, e.ID, []string{"FLOOR-A-6"}, "tok_visa"), 409, "BUYER_LIMIT")
	// The limit is per buyer.
	other, _ := register(t)
	if r := book(other, e.ID, []string{"FLOOR-A-6", "FLOOR-A-7", "FLOOR-A-8"}, "tok_visa"); r.status != 202 {
		t.Fatalf("another buyer: %d %s", r.status, r.body)
	}
	// A booking that is no longer live frees its seats from the count.
	c.expect(200, "POST", "/api/bookings/"+first.ID+"/cancel", nil, nil)
	if r := book(c, e.ID, []string{"FLOOR-A-9", "FLOOR-A-10", "FLOOR-A-11"}, "tok_visa"); r.status != 202 {
		t.Fatalf("after cancelling 3: %d %s", r.status, r.body)
	}

	// Without maxSeatsPerBuyer an event allows 10.
	d := eventWith(t, 12, 100, nil)
	if d.MaxSeatsPerBuyer != 10 {
		t.Fatalf("default limit %d", d.MaxSeatsPerBuyer)
	}
	ten := make([]string, 10)
	for i := range ten {
		ten[i] = fmt.Sprintf("FLOOR-A-%d", i+1)
	}
	if r := book(c, d.ID, ten, "tok_visa"); r.status != 202 {
		t.Fatalf("10 seats: %d %s", r.status, r.body)
	}
	refusedWith(t, book(c, d.ID, []string{"FLOOR-A-11"}, "tok_visa"), 409, "BUYER_LIMIT")
}

// Two requests of one buyer at once, each within the limit and both past it together: exactly
// one is held, every time.
func TestBuyerLimitHoldsForParallelRequests(t *testing.T) {
	t.Parallel()
	const rounds = 8
	e := eventWith(t, 6*rounds, 100, map[string]any{"maxSeatsPerBuyer": 4})
	for round := range rounds {
		c, _ := register(t)
		seats := func(from int) []string {
			return []string{fmt.Sprintf("FLOOR-A-%d", 6*round+from), fmt.Sprintf("FLOOR-A-%d", 6*round+from+1),
				fmt.Sprintf("FLOOR-A-%d", 6*round+from+2)}
		}
		var wg sync.WaitGroup
		res := make([]response, 2)
		for i := range res {
			wg.Add(1)
			go func() {
				defer wg.Done()
				res[i] = book(c, e.ID, seats(1+3*i), "tok_noResponse", "Idempotency-Key", uniq())
			}()
		}
		wg.Wait()
		held, limited := 0, 0
		for _, r := range res {
			switch {
			case r.status == 202:
				held++
			case r.status == 409 && r.err(t).Error.Code == "BUYER_LIMIT":
				limited++
			default:
				t.Fatalf("round %d: %d %s", round, r.status, r.body)
			}
		}
		if held != 1 || limited != 1 {
			t.Fatalf("round %d: %d held, %d refused for the limit", round, held, limited)
		}
	}
	if sm := readSeatMap(t, e.ID); sm.Summary["locked"] != 3*rounds {
		t.Fatalf("%d seats held, want %d", sm.Summary["locked"], 3*rounds)
	}
}
