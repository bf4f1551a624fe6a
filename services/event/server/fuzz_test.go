package server

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"ticketflow/internal/httpapi"
	"ticketflow/internal/ids"
	"ticketflow/internal/money"
	"ticketflow/internal/seatplan"
	"ticketflow/services/event"
)

func refused400(t *testing.T, err error) {
	t.Helper()
	var e *httpapi.Error
	if !errors.As(err, &e) || e.Status != http.StatusBadRequest || e.Code != "VALIDATION_ERROR" {
		t.Fatalf("refusal %v (%T), want a 400 *httpapi.Error", err, err)
	}
}

func onlyFields(t *testing.T, raw []byte, names ...string) {
	t.Helper()
	var fields map[string]json.RawMessage
	if json.Unmarshal(raw, &fields) != nil {
		return
	}
	for k := range fields {
		ok := false
		for _, n := range names {
			ok = ok || k == n // names match exactly (json/v2 semantics)
		}
		if !ok {
			t.Fatalf("accepted a body with the field %q", k)
		}
	}
}

func cleanText(t *testing.T, field, v string, max int, multiline bool) {
	t.Helper()
	if !utf8.ValidString(v) || utf8.RuneCountInString(v) > max {
		t.Fatalf("accepted %s %q", field, v)
	}
	for _, c := range v {
		if c < 0x20 || c == 0x7f {
			if multiline && (c == '\n' || c == '\r' || c == '\t') {
				continue
			}
			t.Fatalf("accepted control character %U in %s", c, field)
		}
	}
}

// FuzzEventRequest: POST /api/events bodies, decoded and checked as the handler does, never
// panic and are refused with a 400; smuggled fields (seatCount, availability, createdBy, id) are
// refused; an accepted event has a name, a venue id, a date, an ISO currency, clean tags and a
// seat plan that expands.
func FuzzEventRequest(f *testing.F) {
	const venue = "6f1c2f4e-1b7a-4c0e-9d7e-0a1b2c3d4e5f"
	plan := `"sections":[{"name":"Floor","priceMinor":100,"rows":[{"label":"A","seats":3}]}]`
	for _, s := range []string{
		`{"name":"Show","description":"line 1\nline 2","venueId":"` + venue + `","date":"2027-06-01T20:00:00Z","currency":"EUR","tags":["music"],` + plan + `}`,
		`{"name":"Show","venueId":"` + venue + `","date":"2027-06-01T20:00:00Z","currency":"EUR",` + plan + `,"seatCount":1000000}`,
		`{"name":"Show","venueId":"` + venue + `","date":"2027-06-01T20:00:00Z","currency":"EUR",` + plan + `,"createdBy":"x","availability":{"total":0}}`,
		`{"name":"' OR 1=1--","description":"{\"$where\":\"sleep(1000)\"}","venueId":"` + venue + `","date":"2027-06-01T20:00:00+14:00","currency":"EUR","tags":["$ne",".*"],` + plan + `}`,
		`{"name":{"$gt":""},"venueId":"` + venue + `","date":"2027-06-01T20:00:00Z","currency":"EUR",` + plan + `}`,
		`{"name":"Show","venueId":"` + venue + `","date":"2027-06-01","currency":"EUR",` + plan + `}`,
		`{"name":"Show","venueId":"` + venue + `","date":"0001-01-01T00:00:00Z","currency":"EUR",` + plan + `}`,
		`{"name":"Show","venueId":"` + venue + `","date":"2027-06-01T20:00:00Z","currency":"€€€",` + plan + `}`,
		`{"name":"Sh\tow","venueId":"` + venue + `","date":"2027-06-01T20:00:00Z","currency":"EUR",` + plan + `}`,
		`{"name":"Show","venueId":"` + venue + `","date":"2027-06-01T20:00:00Z","currency":"EUR","sections":[{"name":"F","priceMinor":-1,"rows":[{"label":"A","seats":1}]}]}`,
		`{"name":"Show","venueId":"` + venue + `","date":"2027-06-01T20:00:00Z","currency":"EUR","tags":[` + strings.Repeat(`"t",`, 20) + `"t"],` + plan + `}`,
		`{"name":"Show","venueId":"` + venue + `","date":"2027-06-01T20:00:00+24:00","currency":"EUR",` + plan + `}`,
		`{"name":"Show","venueId":"` + venue + `","date":"2027-06-01T20:00:00.123456789Z","currency":"ZZZ",` + plan + `}`,
		`{"name":"Show","venueId":"` + venue + `","date":"2027-06-01T20:00:00Z","currency":"JPY","salesStartAt":"2027-01-01T10:00:00Z","salesEndAt":"2027-06-01T21:00:00Z","maxSeatsPerBuyer":0,` + plan + `}`,
		`{"name":"Show","venueId":"` + venue + `","date":"2027-06-01T20:00:00Z","currency":"EUR","waitingRoom":{"enabled":true,"admitPerMinute":-5},` + plan + `}`,
		`{"name":"Show","venueId":"` + venue + `","date":"2027-06-01T20:00:00Z","currency":"EUR","waitingRoom":{"enabled":true,"extra":1},` + plan + `}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		var req eventRequest
		err := httpapi.DecodeBytes(raw, &req)
		if err == nil {
			err = req.check(time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC))
		}
		if err != nil {
			refused400(t, err)
			return
		}
		onlyFields(t, raw, "name", "description", "venueId", "date", "currency", "tags", "sections",
			"salesStartAt", "salesEndAt", "maxSeatsPerBuyer", "waitingRoom")
		if w := req.room; w != nil && (w.AdmitPerMinute < 0 || w.AdmitPerMinute > event.MaxAdmitPerMinute || !w.Enabled) {
			t.Fatalf("accepted a waiting room %+v", w)
		}
		if strings.TrimSpace(req.Name) == "" || !ids.IsUUID(req.VenueID) || req.date.IsZero() ||
			req.date.Nanosecond() != 0 || req.date.Location() != time.UTC ||
			!money.Known(req.Currency) || len(req.Tags) > maxTags {
			t.Fatalf("accepted %+v", req)
		}
		if req.salesEnd != nil && req.salesEnd.After(req.date) {
			t.Fatalf("accepted sales ending after the event: %+v", req)
		}
		cleanText(t, "name", req.Name, maxNameLen, false)
		cleanText(t, "description", req.Description, maxDescription, true)
		for _, tag := range req.Tags {
			cleanText(t, "tag", tag, 50, false)
		}
		if _, err := seatplan.Expand(req.Sections); err != nil {
			t.Fatalf("accepted a plan that does not expand: %v", err)
		}
	})
}

// FuzzVenueRequest: POST /api/venues bodies: no panic, 400 refusals, four clean one-line fields.
func FuzzVenueRequest(f *testing.F) {
	for _, s := range []string{
		`{"name":"Harbor Hall","address":"Langkaia 1","city":"Oslo","country":"NO","timezone":"Europe/Oslo"}`,
		`{"name":"' OR 1=1--","address":"{\"$ne\":null}","city":"$where","country":".*"}`,
		`{"name":"H","address":"a","city":"c","country":"NO","id":"x"}`,
		`{"name":{"$gt":""},"address":"a","city":"c","country":"NO"}`,
		`{"name":"H","address":"a\nb","city":"c","country":"NO"}`,
		`{"name":" ","address":"a","city":"c","country":"NO"}`,
		`{"name":"H","address":"a","city":"c","country":"NO","timezone":"Europe/Oslo"}`,
		`{"name":"H","address":"a","city":"c","country":"NO","timezone":"../../etc/passwd"}`,
		`{"name":"H","address":"a","city":"c","country":"NO","timezone":"Local"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		var req venueRequest
		err := httpapi.DecodeBytes(raw, &req)
		if err == nil {
			err = req.check()
		}
		if err != nil {
			refused400(t, err)
			return
		}
		onlyFields(t, raw, "name", "address", "city", "country", "timezone")
		if _, err := time.LoadLocation(req.Timezone); err != nil || req.Timezone == "" || req.Timezone == "Local" {
			t.Fatalf("accepted time zone %q", req.Timezone)
		}
		for field, v := range map[string]string{"name": req.Name, "address": req.Address, "city": req.City, "country": req.Country} {
			if strings.TrimSpace(v) == "" {
				t.Fatalf("accepted a blank %s", field)
			}
			cleanText(t, field, v, maxNameLen, false)
		}
	})
}
