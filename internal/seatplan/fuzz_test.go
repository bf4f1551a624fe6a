package seatplan

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"ticketflow/internal/httpapi"
	"ticketflow/internal/ids"
)

func mustRefuse400(t *testing.T, err error) {
	t.Helper()
	var e *httpapi.Error
	if !errors.As(err, &e) || e.Status != http.StatusBadRequest || e.Code != "VALIDATION_ERROR" || e.Message == "" {
		t.Fatalf("refusal %v (%T), want a 400 *httpapi.Error", err, err)
	}
}

// FuzzSeatPlan: Expand never panics and refuses with a 400; an accepted plan has 1..MaxSeats
// seats, as many as its rows say, each with a distinct id that CheckSeatIDs (and so a booking)
// accepts and its section's price. CheckSeatIDs accepts exactly 1..10 distinct seat ids.
func FuzzSeatPlan(f *testing.F) {
	for _, s := range []struct{ plan, seats string }{
		{`[{"name":"Floor","priceMinor":8900,"rows":[{"label":"A","seats":10},{"label":"B","seats":10}]}]`, "FLOOR-A-1,FLOOR-B-10"},
		{`[{"name":"Floor A","priceMinor":1,"rows":[{"label":"1","seats":1}]},{"name":"floor-a","priceMinor":1,"rows":[{"label":"1","seats":1}]}]`, "FLOOR_A-1-1"},
		{`[{"name":"ſ","priceMinor":1,"rows":[{"label":"ı","seats":1}]},{"name":"S","priceMinor":1,"rows":[{"label":"I","seats":1}]}]`, "S-I-1"},
		{`[{"name":"!!!","priceMinor":1,"rows":[{"label":"A","seats":1}]}]`, "-A-1"},
		{`[{"name":"F","priceMinor":-1,"rows":[{"label":"A","seats":1}]}]`, ""},
		{`[{"name":"F","priceMinor":1,"rows":[{"label":"A","seats":10000},{"label":"B","seats":10000},{"label":"C","seats":10000},{"label":"D","seats":10000},{"label":"E","seats":10000},{"label":"F","seats":10000},{"label":"G","seats":10000},{"label":"H","seats":10000},{"label":"I","seats":10000},{"label":"J","seats":10000}]}]`, "F-J-10000"},
		{`[{"name":"F","priceMinor":1,"rows":[{"label":"A","seats":-5},{"label":"B","seats":9223372036854775807}]}]`, ""},
		{`[{"name":"` + strings.Repeat("Ω", 30) + `","priceMinor":10000000000,"rows":[{"label":"` + strings.Repeat("9", 20) + `","seats":1}]}]`, strings.Repeat("A", 64)},
		{`[{"name":"F\u0000","priceMinor":1,"rows":[{"label":"A\n","seats":1}]}]`, "A,A"},
		{`[]`, "A,B,C,D,E,F,G,H,I,J,K"},
		{`[{"name":"Pit","priceMinor":5000,"capacity":50},{"name":"Floor","priceMinor":1,"rows":[{"label":"A","seats":2}]}]`, "FLOOR-A-1,PIT-3"},
		{`[{"name":"Pit","priceMinor":5000,"capacity":5,"rows":[{"label":"A","seats":2}]}]`, ""},
		{`[{"name":"Pit","priceMinor":5000,"capacity":-1}]`, ""},
		{`[{"name":"Pit","priceMinor":5000,"capacity":100001}]`, ""},
		{`null`, "' OR 1=1--,{\"$gt\":\"\"}"},
	} {
		f.Add([]byte(s.plan), s.seats)
	}
	f.Fuzz(func(t *testing.T, plan []byte, seatList string) {
		var sections []Section
		if json.Unmarshal(plan, &sections) == nil {
			seats, err := Expand(sections)
			if err != nil {
				mustRefuse400(t, err)
			} else {
				checkSeats(t, sections, seats)
			}
		}

		list := strings.Split(seatList, ",")
		err := CheckSeatIDs(list)
		distinct := map[string]bool{}
		wellFormed := true
		for _, id := range list {
			distinct[id] = true
			wellFormed = wellFormed && ids.IsSeat(id)
		}
		want := len(list) >= 1 && len(list) <= MaxSeatsPerBooking && len(distinct) == len(list) && wellFormed
		if (err == nil) != want {
			t.Fatalf("CheckSeatIDs(%q) = %v, want ok=%v", list, err, want)
		}
		if err != nil {
			mustRefuse400(t, err)
		}
	})
}

func checkSeats(t *testing.T, sections []Section, seats []Seat) {
	t.Helper()
	total := 0
	price := map[string]int64{}
	for _, s := range sections {
		if s.PriceMinor < 0 {
			t.Fatalf("accepted negative price %d", s.PriceMinor)
		}
		price[s.Name] = s.PriceMinor
		total += s.Places()
	}
	if len(seats) < 1 || len(seats) > MaxSeats || len(seats) != total {
		t.Fatalf("%d seats for a plan of %d", len(seats), total)
	}
	seen := map[string]bool{}
	for i, s := range seats {
		if seen[s.ID] {
			t.Fatalf("seat id %s twice", s.ID)
		}
		seen[s.ID] = true
		if !ids.IsSeat(s.ID) {
			t.Fatalf("seat id %q cannot be booked", s.ID)
		}
		if p, ok := price[s.Section]; !ok || p != s.PriceMinor || s.Number < 1 || s.Label == "" {
			t.Fatalf("seat %+v", s)
		}
		if s.Area != (s.Row == "") || s.Area && strings.Count(s.ID, "-") != 1 {
			t.Fatalf("place %+v: an area's place has no row and an id SECTION-NUMBER", s)
		}
		if i < MaxSeatsPerBooking {
			if err := CheckSeatIDs([]string{s.ID}); err != nil {
				t.Fatalf("seat id %q of a plan refused: %v", s.ID, err)
			}
		}
	}
}
