package server

import (
	"errors"
	"net/http"
	"testing"

	"ticketflow/internal/httpapi"
	"ticketflow/internal/ids"
	"ticketflow/internal/money"
	"ticketflow/internal/seatplan"
	"ticketflow/services/inventory"
)

// FuzzSeatsRequest: the bodies of the internal hold/confirm/release and seat-loading calls,
// decoded and checked as the handlers do, never panic and are refused with a 400; an accepted
// seats request names an event id and 1..10 distinct seat ids and places in all (quantities in
// their one form); an accepted plan expands.
func FuzzSeatsRequest(f *testing.F) {
	const ev = "6f1c2f4e-1b7a-4c0e-9d7e-0a1b2c3d4e5f"
	for _, s := range []string{
		`{"eventId":"` + ev + `","seatIds":["FLOOR-A-1"],"holdUntil":"2027-01-01T00:00:00Z"}`,
		`{"eventId":"` + ev + `","seatIds":["FLOOR-A-1","FLOOR-A-1"]}`,
		`{"eventId":"` + ev + `","seatIds":[]}`,
		`{"eventId":"` + ev + `","seatIds":["FLOOR-A-1"],"holdUntil":"9999-12-31T23:59:59.999999999+14:00"}`,
		`{"eventId":"' OR 1=1--","seatIds":["x' OR '1'='1"]}`,
		`{"currency":"EUR","sections":[{"name":"Floor","priceMinor":100,"rows":[{"label":"A","seats":3}]}]}`,
		`{"currency":"eur","sections":[]}`,
		`{"eventId":"` + ev + `","seatIds":[],"quantities":[{"section":"pit","quantity":2}]}`,
		`{"eventId":"` + ev + `","quantities":[{"section":"PIT","quantity":11}]}`,
		`{"currency":"EUR","sections":[{"name":"Pit","priceMinor":100,"capacity":500}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		refused := func(err error) {
			var e *httpapi.Error
			if !errors.As(err, &e) || e.Status != http.StatusBadRequest {
				t.Fatalf("refusal %v (%T), want a 400 *httpapi.Error", err, err)
			}
		}
		var req inventory.SeatsRequest
		err := httpapi.DecodeBytes(raw, &req)
		if err == nil {
			err = checkSeats(&req)
		}
		if err != nil {
			refused(err)
		} else {
			if !ids.IsUUID(req.EventID) || len(req.SeatIDs) > 0 && seatplan.CheckSeatIDs(req.SeatIDs) != nil {
				t.Fatalf("accepted %+v", req)
			}
			n := len(req.SeatIDs) + seatplan.Places(req.Quantities)
			if n < 1 || n > seatplan.MaxSeatsPerBooking {
				t.Fatalf("accepted %d seats and places: %+v", n, req)
			}
			for _, q := range req.Quantities {
				if q.Section != seatplan.SectionKey(q.Section) {
					t.Fatalf("quantity %+v not in its one form", q)
				}
			}
		}

		var plan inventory.SeatPlan
		err = httpapi.DecodeBytes(raw, &plan)
		if err == nil && !money.Known(plan.Currency) {
			return
		}
		if err == nil {
			_, err = seatplan.Expand(plan.Sections)
		}
		if err != nil {
			refused(err)
		}
	})
}
