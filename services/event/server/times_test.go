package server

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"ticketflow/internal/seatplan"
	"ticketflow/services/event"
)

func TestEventTimesAreStrictRFC3339AtSeconds(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"2027-03-12T20:00:00Z", "2027-03-12T20:00:00Z"},
		{"2027-03-12t20:00:00z", "2027-03-12T20:00:00Z"},
		{"2027-03-12T20:00:00+01:00", "2027-03-12T19:00:00Z"},
		{"2027-03-12T20:00:00-23:59", "2027-03-13T19:59:00Z"},
		{"2027-03-12T20:00:00.999999999Z", "2027-03-12T20:00:00Z"}, // kept at whole seconds
		{"2027-03-12T20:00:00.5+14:00", "2027-03-12T06:00:00Z"},
		{"2027-03-12T20:00:00+24:00", ""},
		{"2027-03-12T20:00:00+01:60", ""},
		{"2027-03-12T20:00:00", ""},      // no zone
		{"2027-03-12 20:00:00Z", ""},     // no T
		{"2027-03-12T20:00Z", ""},        // no seconds
		{"2027-3-12T20:00:00Z", ""},      // one-digit month
		{"2027-02-30T20:00:00Z", ""},     // no such day
		{"2027-03-12T24:00:00Z", ""},     // no such hour
		{"2027-03-12T20:00:00.Z", ""},    // empty fraction
		{"0001-01-01T00:00:00Z", ""},     // before 1970
		{"2027-03-12T20:00:00+0100", ""}, // offset without colon
		{"", ""},
	} {
		got, err := parseTime("date", c.in)
		if c.want == "" {
			if err == nil {
				t.Errorf("%q accepted as %s", c.in, got)
			}
			continue
		}
		if err != nil || got.Format(time.RFC3339Nano) != c.want || got.Location() != time.UTC {
			t.Errorf("%q = %s, %v; want %s", c.in, got.Format(time.RFC3339Nano), err, c.want)
		}
	}
}

func TestEventAnswerAddsPriceSeatsWindowAndLocalTimes(t *testing.T) {
	created := time.Date(2026, 11, 1, 9, 30, 15, 123e6, time.UTC)
	e := &Event{ID: "e", Name: "Gig", Currency: "JPY", SeatCount: 30, CreatedAt: created,
		Date:     time.Date(2027, 3, 12, 11, 0, 0, 0, time.UTC),
		Venue:    &VenueSummary{Name: "Hall", City: "Tokyo", Country: "JP", Timezone: "Asia/Tokyo"},
		Sections: []seatplan.Section{{Name: "A", PriceMinor: 9000}, {Name: "B", PriceMinor: 1500}}}
	raw, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"price":1500,`, `"totalSeats":30`, `"date":"2027-03-12T11:00:00Z"`,
		`"dateLocal":"2027-03-12T20:00:00+09:00"`, `"salesStartAt":"2026-11-01T09:30:15Z"`,
		`"salesEndAt":"2027-03-12T11:00:00Z"`, `"salesEndAtLocal":"2027-03-12T20:00:00+09:00"`,
		`"maxSeatsPerBuyer":10,`, `"timezone":"Asia/Tokyo"`} {
		if !strings.Contains(string(raw), want) {
			t.Errorf("answer lacks %s:\n%s", want, raw)
		}
	}
	e.Currency, e.Venue.Timezone, e.Sections = "KWD", "", nil
	raw, _ = json.Marshal(e)
	if !strings.Contains(string(raw), `"price":0.000`) || !strings.Contains(string(raw), `"sections":[]`) ||
		strings.Contains(string(raw), "Local") {
		t.Errorf("no sections, no time zone: %s", raw)
	}
}

func TestSalesWindow(t *testing.T) {
	date := time.Date(2027, 3, 12, 20, 0, 0, 0, time.UTC)
	start := date.Add(-48 * time.Hour)
	e := &Event{Date: date, SalesStartAt: start}
	for _, c := range []struct {
		at   time.Time
		want string
	}{
		{start.Add(-time.Second), event.SalesNotStarted}, {start, event.SalesOpen}, {date.Add(-time.Second), event.SalesOpen},
		{date, event.SalesClosed}, {date.Add(time.Hour), event.SalesClosed},
	} {
		if got := e.SalesStatus(c.at); got != c.want {
			t.Errorf("at %s: %s, want %s", c.at, got, c.want)
		}
	}
	end := date.Add(-time.Hour)
	e.SalesEndAt = &end
	if got := e.SalesStatus(end); got != event.SalesClosed {
		t.Errorf("at an explicit end: %s", got)
	}
	after := date.Add(time.Minute)
	if checkWindow(start, date, &after, true) == nil {
		t.Error("an end after the event was accepted")
	}
	if checkWindow(date, date, nil, true) == nil {
		t.Error("an empty explicit window was accepted")
	}
	if checkWindow(date.Add(time.Hour), date, nil, false) != nil {
		t.Error("a past event with the default window was refused")
	}
}
