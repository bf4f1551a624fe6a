//go:build integration

package e2e

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"ticketflow/internal/config"
	"ticketflow/internal/httpapi"
	"ticketflow/internal/ids"
)

func TestAdminCreatesEventsAndSeatsAppearInInventory(t *testing.T) {
	t.Parallel()
	e := newEvent(t, 12, 2500)
	if e.SeatCount != 12 || e.Availability.Total != 12 || e.Availability.Available != 12 {
		t.Fatalf("created event %+v", e)
	}
	sm := readSeatMap(t, e.ID)
	if sm.Total != 12 || sm.Summary["available"] != 12 || sm.status("FLOOR-A-12") != "AVAILABLE" || sm.Seats[0].PriceMinor != 2500 {
		t.Fatalf("seat map %+v", sm)
	}
	var got event
	newClient(t).expect(200, "GET", "/api/events/"+e.ID, nil, &got)
	if got.Name != e.Name || got.Availability.Total != 12 {
		t.Fatalf("GET event %+v", got)
	}
}

func TestSeatMapFollowsThePlansOrder(t *testing.T) {
	t.Parallel()
	adm := admin(t)
	var v venue
	adm.expect(201, "POST", "/api/venues", map[string]string{"name": "V " + uniq(), "address": "a", "city": "c", "country": "NO", "timezone": "Europe/Oslo"}, &v)
	var e event
	adm.expect(201, "POST", "/api/events", map[string]any{"name": "Order " + uniq(), "description": "", "venueId": v.ID,
		"date": "2027-01-01T10:00:00Z", "currency": "GBP", "tags": []string{}, "sections": []map[string]any{
			{"name": "Stalls", "priceMinor": 100, "rows": []map[string]any{{"label": "B", "seats": 2}, {"label": "A", "seats": 2}}},
			{"name": "Circle", "priceMinor": 50, "rows": []map[string]any{{"label": "G", "seats": 1}}}}}, &e)
	var got []string
	for _, s := range readSeatMap(t, e.ID).Seats {
		got = append(got, s.ID)
	}
	if strings.Join(got, ",") != "STALLS-B-1,STALLS-B-2,STALLS-A-1,STALLS-A-2,CIRCLE-G-1" {
		t.Fatalf("seat map order %v, want the plan's", got)
	}
}

func TestEventWritesNeedAnAdmin(t *testing.T) {
	t.Parallel()
	u, _ := register(t)
	body := map[string]string{"name": "x", "address": "x", "city": "x", "country": "x", "timezone": "UTC"}
	if r := u.do("POST", "/api/venues", body); r.status != 403 {
		t.Fatalf("USER creating a venue: %d", r.status)
	}
	if r := newClient(t).do("POST", "/api/venues", body); r.status != 401 {
		t.Fatalf("anonymous venue: %d", r.status)
	}
	e := newEvent(t, 1, 100)
	if r := u.do("PUT", "/api/events/"+e.ID, map[string]string{"name": "hijacked"}); r.status != 403 {
		t.Fatalf("USER updating an event: %d", r.status)
	}
}

func TestSeatPlanValidation(t *testing.T) {
	t.Parallel()
	adm := admin(t)
	var v venue
	adm.expect(201, "POST", "/api/venues", map[string]string{"name": "V " + uniq(), "address": "a", "city": "c", "country": "NO", "timezone": "Europe/Oslo"}, &v)
	plan := func(sections any) map[string]any {
		return map[string]any{"name": "E", "description": "", "venueId": v.ID, "date": "2027-01-01T10:00:00+01:00",
			"currency": "EUR", "tags": []string{}, "sections": sections}
	}
	rows := func(n int) []map[string]any { return []map[string]any{{"label": "A", "seats": n}} }
	cases := map[string]map[string]any{
		"no sections":    plan([]any{}),
		"no seats":       plan([]map[string]any{{"name": "F", "priceMinor": 100, "rows": rows(0)}}),
		"negative price": plan([]map[string]any{{"name": "F", "priceMinor": -1, "rows": rows(5)}}),
		"too many seats": plan([]map[string]any{{"name": "F", "priceMinor": 1, "rows": []map[string]any{{"label": "A", "seats": 10000}, {"label": "B", "seats": 10000}, {"label": "C", "seats": 10000}, {"label": "D", "seats": 10000}, {"label": "E", "seats": 10000}, {"label": "F", "seats": 10000}, {"label": "G", "seats": 10000}, {"label": "H", "seats": 10000}, {"label": "I", "seats": 10000}, {"label": "J", "seats": 10000}, {"label": "K", "seats": 1}}}}),
		"same section":   plan([]map[string]any{{"name": "Floor A", "priceMinor": 1, "rows": rows(1)}, {"name": "floor-a", "priceMinor": 1, "rows": rows(1)}}),
		"unknown venue": func() map[string]any {
			p := plan([]map[string]any{{"name": "F", "priceMinor": 1, "rows": rows(1)}})
			p["venueId"] = ids.New()
			return p
		}(),
		"bad currency": func() map[string]any {
			p := plan([]map[string]any{{"name": "F", "priceMinor": 1, "rows": rows(1)}})
			p["currency"] = "euro"
			return p
		}(),
		"price from body": func() map[string]any {
			p := plan([]map[string]any{{"name": "F", "priceMinor": 1, "rows": rows(1)}})
			p["seats"] = 5
			return p
		}(),
	}
	for name, body := range cases {
		r := adm.do("POST", "/api/events", body)
		if r.status != 400 || r.err(t).Error.Code != "VALIDATION_ERROR" {
			t.Errorf("%s: %d %s", name, r.status, r.body)
		}
	}
}

func TestEventCreationIsIdempotentPerKey(t *testing.T) {
	t.Parallel()
	adm := admin(t)
	var v venue
	adm.expect(201, "POST", "/api/venues", map[string]string{"name": "V " + uniq(), "address": "a", "city": "c", "country": "NO", "timezone": "Europe/Oslo"}, &v)
	body := map[string]any{"name": "Once " + uniq(), "description": "", "venueId": v.ID, "date": "2027-01-01T10:00:00Z",
		"currency": "EUR", "tags": []string{}, "sections": []map[string]any{{"name": "F", "priceMinor": 100, "rows": []map[string]any{{"label": "A", "seats": 5}}}}}
	key := "create-" + uniq()
	var first, second event
	r1 := adm.expect(201, "POST", "/api/events", body, &first, "Idempotency-Key", key)
	r2 := adm.expect(201, "POST", "/api/events", body, &second, "Idempotency-Key", key)
	if first.ID != second.ID || string(r1.body) != string(r2.body) {
		t.Fatalf("same key made two events: %s %s", first.ID, second.ID)
	}
	if sm := readSeatMap(t, first.ID); sm.Total != 5 {
		t.Fatalf("seats after a retried create: %d", sm.Total)
	}
}

func TestEventListSearchAndPagination(t *testing.T) {
	t.Parallel()
	tag := "zz" + uniq()
	adm := admin(t)
	var v venue
	adm.expect(201, "POST", "/api/venues", map[string]string{"name": "V " + uniq(), "address": "a", "city": "c", "country": "NO", "timezone": "Europe/Oslo"}, &v)
	for i := 0; i < 3; i++ {
		adm.expect(201, "POST", "/api/events", map[string]any{"name": fmt.Sprintf("Search %s %d", tag, i), "description": "",
			"venueId": v.ID, "date": inDays(30 + i), "currency": "EUR", "tags": []string{},
			"sections": []map[string]any{{"name": "F", "priceMinor": 1, "rows": []map[string]any{{"label": "A", "seats": 1}}}}}, nil)
	}
	var page struct {
		Events []event `json:"events"`
		Total  int     `json:"total"`
		Page   int     `json:"page"`
		Limit  int     `json:"limit"`
	}
	c := newClient(t)
	c.expect(200, "GET", "/api/events?search="+strings.ToUpper(tag)+"&limit=2&page=2", nil, &page)
	if page.Total != 3 || len(page.Events) != 1 || page.Page != 2 || page.Limit != 2 {
		t.Fatalf("page 2 of the search: %+v", page)
	}
	for _, q := range []string{"limit=0", "limit=101", "page=0", "page=x"} {
		if r := c.do("GET", "/api/events?"+q, nil); r.status != 400 {
			t.Errorf("%s: %d", q, r.status)
		}
	}
	// Regex and operator-looking searches are literal text.
	for _, q := range []string{"%24where", "%7B%22%24gt%22%3A%22%22%7D", "a%27%20OR%201%3D1--"} {
		c.expect(200, "GET", "/api/events?search="+q, nil, &page)
	}
	// As a regex, "<tag>.*" would match the three events; as the literal text it matches none.
	c.expect(200, "GET", "/api/events?search="+tag+".*", nil, &page)
	if page.Total != 0 {
		t.Errorf("search %s.* matched %d events: regex not escaped", tag, page.Total)
	}
	if r := c.do("GET", "/api/events/"+ids.New(), nil); r.status != 404 {
		t.Errorf("unknown event: %d", r.status)
	}
	if r := c.do("GET", "/api/events/not-an-id", nil); r.status != 404 {
		t.Errorf("malformed id: %d", r.status)
	}
}

func TestEventUpdate(t *testing.T) {
	t.Parallel()
	e := newEvent(t, 2, 100)
	adm := admin(t)
	var got event
	adm.expect(200, "PUT", "/api/events/"+e.ID, map[string]any{"name": "Renamed"}, &got)
	if got.Name != "Renamed" || got.Availability.Total != 2 {
		t.Fatalf("updated %+v", got)
	}
	if r := adm.do("PUT", "/api/events/"+e.ID, map[string]any{"sections": []any{}}); r.status != 400 {
		t.Fatalf("changing the seat plan: %d", r.status)
	}
}

// --- inventory's hold rules, on its internal API (the saga's), and the seat map cache -----------

func hold(t testing.TB, inv *httpapi.Client, eventID, bookingID string, seats []string, until time.Time) error {
	return inv.Post(t.Context(), "/internal/bookings/"+bookingID+"/hold",
		map[string]any{"eventId": eventID, "seatIds": seats, "holdUntil": until}, nil)
}

func TestConcurrentHoldsNeverShareASeat(t *testing.T) {
	t.Parallel()
	e := newEvent(t, 20, 100)
	inv := internal(t, config.Inventory)
	type result struct {
		booking string
		seats   []string
		ok      bool
	}
	results := make([]result, 50)
	var wg sync.WaitGroup
	for i := range results {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			// Overlapping windows of 3 seats.
			start := i % 18
			seats := []string{fmt.Sprintf("FLOOR-A-%d", start+1), fmt.Sprintf("FLOOR-A-%d", start+2), fmt.Sprintf("FLOOR-A-%d", start+3)}
			b := ids.New()
			err := hold(t, inv, e.ID, b, seats, time.Now().Add(time.Minute))
			if err != nil && !httpapi.IsStatus(err, 409) {
				t.Errorf("hold: %v", err)
			}
			results[i] = result{b, seats, err == nil}
		}(i)
	}
	wg.Wait()
	owner := map[string]string{}
	for _, r := range results {
		if !r.ok {
			continue
		}
		for _, s := range r.seats {
			if prev, taken := owner[s]; taken {
				t.Fatalf("seat %s held by %s and %s", s, prev, r.booking)
			}
			owner[s] = r.booking
		}
	}
	sm := readSeatMap(t, e.ID)
	if sm.Summary["locked"] != len(owner) {
		t.Fatalf("seat map shows %d locked, holds took %d", sm.Summary["locked"], len(owner))
	}
}

func TestHoldRules(t *testing.T) {
	e := newEvent(t, 4, 100)
	inv := internal(t, config.Inventory)
	a, b, c := ids.New(), ids.New(), ids.New()
	// A holds 1 and 2 briefly.
	if err := hold(t, inv, e.ID, a, []string{"FLOOR-A-1", "FLOOR-A-2"}, time.Now().Add(1500*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	// Holding again is a no-op for the same booking.
	if err := hold(t, inv, e.ID, a, []string{"FLOOR-A-1", "FLOOR-A-2"}, time.Now().Add(1500*time.Millisecond)); err != nil {
		t.Fatalf("second hold by the same booking: %v", err)
	}
	// B cannot take 2 while A holds it, and takes nothing (all or none).
	err := hold(t, inv, e.ID, b, []string{"FLOOR-A-2", "FLOOR-A-3"}, time.Now().Add(time.Minute))
	var apiErr *httpapi.Error
	if !httpapi.IsStatus(err, 409) {
		t.Fatalf("overlapping hold: %v", err)
	}
	if !errors.As(err, &apiErr) || fmt.Sprint(apiErr.Details["unavailableSeatIds"]) != "[FLOOR-A-2]" {
		t.Fatalf("unavailable seats named: %v", apiErr.Details)
	}
	if sm := readSeatMap(t, e.ID); sm.status("FLOOR-A-3") != "AVAILABLE" || sm.status("FLOOR-A-2") != "LOCKED" {
		t.Fatalf("all-or-none broken: %+v", sm.Seats)
	}
	// A release by C (not the holder) frees nothing.
	var rel struct{ Released int }
	if err := inv.Post(t.Context(), "/internal/bookings/"+c+"/release", map[string]any{"eventId": e.ID, "seatIds": []string{"FLOOR-A-1"}}, &rel); err != nil || rel.Released != 0 {
		t.Fatalf("release by a non-owner: %v %+v", err, rel)
	}
	// A booking once released never holds again, whatever seats are free (a hold request that
	// outlived its caller must not take seats nobody will free).
	err = hold(t, inv, e.ID, c, []string{"FLOOR-A-4"}, time.Now().Add(time.Minute))
	if !errors.As(err, &apiErr) || apiErr.Code != "BOOKING_RELEASED" {
		t.Fatalf("a hold after the release: %v", err)
	}
	if sm := readSeatMap(t, e.ID); sm.status("FLOOR-A-1") != "LOCKED" {
		t.Fatal("a non-owner's release freed the seat")
	}
	// Once A's hold expires, readers see the seats AVAILABLE and B can take them.
	time.Sleep(1700 * time.Millisecond)
	if sm := readSeatMap(t, e.ID); sm.status("FLOOR-A-1") != "AVAILABLE" {
		t.Fatalf("an expired hold still shows %s", sm.status("FLOOR-A-1"))
	}
	if err := hold(t, inv, e.ID, b, []string{"FLOOR-A-2", "FLOOR-A-3"}, time.Now().Add(time.Minute)); err != nil {
		t.Fatalf("taking over an expired hold: %v", err)
	}
	// A can no longer confirm the seat B took.
	err = inv.Post(t.Context(), "/internal/bookings/"+a+"/confirm", map[string]any{"eventId": e.ID, "seatIds": []string{"FLOOR-A-1", "FLOOR-A-2"}}, nil)
	if !httpapi.IsStatus(err, 409) {
		t.Fatalf("confirming a lost hold: %v", err)
	}
	// B confirms: its seats are RESERVED.
	if err := inv.Post(t.Context(), "/internal/bookings/"+b+"/confirm", map[string]any{"eventId": e.ID, "seatIds": []string{"FLOOR-A-2", "FLOOR-A-3"}}, nil); err != nil {
		t.Fatal(err)
	}
	if sm := readSeatMap(t, e.ID); sm.status("FLOOR-A-2") != "RESERVED" || sm.status("FLOOR-A-1") != "AVAILABLE" {
		t.Fatalf("after confirm: %+v", sm.Seats)
	}
}

func TestSeatMapIsNeverStaleAfterAHold(t *testing.T) {
	t.Parallel()
	e := newEvent(t, 30, 100)
	inv := internal(t, config.Inventory)
	for i := 1; i <= 30; i++ {
		readSeatMap(t, e.ID) // warm the cache
		seat := fmt.Sprintf("FLOOR-A-%d", i)
		if err := hold(t, inv, e.ID, ids.New(), []string{seat}, time.Now().Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		if got := readSeatMap(t, e.ID).status(seat); got != "LOCKED" {
			t.Fatalf("seat %s read as %s right after its hold returned", seat, got)
		}
	}
}

// The event list shows what can still be attended first: upcoming events soonest first by
// default; ?when=past the past ones, most recent first; ?when=all both, upcoming first.
func TestEventListShowsUpcomingEventsFirst(t *testing.T) {
	t.Parallel()
	tag := "when" + uniq()
	adm := admin(t)
	var v venue
	adm.expect(201, "POST", "/api/venues", map[string]string{"name": "V " + uniq(), "address": "a", "city": "c",
		"country": "NO", "timezone": "Europe/Oslo"}, &v)
	// Created out of order.
	for _, days := range []int{50, -400, 5, -2} {
		adm.expect(201, "POST", "/api/events", map[string]any{"name": fmt.Sprintf("%s %d", tag, days), "description": "",
			"venueId": v.ID, "date": inDays(days), "currency": "EUR", "tags": []string{},
			"sections": []map[string]any{{"name": "F", "priceMinor": 1, "rows": []map[string]any{{"label": "A", "seats": 1}}}}}, nil)
	}
	c := newClient(t)
	names := func(query string) (string, int) {
		var page struct {
			Events []event `json:"events"`
			Total  int     `json:"total"`
		}
		c.expect(200, "GET", "/api/events?search="+tag+query, nil, &page)
		var out []string
		for _, e := range page.Events {
			out = append(out, strings.TrimPrefix(e.Name, tag+" "))
		}
		return strings.Join(out, ","), page.Total
	}
	for _, tc := range []struct {
		query, want string
		total       int
	}{
		{"", "5,50", 2},
		{"&when=upcoming", "5,50", 2},
		{"&when=past", "-2,-400", 2},
		{"&when=all", "5,50,-2,-400", 4},
		{"&when=all&limit=3&page=1", "5,50,-2", 4},
		{"&when=all&limit=3&page=2", "-400", 4},
		{"&when=all&limit=1&page=3", "-2", 4},
		{"&when=all&limit=2&page=3", "", 4},
	} {
		if got, total := names(tc.query); got != tc.want || total != tc.total {
			t.Errorf("?%s: %s (total %d), want %s (total %d)", tc.query, got, total, tc.want, tc.total)
		}
	}
	if r := c.do("GET", "/api/events?when=soon", nil); r.status != 400 || r.err(t).Error.Code != "VALIDATION_ERROR" {
		t.Errorf("?when=soon: %d %s", r.status, r.body)
	}
}
