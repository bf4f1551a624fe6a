package server

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"unicode/utf8"

	"ticketflow/internal/httpapi"
	"ticketflow/internal/ids"
)

// FuzzCreateRequest: the body of POST /api/bookings, decoded and checked as the handler does,
// never panics and is refused with a 400; any top-level field other than eventId, seatIds,
// paymentMethod and the ignored legacy eventName and totalAmount (price, status, userId,
// amountMinor, ..., and any of those five in another case) is refused; an accepted request names an
// event id, 1..10 distinct seat ids and at most a card with a one-line token.
func FuzzCreateRequest(f *testing.F) {
	const ev = "6f1c2f4e-1b7a-4c0e-9d7e-0a1b2c3d4e5f"
	for _, s := range []string{
		`{"eventId":"` + ev + `","seatIds":["FLOOR-A-1","FLOOR-A-2"],"paymentMethod":{"type":"card","token":"tok_visa"}}`,
		`{"eventId":"` + ev + `","seatIds":["FLOOR-A-1"]}`,
		`{"eventId":"` + ev + `","seatIds":["FLOOR-A-1"],"amountMinor":1}`,
		`{"eventId":"` + ev + `","seatIds":["FLOOR-A-1"],"totalAmount":0.01,"eventName":"Free"}`,
		`{"eventId":"` + ev + `","seatIds":["FLOOR-A-1"],"paymentMethod":{"type":"card","token":"tok_visa","amountMinor":1}}`,
		`{"eventId":"` + ev + `","seatIds":["FLOOR-A-1"],"paymentMethod":{"type":"card","token":"  "}}`,
		`{"eventId":"` + ev + `","seatIds":["FLOOR-A-1"],"paymentMethod":null}`,
		`{"eventId":"` + strings.ToUpper(ev) + `","seatIds":["floor-a-1"]}`,
		`{"eventId":{"$ne":null},"seatIds":["FLOOR-A-1"]}`,
		`{"eventId":"' OR 1=1--","seatIds":["' OR 1=1--"]}`,
		`{"eventId":"` + ev + `","seatIds":["A","A"]}`,
		`{"EventId":"` + ev + `","SEATIDS":["A"]}`,
	} {
		f.Add([]byte(s))
	}
	// eventName and totalAmount are the original frontend's legacy fields: accepted, and ignored.
	// Names match exactly (json/v2 semantics): {"EventId":...} is an unknown field.
	allowed := map[string]bool{"eventId": true, "seatIds": true, "paymentMethod": true, "eventName": true, "totalAmount": true}
	f.Fuzz(func(t *testing.T, raw []byte) {
		var req createRequest
		err := httpapi.DecodeBytes(raw, &req)
		if err == nil {
			err = req.check()
		}
		if err != nil {
			var e *httpapi.Error
			if !errors.As(err, &e) || e.Status != http.StatusBadRequest {
				t.Fatalf("refusal %v (%T), want a 400 *httpapi.Error", err, err)
			}
			return
		}
		var fields map[string]json.RawMessage
		if json.Unmarshal(raw, &fields) == nil {
			for k := range fields {
				if !allowed[k] {
					t.Fatalf("accepted a body with the field %q", k)
				}
			}
		}
		if !ids.IsUUID(req.EventID) || len(req.SeatIDs) < 1 || len(req.SeatIDs) > 10 {
			t.Fatalf("accepted %+v", req)
		}
		seen := map[string]bool{}
		for _, s := range req.SeatIDs {
			if seen[s] || !ids.IsSeat(s) {
				t.Fatalf("accepted seat ids %q", req.SeatIDs)
			}
			seen[s] = true
		}
		if pm := req.PaymentMethod; pm != nil {
			if pm.Type != "card" || strings.TrimSpace(pm.Token) == "" || utf8.RuneCountInString(pm.Token) > 200 ||
				strings.ContainsAny(pm.Token, "\x00\n\r\t") {
				t.Fatalf("accepted payment method %+v", pm)
			}
		}
	})
}
